/**
 * Zip archive reader for PyTorch checkpoints (`torch.save` writes a zip of stored records). It reads only the
 * central directory (zip-directory.ts; ZIP64 included, real shards are 10 GB) and, per entry on demand, the local
 * file header, so a tensor record is then read in place with one positional read. Nothing is ever decompressed:
 * torch stores every record, and a compressed one could not be read tensor by tensor anyway.
 */
import type { RandomAccessReader } from '../ports';
import type { FloatDtype } from '../safetensors/dtype';
import { readFloatInto } from '../safetensors/read-into';
import { CheckpointError } from './errors';
import type { CentralEntry, ZipEntry } from './zip-directory';
import { LOCAL_BYTES, SIG_LOCAL, decodeName, hex, readAt, readCentralDirectory } from './zip-directory';

export type { ZipEntry } from './zip-directory';
export { MAX_CENTRAL_DIRECTORY_BYTES } from './zip-directory';

/** A zip archive opened through a RandomAccessReader: its entries, and in-place reads of stored ones. */
export class ZipReader {
  /** The file name used in error messages. */
  readonly file: string;
  private readonly reader: RandomAccessReader;
  private readonly list: readonly CentralEntry[];
  private readonly byName: ReadonlyMap<string, CentralEntry>;
  /** Entries' data must end before the central directory. */
  private readonly dataLimit: number;
  private readonly offsets = new Map<string, Promise<number>>();

  private constructor(reader: RandomAccessReader, entries: CentralEntry[], dataLimit: number) {
    this.file = reader.name;
    this.reader = reader;
    this.list = entries;
    this.dataLimit = dataLimit;
    const byName = new Map<string, CentralEntry>();
    for (const e of entries) {
      if (byName.has(e.name)) throw new CheckpointError(this.file, `lists entry "${e.name}" twice`);
      byName.set(e.name, e);
    }
    this.byName = byName;
  }

  /** Reads the end records and the central directory (two or three reads); the reader stays open until close(). */
  static async open(reader: RandomAccessReader): Promise<ZipReader> {
    const { entries, dataLimit } = await readCentralDirectory(reader);
    return new ZipReader(reader, entries, dataLimit);
  }

  /** Every entry, in central directory order. */
  entries(): readonly ZipEntry[] {
    return this.list;
  }

  /** The entry called `name`, if any. */
  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * Absolute offset of a stored entry's first data byte, from its local header (whose name and extra field may
   * differ in length from the central directory's: torch pads the extra field to align data on 64 bytes).
   */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const e = this.byName.get(entry.name);
    if (!e) throw new CheckpointError(this.file, `has no entry "${entry.name}"`);
    let offset = this.offsets.get(e.name);
    if (!offset) {
      offset = this.readLocalHeader(e);
      this.offsets.set(e.name, offset);
    }
    return offset;
  }

  /** Reads `out.length` float values of `dtype` at `offset` inside a stored entry straight into `out`. */
  async readFloatInto(entry: ZipEntry, offset: number, dtype: FloatDtype, out: Float32Array): Promise<void> {
    const length = out.length * (dtype === 'F32' ? 4 : 2);
    if (offset < 0 || offset + length > entry.uncompressedSize)
      throw new CheckpointError(
        this.file,
        `read of ${length} bytes at ${offset} is outside entry "${entry.name}" (${entry.uncompressedSize} bytes)`,
      );
    await readFloatInto(this.reader, (await this.dataOffset(entry)) + offset, dtype, out);
  }

  /** Reads `length` bytes at `offset` inside a stored entry (one read of exactly that span). */
  async read(entry: ZipEntry, offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.uncompressedSize)
      throw new CheckpointError(
        this.file,
        `read of ${length} bytes at ${offset} is outside entry "${entry.name}" (${entry.uncompressedSize} bytes)`,
      );
    const start = await this.dataOffset(entry);
    if (length === 0) return new Uint8Array(0);
    return readAt(this.reader, start + offset, length, `entry "${entry.name}"`);
  }

  /** The whole of a small stored entry; refuses entries over `maxBytes`. */
  async readAll(entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
    if (entry.uncompressedSize > maxBytes)
      throw new CheckpointError(
        this.file,
        `entry "${entry.name}" is ${entry.uncompressedSize} bytes, over the ${maxBytes}-byte limit for it`,
      );
    return this.read(entry, 0, entry.uncompressedSize);
  }

  /** Closes the underlying reader. */
  close(): Promise<void> {
    return this.reader.close();
  }

  private async readLocalHeader(e: CentralEntry): Promise<number> {
    if (e.flags & 1) throw new CheckpointError(this.file, `entry "${e.name}" is encrypted`);
    if (e.method !== 0)
      throw new CheckpointError(
        this.file,
        `entry "${e.name}" is compressed (method ${e.method}${e.method === 8 ? ', deflate' : ''}); only stored entries can be read in place (torch.save stores every record)`,
      );
    if (e.compressedSize !== e.uncompressedSize)
      throw new CheckpointError(
        this.file,
        `entry "${e.name}" is stored but its sizes differ (${e.compressedSize} compressed, ${e.uncompressedSize} uncompressed)`,
      );
    const at = e.localHeaderOffset;
    const head = await readAt(
      this.reader,
      at,
      LOCAL_BYTES + e.nameBytes.length,
      `local header of entry "${e.name}"`,
    );
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (dv.getUint32(0, true) !== SIG_LOCAL)
      throw new CheckpointError(
        this.file,
        `entry "${e.name}" has a bad local header signature ${hex(dv.getUint32(0, true))} at byte ${at}`,
      );
    const nameLen = dv.getUint16(26, true);
    const extraLen = dv.getUint16(28, true);
    const local = head.subarray(LOCAL_BYTES);
    if (nameLen !== e.nameBytes.length || local.some((b, i) => b !== e.nameBytes[i]))
      throw new CheckpointError(
        this.file,
        `local header at byte ${at} names "${decodeName(head.subarray(LOCAL_BYTES, LOCAL_BYTES + nameLen))}", the central directory "${e.name}"`,
      );
    const start = at + LOCAL_BYTES + nameLen + extraLen;
    if (start + e.compressedSize > this.dataLimit)
      throw new CheckpointError(
        this.file,
        `entry "${e.name}" data (byte ${start}, ${e.compressedSize} bytes) runs past the central directory at byte ${this.dataLimit}`,
      );
    return start;
  }
}
