/**
 * PyTorch checkpoints (`torch.save` zip archives: `pytorch_model.bin`, `*.pt`) read tensor by tensor: the central
 * directory and `data.pkl` are read when the file is opened (kilobytes), every tensor's span is checked against its
 * storage record then, and a read fetches exactly the tensor's bytes from `<prefix>/data/<key>`. The pickle goes
 * through the restricted unpickler, so a malicious checkpoint is refused, never executed.
 */
import type { RandomAccessReader } from '../ports';
import { DTYPE_BYTES, isFloatDtype, type FloatDtype } from '../safetensors/dtype';
import type { ReadOptions } from '../safetensors/reader';
import { utf8Decode } from '../safetensors/utf8';
import type { FloatTensor } from '../tensor';
import { numel } from '../tensor';
import { CheckpointError } from './errors';
import { unpickle } from './pickle';
import type { PickleValue, TorchTensor } from './pickle-types';
import { describe } from './pickle-types';
import type { CheckpointFile, CheckpointTensorInfo } from './source';
import type { ZipEntry } from './zip-reader';
import { ZipReader } from './zip-reader';

/** Largest `data.pkl` read into memory (a state dict needs about 150 bytes per tensor). */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** One tensor of a torch checkpoint: dtype and shape, and where its bytes lie. */
export interface TorchTensorInfo extends CheckpointTensorInfo {
  /** The zip entry holding its storage, e.g. `archive/data/0` (tied weights share one). */
  readonly record: string;
  /** Offset into the storage in elements, and strides in elements. */
  readonly storageOffset: number;
  readonly stride: readonly number[];
  /** Whether the strides are row-major; only contiguous tensors can be read. */
  readonly contiguous: boolean;
  /** The tensor's first byte inside its record, and its size in bytes. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Row-major strides, ignoring size-1 dimensions (torch's `is_contiguous`). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  if (numel(shape) === 0) return true;
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/** The single `<prefix>/data.pkl` entry; the prefix is the archive name torch.save chose. */
function findPickle(file: string, zip: ZipReader): { entry: ZipEntry; prefix: string } {
  const pickles = zip.entries().filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length === 0)
    throw new CheckpointError(
      file,
      'is a zip archive without a <name>/data.pkl entry: not a torch.save checkpoint',
    );
  if (pickles.length > 1)
    throw new CheckpointError(
      file,
      `has ${pickles.length} data.pkl entries (${pickles.map((e) => e.name).join(', ')})`,
    );
  const entry = pickles[0]!;
  return { entry, prefix: entry.name.slice(0, -'/data.pkl'.length) };
}

/** Refuses files written on big-endian machines (torch ≥ 2.0 records the byte order; 1.13 writes no record). */
async function checkByteOrder(file: string, zip: ZipReader, prefix: string): Promise<void> {
  const entry = zip.entry(`${prefix}/byteorder`);
  if (!entry) return;
  const order = utf8Decode(await zip.readAll(entry, 16))?.trim();
  if (order === 'little') return;
  if (order === 'big')
    throw new CheckpointError(file, `${entry.name} says "big": big-endian checkpoints are not supported`);
  throw new CheckpointError(
    file,
    `${entry.name} holds ${JSON.stringify(order ?? '<not UTF-8>')}, not "little"`,
  );
}

/** Locates one tensor's bytes in its record, checking the span lies inside the storage and the record. */
function locate(file: string, zip: ZipReader, prefix: string, name: string, t: TorchTensor): TorchTensorInfo {
  const record = `${prefix}/data/${t.storage.key}`;
  const entry = zip.entry(record);
  if (!entry)
    throw new CheckpointError(file, `needs storage record "${record}", which the archive lacks`, name);
  const elem = DTYPE_BYTES[t.dtype];
  const storageElem = DTYPE_BYTES[t.storage.dtype];
  if (elem === undefined || storageElem === undefined)
    throw new CheckpointError(file, `has unknown dtype ${t.dtype}`, name);
  const storageBytes = t.storage.numel * storageElem;
  if (!Number.isSafeInteger(storageBytes) || storageBytes > entry.uncompressedSize)
    throw new CheckpointError(
      file,
      `uses storage '${t.storage.key}' of ${t.storage.numel} × ${t.storage.dtype}, but record "${record}" holds only ${entry.uncompressedSize} bytes`,
      name,
    );
  const count = numel(t.shape);
  let last = t.storageOffset;
  t.shape.forEach((d, i) => (last += (d - 1) * t.stride[i]!));
  const end = (last + 1) * elem;
  if (count > 0 && (!Number.isSafeInteger(end) || end > storageBytes))
    throw new CheckpointError(
      file,
      `(shape ${fmtShape(t.shape)}, stride ${fmtShape(t.stride)}, offset ${t.storageOffset}) reaches byte ${end} of storage '${t.storage.key}', which has ${storageBytes} bytes`,
      name,
    );
  return {
    dtype: t.dtype,
    shape: t.shape,
    record,
    storageOffset: t.storageOffset,
    stride: t.stride,
    contiguous: isContiguous(t.shape, t.stride),
    byteOffset: t.storageOffset * elem,
    byteLength: count * elem,
  };
}

