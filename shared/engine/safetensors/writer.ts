/**
 * Safetensors writer for F32, F16, BF16, I8 and I64 tensors. The header is padded with spaces so the data section starts on an
 * 8-byte boundary: readers then get zero-copy, aligned typed-array views of every tensor. Because every shape is
 * known up front, the header goes first and the data can be streamed tensor by tensor.
 */
import type { FileWriter } from '../ports';
import type { Tensor } from '../tensor';
import { numel } from '../tensor';
import { DTYPE_BYTES, HOST_LITTLE_ENDIAN } from './dtype';
import { SafetensorsError } from './error';
import { utf8Encode } from './utf8';

/** Dtypes the writer produces. */
export type WritableDtype = 'F32' | 'F16' | 'BF16' | 'I8' | 'I64';

/** Data a tensor can be written from: its typed array, or its raw little-endian bytes (`Uint8Array`). */
export type TensorData = Float32Array | BigInt64Array | Uint16Array | Int8Array | Uint8Array;

/** The dtypes a typed array can hold (raw bytes fit any). */
function dtypesOf(data: TensorData): readonly WritableDtype[] | null {
  if (data instanceof Float32Array) return ['F32'];
  if (data instanceof BigInt64Array) return ['I64'];
  if (data instanceof Uint16Array) return ['F16', 'BF16'];
  if (data instanceof Int8Array) return ['I8'];
  return null;
}

/** One tensor of a file to be written, without its data. */
export interface WriteEntry {
  readonly name: string;
  readonly dtype: WritableDtype;
  readonly shape: readonly number[];
}

/** The byte layout of a file: header bytes (incl. the u64 prefix and padding) and each tensor's data span. */
export interface SafetensorsLayout {
  /** Length prefix + JSON header + padding; data starts right after, 8-byte aligned. */
  readonly header: Uint8Array;
  /** Entries in data order, with their byte sizes and absolute offsets. */
  readonly entries: ReadonlyArray<WriteEntry & { readonly byteLength: number; readonly fileOffset: number }>;
  /** Total file size in bytes. */
  readonly totalBytes: number;
}

/** Plans a file: validates names and shapes and builds the padded header. `file` names it in errors. */
export function planSafetensors(
  entries: readonly WriteEntry[],
  metadata?: Readonly<Record<string, string>>,
  file = '<memory>',
): SafetensorsLayout {
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) json['__metadata__'] = { ...metadata };
  let offset = 0;
  const sized: Array<WriteEntry & { byteLength: number; dataOffset: number }> = [];
  for (const e of entries) {
    if (e.name === '__metadata__' || e.name in json)
      throw new SafetensorsError(file, 'is listed twice (or uses a reserved name)', e.name);
    if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(file, `has an invalid shape [${e.shape.join(', ')}]`, e.name);
    const byteLength = numel(e.shape) * (DTYPE_BYTES[e.dtype] as number);
    json[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + byteLength] };
    sized.push({ ...e, byteLength, dataOffset: offset });
    offset += byteLength;
  }
  const text = utf8Encode(JSON.stringify(json));
  const padded = Math.ceil((8 + text.length) / 8) * 8 - 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + text.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return {
    header,
    entries: sized.map(({ dataOffset, ...e }) => ({ ...e, fileOffset: header.length + dataOffset })),
    totalBytes: header.length + offset,
  };
}

/** Little-endian bytes of a typed array (a view on little-endian hosts and for bytes). */
function leBytes(data: TensorData): Uint8Array {
  if (HOST_LITTLE_ENDIAN || data instanceof Uint8Array || data instanceof Int8Array)
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  else if (data instanceof Uint16Array) data.forEach((v, i) => dv.setUint16(2 * i, v, true));
  else data.forEach((v, i) => dv.setBigInt64(8 * i, v, true));
  return out;
}

/** Writes a planned file to a FileWriter: header first, then each tensor in plan order, then `finish()`. */
export class SafetensorsStreamWriter {
  private next = 0;
  private readonly out: FileWriter;
  private readonly file: string;
  /** The planned layout. */
  readonly layout: SafetensorsLayout;

