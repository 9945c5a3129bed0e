/**
 * The zip central directory, read through a RandomAccessReader: the end-of-central-directory record from the tail
 * (with the ZIP64 locator and end record that > 4 GiB archives need), then every entry with the ZIP64 extra fields
 * that replace saturated sizes and offsets. Everything is bounds-checked against the file, so a truncated or
 * corrupt archive fails with a message naming the file and what was wrong.
 */
import type { RandomAccessReader } from '../ports';
import { utf8Decode } from '../safetensors/utf8';
import { CheckpointError } from './errors';

/** Signature of a local file header. */
export const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
/** Fixed part of a local file header; the name and extra field follow. */
export const LOCAL_BYTES = 30;
const CENTRAL_BYTES = 46;
const EOCD_BYTES = 22;
const LOCATOR_BYTES = 20;
const ZIP64_EOCD_BYTES = 56;
const MAX_COMMENT_BYTES = 0xffff;
/** First guess at the end records' size: EOCD, ZIP64 locator and a short comment. */
const SHORT_TAIL_BYTES = 1024;
const U32_MAX = 0xffffffff;
const ZIP64_EXTRA_ID = 0x0001;

/** Largest central directory accepted; a torch archive needs about 100 bytes per tensor. */
export const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;

/** One entry of the central directory. */
export interface ZipEntry {
  /** Path inside the archive, e.g. `archive/data/0`. */
  readonly name: string;
  /** Compression method: 0 = stored (the only one readable in place), 8 = deflate, … */
  readonly method: number;
  /** General-purpose bit flags (bit 0: encrypted). */
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Absolute offset of the entry's local file header. */
  readonly localHeaderOffset: number;
}

/** A central directory entry with its raw name, which the local header must repeat. */
export interface CentralEntry extends ZipEntry {
  /** The raw name bytes, compared with the local header's. */
  readonly nameBytes: Uint8Array;
}

/** A 32-bit value as 0x-prefixed hex, for signatures in errors. */
export const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** A u64 field as a number; offsets past 2^53 are not a real file. */
function u64(file: string, dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new CheckpointError(file, `${what} ${v} is not a usable size`);
  return Number(v);
}

/** Entry names are UTF-8 (flag bit 11, and what torch writes); anything else is read as Latin-1. */
export function decodeName(bytes: Uint8Array): string {
  return utf8Decode(bytes) ?? String.fromCharCode(...bytes);
}

/** One read, with a failure of the reader reported as a CheckpointError naming the file and what was read. */
export async function readAt(
  reader: RandomAccessReader,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  try {
    return await reader.read(offset, length);
  } catch (err) {
    throw new CheckpointError(reader.name, `could not read ${what} (${(err as Error).message})`);
  }
}

/** The central directory's position as the end records give it. */
interface DirectoryLocation {
  readonly count: number;
  readonly offset: number;
  readonly size: number;
  /** Where the end records start; the directory must end at or before it. */
  readonly end: number;
}

/** Where the end-of-central-directory record starts in `tail` (it ends the file), or -1. */
function findEocd(tail: Uint8Array): number {
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  // The record ends the file: its comment length must reach exactly the last byte.
  for (let i = tail.length - EOCD_BYTES; i >= 0; i--)
    if (dv.getUint32(i, true) === SIG_EOCD && i + EOCD_BYTES + dv.getUint16(i + 20, true) === tail.length)
      return i;
  return -1;
}

/** Finds the end-of-central-directory record (and the ZIP64 one when a locator precedes it). */
async function locateDirectory(
  file: string,
  reader: RandomAccessReader,
  size: number,
): Promise<DirectoryLocation> {
  // Torch writes no archive comment, so a short tail almost always holds the end records; the full window that
  // a 64 KiB comment needs is read only when it does not.
  let tailStart = Math.max(0, size - SHORT_TAIL_BYTES);
  let tail =
    size >= EOCD_BYTES
      ? await readAt(reader, tailStart, size - tailStart, 'the end records')
      : new Uint8Array(0);
  let p = findEocd(tail);
  if (p < 0 && tailStart > 0) {
    tailStart = Math.max(0, size - (EOCD_BYTES + MAX_COMMENT_BYTES + LOCATOR_BYTES));
    tail = await readAt(reader, tailStart, size - tailStart, 'the end records');
    p = findEocd(tail);
  }
  if (p < 0)
    throw new CheckpointError(
      file,
      `is truncated or not a zip archive: no end-of-central-directory record in its last ${tail.length} bytes (file has ${size} bytes)`,
    );
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const eocd = tailStart + p;
  const disk = dv.getUint16(p + 4, true);
  const cdDisk = dv.getUint16(p + 6, true);
  let count = dv.getUint16(p + 10, true);
  let cdSize = dv.getUint32(p + 12, true);
  let cdOffset = dv.getUint32(p + 16, true);
  let end = eocd;
  if (p >= LOCATOR_BYTES && dv.getUint32(p - LOCATOR_BYTES, true) === SIG_ZIP64_LOCATOR) {
    const recordOffset = u64(file, dv, p - LOCATOR_BYTES + 8, 'ZIP64 end record offset');
    end = eocd - LOCATOR_BYTES;
    if (recordOffset + ZIP64_EOCD_BYTES > end)
      throw new CheckpointError(
        file,
        `ZIP64 locator points at byte ${recordOffset}, past the end records at byte ${end}`,
      );
    const rec = await readAt(reader, recordOffset, ZIP64_EOCD_BYTES, 'the ZIP64 end record');
    const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    if (rv.getUint32(0, true) !== SIG_ZIP64_EOCD)
      throw new CheckpointError(
        file,
        `bad ZIP64 end-of-central-directory signature ${hex(rv.getUint32(0, true))} at byte ${recordOffset}`,
      );
    if (rv.getUint32(16, true) !== 0 || rv.getUint32(20, true) !== 0)
      throw new CheckpointError(file, 'is a multi-disk (split) zip archive, which is not supported');
    count = u64(file, rv, 32, 'entry count');
    cdSize = u64(file, rv, 40, 'central directory size');
    cdOffset = u64(file, rv, 48, 'central directory offset');
    end = recordOffset;
  } else if (disk !== 0 || cdDisk !== 0) {
    throw new CheckpointError(file, 'is a multi-disk (split) zip archive, which is not supported');
  }
  if (cdOffset + cdSize > end)
    throw new CheckpointError(
      file,
      `central directory (byte ${cdOffset}, ${cdSize} bytes) runs past its end records at byte ${end}: the file is truncated or corrupt (${size} bytes)`,
    );
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES)
    throw new CheckpointError(
      file,
      `central directory of ${cdSize} bytes exceeds the ${MAX_CENTRAL_DIRECTORY_BYTES}-byte limit`,
    );
  if (count * CENTRAL_BYTES > cdSize)
    throw new CheckpointError(
      file,
      `declares ${count} entries but its central directory is only ${cdSize} bytes`,
    );
  return { count, offset: cdOffset, size: cdSize, end };
}