const isTensor = (v: PickleValue | undefined): v is TorchTensor =>
  typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && v.kind === 'tensor';

/** A torch.save checkpoint read tensor by tensor through a RandomAccessReader. */
export class TorchCheckpointFile implements CheckpointFile {
  /** The file name used in error messages. */
  readonly file: string;
  /** The archive's top-level folder (`archive`, `pytorch_model-00001-of-00002`, …). */
  readonly archiveName: string;
  private readonly zip: ZipReader;
  private readonly tensors: ReadonlyMap<string, TorchTensorInfo>;

  private constructor(zip: ZipReader, archiveName: string, tensors: Map<string, TorchTensorInfo>) {
    this.file = zip.file;
    this.zip = zip;
    this.archiveName = archiveName;
    this.tensors = tensors;
  }

  /** Reads the zip directory and `data.pkl` and validates every tensor; the reader stays open until close(). */
  static async open(reader: RandomAccessReader): Promise<TorchCheckpointFile> {
    const file = reader.name;
    const zip = await ZipReader.open(reader);
    const { entry, prefix } = findPickle(file, zip);
    await checkByteOrder(file, zip, prefix);
    const root = unpickle(await zip.readAll(entry, MAX_PICKLE_BYTES), { file, entry: entry.name });
    if (typeof root !== 'object' || root === null || root instanceof Uint8Array || root.kind !== 'dict')
      throw new CheckpointError(
        file,
        `${entry.name} holds ${describe(root)}, not a state dict (a dict of tensors)`,
      );
    const tensors = new Map<string, TorchTensorInfo>();
    for (const [key, value] of root.map) {
      if (typeof key !== 'string')
        throw new CheckpointError(file, `${entry.name} has the key ${String(key)}, not a tensor name`);
      if (!isTensor(value))
        throw new CheckpointError(
          file,
          `is ${describe(value)}, not a tensor (only flat state dicts are supported, not nested ones such as {'state_dict': {…}})`,
          key,
        );
      tensors.set(key, locate(file, zip, prefix, key, value));
    }
    return new TorchCheckpointFile(zip, prefix, tensors);
  }

  /** Tensor names, in the state dict's order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  /** Whether the file holds `name`. */
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Dtype, shape and layout of one tensor; throws naming the file and tensor when it is missing. */
  info(name: string): TorchTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new CheckpointError(this.file, `missing tensor "${name}"`);
    return info;
  }

  /** The raw little-endian bytes of one contiguous tensor (one read of exactly its size). */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    if (!info.contiguous)
      throw new CheckpointError(
        this.file,
        `is not contiguous (shape ${fmtShape(info.shape)}, stride ${fmtShape(info.stride)}); save it with .contiguous()`,
        name,
      );
    const entry = this.zip.entry(info.record)!;
    return this.zip.read(entry, info.byteOffset, info.byteLength);
  }

  /** One F32/F16/BF16 tensor as float32. */
  async readFloat32(name: string, opts?: ReadOptions): Promise<FloatTensor> {
    const info = this.checkFloat(name, opts);
    const data = new Float32Array(numel(info.shape));
    await this.readFloat32Into(name, data);
    return { type: 'float32', dims: [...info.shape], data };
  }

  /** Decodes one F32/F16/BF16 tensor into `out` (length = its element count), reading only its bytes. */
  async readFloat32Into(name: string, out: Float32Array, opts?: ReadOptions): Promise<void> {
    const info = this.checkFloat(name, opts);
    if (out.length !== numel(info.shape))
      throw new CheckpointError(
        this.file,
        `has ${numel(info.shape)} elements, the target holds ${out.length}`,
        name,
      );
    if (!info.contiguous) await this.readBytes(name); // throws the non-contiguous error
    await this.zip.readFloatInto(
      this.zip.entry(info.record)!,
      info.byteOffset,
      info.dtype as FloatDtype,
      out,
    );
  }

  /** Closes the underlying reader. */
  close(): Promise<void> {
    return this.zip.close();
  }

  private checkFloat(name: string, opts: ReadOptions | undefined): TorchTensorInfo {
    const info = this.info(name);
    if (!isFloatDtype(info.dtype))
      throw new CheckpointError(
        this.file,
        `has dtype ${info.dtype}, which cannot be read as float32 (supported: F32, F16, BF16)`,
        name,
      );
    const want = opts?.expectShape;
    if (want && (want.length !== info.shape.length || want.some((d, i) => d !== info.shape[i])))
      throw new CheckpointError(
        this.file,
        `has shape ${fmtShape(info.shape)}, expected ${fmtShape(want)}`,
        name,
      );
    return info;
  }
}