  private constructor(out: FileWriter, layout: SafetensorsLayout, file: string) {
    this.out = out;
    this.layout = layout;
    this.file = file;
  }

  /** Plans the file and writes its header. */
  static async begin(
    out: FileWriter,
    entries: readonly WriteEntry[],
    opts: { readonly file?: string; readonly metadata?: Readonly<Record<string, string>> } = {},
  ): Promise<SafetensorsStreamWriter> {
    const file = opts.file ?? '<stream>';
    const layout = planSafetensors(entries, opts.metadata, file);
    await out.write(layout.header);
    return new SafetensorsStreamWriter(out, layout, file);
  }

  /** Writes the next tensor's data; names must come in plan order and sizes must match. */
  async writeTensor(name: string, data: TensorData): Promise<void> {
    const e = this.layout.entries[this.next];
    if (!e) throw new SafetensorsError(this.file, 'was written after the last planned tensor', name);
    if (e.name !== name)
      throw new SafetensorsError(this.file, `was written out of order (expected "${e.name}" next)`, name);
    const holds = dtypesOf(data);
    if ((holds !== null && !holds.includes(e.dtype)) || data.byteLength !== e.byteLength)
      throw new SafetensorsError(
        this.file,
        `data is ${data.byteLength} bytes of ${holds?.join('/') ?? 'raw bytes'}, planned ${e.byteLength} bytes of ${e.dtype}`,
        name,
      );
    if (data.byteLength > 0) await this.out.write(leBytes(data));
    this.next++;
  }

  /**
   * Writes the next tensor's raw little-endian bytes from a sequence of chunks (bounded memory for tensors of any
   * size); the chunks must add up to the planned size exactly.
   */
  async writeTensorChunks(name: string, chunks: Iterable<Uint8Array>): Promise<void> {
    const e = this.layout.entries[this.next];
    if (!e) throw new SafetensorsError(this.file, 'was written after the last planned tensor', name);
    if (e.name !== name)
      throw new SafetensorsError(this.file, `was written out of order (expected "${e.name}" next)`, name);
    let written = 0;
    for (const chunk of chunks) {
      if (written + chunk.byteLength > e.byteLength)
        throw new SafetensorsError(this.file, `chunks exceed the planned ${e.byteLength} bytes`, name);
      if (chunk.byteLength > 0) await this.out.write(chunk);
      written += chunk.byteLength;
    }
    if (written !== e.byteLength)
      throw new SafetensorsError(this.file, `chunks hold ${written} bytes, planned ${e.byteLength}`, name);
    this.next++;
  }

  /** Checks every planned tensor was written and closes the writer. */
  async finish(): Promise<void> {
    const missing = this.layout.entries[this.next];
    if (missing) throw new SafetensorsError(this.file, 'was planned but never written', missing.name);
    await this.out.close();
  }
}

/** A named tensor to write. */
export interface NamedTensor {
  readonly name: string;
  readonly tensor: Tensor;
}

const DTYPE_OF: Readonly<Record<Tensor['type'], WritableDtype>> = {
  float32: 'F32',
  int64: 'I64',
  float16: 'F16',
  int8: 'I8',
};

const entryOf = ({ name, tensor }: NamedTensor): WriteEntry => ({
  name,
  dtype: DTYPE_OF[tensor.type],
  shape: tensor.dims,
});

/** Writes whole tensors to a FileWriter and closes it. */
export async function writeSafetensors(
  out: FileWriter,
  tensors: readonly NamedTensor[],
  opts: { readonly file?: string; readonly metadata?: Readonly<Record<string, string>> } = {},
): Promise<void> {
  const w = await SafetensorsStreamWriter.begin(out, tensors.map(entryOf), opts);
  for (const t of tensors) await w.writeTensor(t.name, t.tensor.data);
  await w.finish();
}

/** Serializes tensors to an in-memory safetensors file. */
export function encodeSafetensors(
  tensors: readonly NamedTensor[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const layout = planSafetensors(tensors.map(entryOf), metadata);
  const out = new Uint8Array(layout.totalBytes);
  out.set(layout.header, 0);
  tensors.forEach((t, i) => out.set(leBytes(t.tensor.data), layout.entries[i]!.fileOffset));
  return out;
}