/** Replaces saturated 32-bit fields with the values of the entry's ZIP64 extra field. */
function applyZip64(
  file: string,
  name: string,
  dv: DataView,
  extraStart: number,
  extraEnd: number,
  fields: { usize: number; csize: number; offset: number },
): void {
  const wanted = [fields.usize === U32_MAX, fields.csize === U32_MAX, fields.offset === U32_MAX];
  if (!wanted.some(Boolean)) return;
  for (let q = extraStart; q + 4 <= extraEnd;) {
    const id = dv.getUint16(q, true);
    const len = dv.getUint16(q + 2, true);
    if (q + 4 + len > extraEnd)
      throw new CheckpointError(file, `entry "${name}" has an extra field that runs past its header`);
    if (id === ZIP64_EXTRA_ID) {
      let r = q + 4;
      const take = (what: string): number => {
        if (r + 8 > q + 4 + len)
          throw new CheckpointError(
            file,
            `entry "${name}" has a ZIP64 extra field too short for its ${what}`,
          );
        const v = u64(file, dv, r, `entry "${name}" ${what}`);
        r += 8;
        return v;
      };
      if (wanted[0]) fields.usize = take('uncompressed size');
      if (wanted[1]) fields.csize = take('compressed size');
      if (wanted[2]) fields.offset = take('local header offset');
      return;
    }
    q += 4 + len;
  }
  throw new CheckpointError(
    file,
    `entry "${name}" needs a ZIP64 extra field for its sizes or offset but has none`,
  );
}

/** Parses every central directory record. */
function parseDirectory(file: string, cd: Uint8Array, loc: DirectoryLocation): CentralEntry[] {
  const dv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries: CentralEntry[] = [];
  let p = 0;
  for (let i = 0; i < loc.count; i++) {
    if (p + CENTRAL_BYTES > cd.length)
      throw new CheckpointError(file, `central directory is truncated at entry ${i} of ${loc.count}`);
    if (dv.getUint32(p, true) !== SIG_CENTRAL)
      throw new CheckpointError(
        file,
        `central directory entry ${i} has a bad signature ${hex(dv.getUint32(p, true))} at byte ${loc.offset + p}`,
      );
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    const next = p + CENTRAL_BYTES + nameLen + extraLen + commentLen;
    if (next > cd.length)
      throw new CheckpointError(file, `central directory entry ${i} runs past the end of the directory`);
    const nameBytes = cd.slice(p + CENTRAL_BYTES, p + CENTRAL_BYTES + nameLen);
    const name = decodeName(nameBytes);
    const fields = {
      csize: dv.getUint32(p + 20, true),
      usize: dv.getUint32(p + 24, true),
      offset: dv.getUint32(p + 42, true),
    };
    const extraStart = p + CENTRAL_BYTES + nameLen;
    applyZip64(file, name, dv, extraStart, extraStart + extraLen, fields);
    if (fields.offset + LOCAL_BYTES > loc.offset)
      throw new CheckpointError(
        file,
        `entry "${name}" has its local header at byte ${fields.offset}, past the central directory at byte ${loc.offset}`,
      );
    entries.push({
      name,
      nameBytes,
      flags: dv.getUint16(p + 8, true),
      method: dv.getUint16(p + 10, true),
      crc32: dv.getUint32(p + 16, true),
      compressedSize: fields.csize,
      uncompressedSize: fields.usize,
      localHeaderOffset: fields.offset,
    });
    p = next;
  }
  return entries;
}

/** Reads and parses the central directory; `dataLimit` is where entry data must end (the directory's start). */
export async function readCentralDirectory(
  reader: RandomAccessReader,
): Promise<{ entries: CentralEntry[]; dataLimit: number }> {
  const file = reader.name;
  const size = await reader.size();
  const loc = await locateDirectory(file, reader, size);
  const cd =
    loc.size > 0 ? await readAt(reader, loc.offset, loc.size, 'the central directory') : new Uint8Array(0);
  return { entries: parseDirectory(file, cd, loc), dataLimit: loc.offset };
}
