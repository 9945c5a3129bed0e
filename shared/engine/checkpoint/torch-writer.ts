/**
 * Streaming writer of torch.save-compatible zip checkpoints (synthetic test and benchmark checkpoints of many GB):
 * `data.pkl` first (shapes are declared up front), then one stored record per tensor as it arrives, each aligned
 * to 64 bytes with an `FB` padding extra field like torch's writer, then `version` and the central directory.
 * Every local header carries the real CRC and sizes (no data descriptors), so memory is bounded by one tensor.
 * ZIP64 fields appear only where a size or offset needs them (`forceZip64` puts them everywhere, for tests).
 */
import type { FileWriter } from '../ports';
import { utf8Encode } from '../safetensors/utf8';
import { numel } from '../tensor';
import { crc32 } from './crc32';
import { CheckpointError } from './errors';
import type { PickledTensor } from './pickle-writer';
import { encodeStateDictPickle } from './pickle-writer';

/** One tensor of a checkpoint to be written (no data yet). */
export type TorchWriteEntry = PickledTensor;

/** What `TorchZipWriter.create` needs. */
export interface TorchZipWriterOptions {
  /** The archive's top-level folder, e.g. `archive` or `pytorch_model-00001-of-00002`. */
  readonly archiveName: string;
  /** Every tensor, in the order `writeTensor` will get them. */
  readonly tensors: readonly TorchWriteEntry[];
  /** Name used in error messages (FileWriter has none); defaults to the archive name. */
  readonly file?: string;
  /** Writes ZIP64 sizes, offsets and end records for every entry, so small files exercise the > 4 GiB layout. */
  readonly forceZip64?: boolean;
}

const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const ALIGN = 64;
const DOS_DATE_1980_01_01 = (1 << 5) | 1;
/** Names are UTF-8 (general-purpose flag bit 11). */
const FLAG_UTF8 = 0x0800;
const ELEMENT_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;

/** A little-endian record builder. */
function record(size: number, fill: (dv: DataView) => void): Uint8Array {
  const out = new Uint8Array(size);
  fill(new DataView(out.buffer));
  return out;
}

interface WrittenEntry {
  readonly name: Uint8Array;
  readonly crc: number;
  readonly size: number;
  readonly offset: number;
}

/** Writes one torch checkpoint zip to a FileWriter: `create`, `writeTensor` for each tensor in order, `finish`. */
export class TorchZipWriter {
  private readonly out: FileWriter;
  private readonly opts: TorchZipWriterOptions;
  private readonly file: string;
  private readonly written: WrittenEntry[] = [];
  private offset = 0;
  private next = 0;

  private constructor(out: FileWriter, opts: TorchZipWriterOptions) {
    this.out = out;
    this.opts = opts;
    this.file = opts.file ?? opts.archiveName;
  }

  /** Validates the plan and writes `data.pkl` and `byteorder`. */
  static async create(out: FileWriter, opts: TorchZipWriterOptions): Promise<TorchZipWriter> {
    const w = new TorchZipWriter(out, opts);
    if (opts.archiveName === '' || opts.archiveName.includes('/'))
      throw new CheckpointError(
        w.file,
        `archive name "${opts.archiveName}" must be one non-empty path segment`,
      );
    const seen = new Set<string>();
    for (const t of opts.tensors) {
      if (seen.has(t.name)) throw new CheckpointError(w.file, 'is listed twice', t.name);
      seen.add(t.name);
      if (!(t.dtype in ELEMENT_BYTES))
        throw new CheckpointError(
          w.file,
          `has dtype ${String(t.dtype)}; the writer takes F32, F16 or BF16`,
          t.name,
        );
      if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
        throw new CheckpointError(w.file, `has an invalid shape [${t.shape.join(', ')}]`, t.name);
    }
    await w.entry('data.pkl', encodeStateDictPickle(opts.tensors));
    // torch ≥ 2.0 records the byte order; 1.13 ignores the record.
    await w.entry('byteorder', utf8Encode('little'));
    return w;
  }

  /** Writes the next tensor's raw little-endian bytes; names must come in declaration order and sizes match. */
  async writeTensor(name: string, bytes: Uint8Array): Promise<void> {
    const t = this.opts.tensors[this.next];
    if (!t) throw new CheckpointError(this.file, 'was written after the last declared tensor', name);
    if (t.name !== name)
      throw new CheckpointError(this.file, `was written out of order (expected "${t.name}" next)`, name);
    const want = numel(t.shape) * ELEMENT_BYTES[t.dtype];
    if (bytes.byteLength !== want)
      throw new CheckpointError(
        this.file,
        `data is ${bytes.byteLength} bytes, shape [${t.shape.join(', ')}] × ${t.dtype} needs ${want}`,
        name,
      );
    await this.entry(`data/${this.next}`, bytes);
    this.next++;
  }

