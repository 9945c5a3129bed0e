/**
 * Safetensors reader: `u64 LE header length | JSON header | data`, with offsets relative to the data section.
 * Every structural property is checked when the file is opened, so a bad or truncated file fails early with a
 * message that names the file (and the tensor), not with a RangeError deep in a graph run.
 */
import type { RandomAccessReader } from '../ports';
import type { FloatTensor, Int64Tensor } from '../tensor';
import { numel } from '../tensor';
import {
  DTYPE_BYTES,
  SUPPORTED_DTYPES,
  decodeFloat,
  decodeInt,
  isFloatDtype,
  isIntDtype,
  type FloatDtype,
} from './dtype';
import { readFloatInto } from './read-into';
import { SafetensorsError } from './error';
import { utf8Decode } from './utf8';

export { SafetensorsError } from './error';

/** Largest JSON header accepted (the format's own limit). */
const MAX_HEADER_BYTES = 100_000_000;

/** Where one tensor lives and what it holds. */
export interface TensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Size of the tensor's data in bytes. */
  readonly byteLength: number;
  /** Offset of the data from the start of the file. */
  readonly fileOffset: number;
}

/** Options of the typed reads. */
export interface ReadOptions {
  /** Fails with a message naming both shapes when the stored shape differs. */
  readonly expectShape?: readonly number[];
}

/** The parsed header of a safetensors file. */
interface ParsedHeader {
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset one past the last data byte any tensor uses. */
  readonly dataEnd: number;
}

const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Reads the u64 header length, checking it against the file size. */
function headerLength(file: string, prefix: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8)
    throw new SafetensorsError(file, `file is truncated: ${fileBytes} bytes, too short for a header`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    throw new SafetensorsError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8n + n > BigInt(fileBytes))
    throw new SafetensorsError(file, `header length ${n} is larger than the file (${fileBytes} bytes)`);
  if (n < 2n) throw new SafetensorsError(file, `header length ${n} is too small for a JSON object`);
  return Number(n);
}

/** Parses and validates the JSON header; `dataStart` is 8 + header length. */
function parseHeader(file: string, json: Uint8Array, dataStart: number, fileBytes: number): ParsedHeader {
  const text = utf8Decode(json);
  if (text === null) throw new SafetensorsError(file, 'header is not valid UTF-8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SafetensorsError(file, 'header is not a JSON object');
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const spans: Array<{ name: string; start: number; end: number }> = [];
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        throw new SafetensorsError(file, '"__metadata__" is not an object');
      metadata = Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)]));
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new SafetensorsError(file, 'has a header entry that is not an object', name);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string')
      throw new SafetensorsError(file, 'has no "dtype" string in the header', name);
    const elemBytes = DTYPE_BYTES[dtype];
    if (elemBytes === undefined) throw new SafetensorsError(file, `has unknown dtype "${dtype}"`, name);
    if (!Array.isArray(shape) || !shape.every(isIndex))
      throw new SafetensorsError(file, 'has no valid "shape" (an array of non-negative integers)', name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex))
      throw new SafetensorsError(file, 'has no valid "data_offsets" ([begin, end] byte offsets)', name);
    const [start, end] = offsets as [number, number];
    if (end < start)
      throw new SafetensorsError(
        file,
        `has data_offsets [${start}, ${end}] that end before they begin`,
        name,
      );
    const expected = numel(shape) * elemBytes;
    if (end - start !== expected)
      throw new SafetensorsError(
        file,
        `has data_offsets [${start}, ${end}] (${end - start} bytes) but shape ${fmtShape(shape)} × ${dtype} needs ${expected} bytes`,
        name,
      );
    tensors.set(name, { dtype, shape: [...shape], byteLength: expected, fileOffset: dataStart + start });
    spans.push({ name, start, end });
  }
  spans.sort((a, b) => a.start - b.start || a.end - b.end);
  let dataEnd = 0;
  let prev: { name: string; end: number } | null = null;
  for (const s of spans) {
    if (prev && s.start < prev.end && s.end > s.start)
      throw new SafetensorsError(
        file,
        `overlaps tensor "${prev.name}" (data_offsets ${s.start} < ${prev.end})`,
        s.name,
      );
    if (s.end > s.start) prev = s;
    dataEnd = Math.max(dataEnd, s.end);
  }
  if (dataStart + dataEnd > fileBytes)
    throw new SafetensorsError(
      file,
      `file is truncated: header says data ends at byte ${dataStart + dataEnd} but the file has ${fileBytes} bytes`,
    );
  return { tensors, metadata, dataEnd: dataStart + dataEnd };
}

/** Tensor lookup shared by the file- and buffer-backed readers. */
abstract class SafetensorsIndex {
  /** The file name used in error messages. */
  readonly file: string;
  protected readonly header: ParsedHeader;

  protected constructor(file: string, header: ParsedHeader) {
    this.file = file;
    this.header = header;
  }