  /** Writes `version`, the central directory and the end records, then closes the FileWriter. */
  async finish(): Promise<void> {
    const missing = this.opts.tensors[this.next];
    if (missing) throw new CheckpointError(this.file, 'was declared but never written', missing.name);
    await this.entry('version', utf8Encode('3\n'));
    const cdOffset = this.offset;
    for (const e of this.written) await this.emit(this.centralHeader(e));
    const cdSize = this.offset - cdOffset;
    const count = this.written.length;
    const force = this.opts.forceZip64 === true;
    const zip64 = force || count >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
    if (zip64) {
      const recordOffset = this.offset;
      await this.emit(
        record(56, (dv) => {
          dv.setUint32(0, 0x06064b50, true);
          dv.setBigUint64(4, 44n, true); // size of the rest of the record
          dv.setUint16(12, 45, true);
          dv.setUint16(14, 45, true);
          dv.setBigUint64(24, BigInt(count), true);
          dv.setBigUint64(32, BigInt(count), true);
          dv.setBigUint64(40, BigInt(cdSize), true);
          dv.setBigUint64(48, BigInt(cdOffset), true);
        }),
      );
      await this.emit(
        record(20, (dv) => {
          dv.setUint32(0, 0x07064b50, true);
          dv.setBigUint64(8, BigInt(recordOffset), true);
          dv.setUint32(16, 1, true);
        }),
      );
    }
    const cap = (v: number, max: number): number => (force || v >= max ? max : v);
    await this.emit(
      record(22, (dv) => {
        dv.setUint32(0, 0x06054b50, true);
        dv.setUint16(8, cap(count, U16_MAX), true);
        dv.setUint16(10, cap(count, U16_MAX), true);
        dv.setUint32(12, cap(cdSize, U32_MAX), true);
        dv.setUint32(16, cap(cdOffset, U32_MAX), true);
      }),
    );
    await this.out.close();
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength > 0) await this.out.write(bytes);
    this.offset += bytes.byteLength;
  }

  /** One stored entry: local header (ZIP64 extra if needed, FB padding to 64 bytes), then the data. */
  private async entry(path: string, data: Uint8Array): Promise<void> {
    const name = utf8Encode(`${this.opts.archiveName}/${path}`);
    const e: WrittenEntry = { name, crc: crc32(data), size: data.byteLength, offset: this.offset };
    const zip64 = this.opts.forceZip64 === true || e.size >= U32_MAX;
    const fixed = 30 + name.length + (zip64 ? 20 : 0);
    const pad = ((ALIGN - ((e.offset + fixed + 4) % ALIGN)) % ALIGN) + 4;
    await this.emit(
      record(fixed + pad, (dv) => {
        dv.setUint32(0, 0x04034b50, true);
        dv.setUint16(4, zip64 ? 45 : 20, true);
        dv.setUint16(6, FLAG_UTF8, true);
        dv.setUint16(12, DOS_DATE_1980_01_01, true);
        dv.setUint32(14, e.crc, true);
        dv.setUint32(18, zip64 ? U32_MAX : e.size, true);
        dv.setUint32(22, zip64 ? U32_MAX : e.size, true);
        dv.setUint16(26, name.length, true);
        dv.setUint16(28, fixed - 30 - name.length + pad, true);
        new Uint8Array(dv.buffer).set(name, 30);
        let q = 30 + name.length;
        if (zip64) {
          dv.setUint16(q, 0x0001, true);
          dv.setUint16(q + 2, 16, true);
          dv.setBigUint64(q + 4, BigInt(e.size), true);
          dv.setBigUint64(q + 12, BigInt(e.size), true);
          q += 20;
        }
        dv.setUint16(q, 0x4246, true); // "FB": torch's alignment padding
        dv.setUint16(q + 2, pad - 4, true);
        new Uint8Array(dv.buffer).fill(0x5a, q + 4);
      }),
    );
    await this.emit(data);
    this.written.push(e);
  }

  /** The central directory record of one entry, with a ZIP64 extra holding exactly the fields that overflow. */
  private centralHeader(e: WrittenEntry): Uint8Array {
    const force = this.opts.forceZip64 === true;
    const bigSize = force || e.size >= U32_MAX;
    const bigOffset = force || e.offset >= U32_MAX;
    const fields = [...(bigSize ? [e.size, e.size] : []), ...(bigOffset ? [e.offset] : [])];
    const extra = fields.length > 0 ? 4 + 8 * fields.length : 0;
    return record(46 + e.name.length + extra, (dv) => {
      dv.setUint32(0, 0x02014b50, true);
      dv.setUint16(4, extra > 0 ? 45 : 20, true);
      dv.setUint16(6, extra > 0 ? 45 : 20, true);
      dv.setUint16(8, FLAG_UTF8, true);
      dv.setUint16(14, DOS_DATE_1980_01_01, true);
      dv.setUint32(16, e.crc, true);
      dv.setUint32(20, bigSize ? U32_MAX : e.size, true);
      dv.setUint32(24, bigSize ? U32_MAX : e.size, true);
      dv.setUint16(28, e.name.length, true);
      dv.setUint16(30, extra, true);
      dv.setUint32(42, bigOffset ? U32_MAX : e.offset, true);
      new Uint8Array(dv.buffer).set(e.name, 46);
      if (extra === 0) return;
      const q = 46 + e.name.length;
      dv.setUint16(q, 0x0001, true);
      dv.setUint16(q + 2, 8 * fields.length, true);
      fields.forEach((v, i) => dv.setBigUint64(q + 4 + 8 * i, BigInt(v), true));
    });
  }
}