  /** Tensor names, in header order. */
  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  /** Whether the file holds `name`. */
  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  /** Dtype, shape and size of one tensor; throws naming the file and tensor when it is missing. */
  info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw new SafetensorsError(this.file, `missing tensor "${name}"`);
    return info;
  }

  /** The `__metadata__` string map (empty when absent). */
  metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  /** Absolute offset one past the last data byte. */
  get dataEnd(): number {
    return this.header.dataEnd;
  }

  protected checkFloat(name: string, opts: ReadOptions | undefined): TensorInfo {
    const info = this.info(name);
    if (!isFloatDtype(info.dtype)) {
      const why = isIntDtype(info.dtype)
        ? 'expected a float dtype (F32, F16 or BF16)'
        : `which this reader does not support (supported: ${SUPPORTED_DTYPES.join(', ')})`;
      throw new SafetensorsError(this.file, `has dtype ${info.dtype}, ${why}`, name);
    }
    this.checkShape(name, info, opts);
    return info;
  }

  protected checkInt(name: string, opts: ReadOptions | undefined): TensorInfo {
    const info = this.info(name);
    if (!isIntDtype(info.dtype)) {
      const why = isFloatDtype(info.dtype)
        ? 'expected an integer dtype (I64 or I32)'
        : `which this reader does not support (supported: ${SUPPORTED_DTYPES.join(', ')})`;
      throw new SafetensorsError(this.file, `has dtype ${info.dtype}, ${why}`, name);
    }
    this.checkShape(name, info, opts);
    return info;
  }

  private checkShape(name: string, info: TensorInfo, opts: ReadOptions | undefined): void {
    const want = opts?.expectShape;
    if (want && (want.length !== info.shape.length || want.some((d, i) => d !== info.shape[i])))
      throw new SafetensorsError(
        this.file,
        `has shape ${fmtShape(info.shape)}, expected ${fmtShape(want)}`,
        name,
      );
  }
}

/** A safetensors file read tensor by tensor through a RandomAccessReader (multi-gigabyte checkpoints). */
export class SafetensorsFile extends SafetensorsIndex {
  private readonly reader: RandomAccessReader;

  private constructor(reader: RandomAccessReader, header: ParsedHeader) {
    super(reader.name, header);
    this.reader = reader;
  }

  /** Reads and validates the header; the reader stays open until `close()`. */
  static async open(reader: RandomAccessReader): Promise<SafetensorsFile> {
    const file = reader.name;
    const size = await reader.size();
    const prefix = size >= 8 ? await reader.read(0, 8) : new Uint8Array(0);
    const n = headerLength(file, prefix, size);
    const json = await reader.read(8, n);
    return new SafetensorsFile(reader, parseHeader(file, json, 8 + n, size));
  }

  /** The raw little-endian bytes of one tensor (one read of exactly its size). */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    return this.readSpan(name, info);
  }

  /** One F32/F16/BF16 tensor as float32. */
  async readFloat32(name: string, opts?: ReadOptions): Promise<FloatTensor> {
    const info = this.checkFloat(name, opts);
    const bytes = await this.readSpan(name, info);
    return { type: 'float32', dims: [...info.shape], data: decodeFloat(info.dtype as 'F32', bytes) };
  }

  /**
   * Decodes one float tensor straight into `out` (length numel), converting F16/BF16; saves an allocation when the
   * caller is assembling a larger buffer (block conversion).
   */
  async readFloat32Into(name: string, out: Float32Array, opts?: ReadOptions): Promise<void> {
    const info = this.checkFloat(name, opts);
    if (out.length !== numel(info.shape))
      throw new SafetensorsError(
        this.file,
        `has ${numel(info.shape)} elements, the target holds ${out.length}`,
        name,
      );
    try {
      await readFloatInto(this.reader, info.fileOffset, info.dtype as FloatDtype, out);
    } catch (e) {
      throw new SafetensorsError(this.file, `could not be read (${(e as Error).message})`, name);
    }
  }

  /** One I64 (or widened I32) tensor. */
  async readInt64(name: string, opts?: ReadOptions): Promise<Int64Tensor> {
    const info = this.checkInt(name, opts);
    const bytes = await this.readSpan(name, info);
    return { type: 'int64', dims: [...info.shape], data: decodeInt(info.dtype as 'I64', bytes) };
  }

  /** Closes the underlying reader. */
  close(): Promise<void> {
    return this.reader.close();
  }

  private async readSpan(name: string, info: TensorInfo): Promise<Uint8Array> {
    if (info.byteLength === 0) return new Uint8Array(0);
    try {
      return await this.reader.read(info.fileOffset, info.byteLength);
    } catch (e) {
      throw new SafetensorsError(this.file, `could not be read (${(e as Error).message})`, name);
    }
  }
}

/** A safetensors file already in memory (a block file); typed reads are synchronous and zero-copy when aligned. */
export class SafetensorsBuffer extends SafetensorsIndex {
  private readonly bytes: Uint8Array;

  /** Use `parseSafetensors`. */
  constructor(bytes: Uint8Array, file: string, header: ParsedHeader) {
    super(file, header);
    this.bytes = bytes;
  }

  /** The raw bytes of one tensor (a view into the buffer). */
  readBytes(name: string): Uint8Array {
    const info = this.info(name);
    return this.bytes.subarray(info.fileOffset, info.fileOffset + info.byteLength);
  }

  /** One F32/F16/BF16 tensor as float32 (a view of the buffer for aligned F32). */
  readFloat32(name: string, opts?: ReadOptions): FloatTensor {
    const info = this.checkFloat(name, opts);
    return {
      type: 'float32',
      dims: [...info.shape],
      data: decodeFloat(info.dtype as 'F32', this.readBytes(name)),
    };
  }

  /** One I64 (or widened I32) tensor. */
  readInt64(name: string, opts?: ReadOptions): Int64Tensor {
    const info = this.checkInt(name, opts);
    return {
      type: 'int64',
      dims: [...info.shape],
      data: decodeInt(info.dtype as 'I64', this.readBytes(name)),
    };
  }
}

/** Parses a safetensors file held in memory; `file` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, file = '<memory>'): SafetensorsBuffer {
  const n = headerLength(file, bytes.subarray(0, 8), bytes.byteLength);
  const header = parseHeader(file, bytes.subarray(8, 8 + n), 8 + n, bytes.byteLength);
  return new SafetensorsBuffer(bytes, file, header);
}
