/**
 * The engine's FileSystemPort (shared/engine/ports.ts) on react-native-fs: block sets are read from the app's
 * Documents folder. Reads come over the bridge as base64 and are decoded into fresh Uint8Arrays (8-byte aligned, as
 * the safetensors reader wants).
 */
import { fromByteArray, toByteArray } from 'base64-js';
import type { StoreFileSystem } from '../../../shared/companion/host-kit/file-stores';
import type { FileSystemPort, FileWriter, RandomAccessReader } from '../../../shared/engine/ports';
import { dirnameOf, joinPath, type RnfsLike } from './rnfs-like';

/** Largest piece one bridge call moves (base64 strings of this size stay cheap to build). */
export const RNFS_IO_CHUNK_BYTES = 8 * 1024 * 1024;

/** Decodes base64 into a fresh, aligned array. */
export function fromBase64(b64: string): Uint8Array {
  const v = toByteArray(b64);
  return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice();
}

/** Encodes bytes as base64. */
export function toBase64(bytes: Uint8Array): string {
  return fromByteArray(bytes);
}

/** Reads `length` bytes at `offset`, in bridge-sized pieces; rejects if the file is shorter. */
export async function readRange(
  fs: RnfsLike,
  path: string,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const want = Math.min(RNFS_IO_CHUNK_BYTES, length - done);
    const piece = fromBase64(await fs.read(path, want, offset + done, 'base64'));
    if (piece.length === 0)
      throw new Error(
        `${path}: short read: wanted ${length} bytes at ${offset}, the file ends after ${done}`,
      );
    out.set(piece.subarray(0, want), done);
    done += Math.min(piece.length, want);
  }
  return out;
}

/** Writes bytes at the end of a file, in bridge-sized pieces. */
async function appendBytes(fs: RnfsLike, path: string, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; at += RNFS_IO_CHUNK_BYTES)
    await fs.appendFile(path, toBase64(bytes.subarray(at, at + RNFS_IO_CHUNK_BYTES)), 'base64');
}

/** Creates every missing folder of `path`. */
export async function mkdirp(fs: RnfsLike, path: string): Promise<void> {
  if (await fs.exists(path)) return;
  await mkdirp(fs, dirnameOf(path));
  if (!(await fs.exists(path))) await fs.mkdir(path);
}

/** Removes a file or folder if it exists. */
export async function removePath(fs: RnfsLike, path: string): Promise<void> {
  if (await fs.exists(path)) await fs.unlink(path);
}

class RnfsReader implements RandomAccessReader {
  constructor(
    private readonly fs: RnfsLike,
    readonly name: string,
  ) {}

  async size(): Promise<number> {
    return (await this.fs.stat(this.name)).size;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return readRange(this.fs, this.name, offset, length);
  }

  async close(): Promise<void> {
    // react-native-fs opens and closes the file on every call.
  }
}

class RnfsWriter implements FileWriter {
  constructor(
    private readonly fs: RnfsLike,
    private readonly path: string,
  ) {}

  write(bytes: Uint8Array): Promise<void> {
    return appendBytes(this.fs, this.path, bytes);
  }

  async close(): Promise<void> {
    // nothing held open
  }
}

/**
 * FileSystemPort on react-native-fs, with what the companion's file stores add (iOS keeps the app's files to the
 * app, so a secret is an ordinary file; writes are not fsynced: react-native-fs has no call for it).
 */
export class RnfsFileSystem implements FileSystemPort, StoreFileSystem {
  constructor(protected readonly fs: RnfsLike) {}

  async open(path: string): Promise<RandomAccessReader> {
    if (!(await this.fs.exists(path))) throw new Error(`${path}: no such file`);
    return new RnfsReader(this.fs, path);
  }

  async readFile(path: string): Promise<Uint8Array> {
    const size = (await this.fs.stat(path)).size;
    return readRange(this.fs, path, 0, size);
  }

  readText(path: string): Promise<string> {
    return this.fs.readFile(path, 'utf8');
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    if (typeof data === 'string') await this.fs.writeFile(path, data, 'utf8');
    else {
      await this.fs.writeFile(path, '', 'base64');
      await appendBytes(this.fs, path, data);
    }
  }

  async createWriter(path: string): Promise<FileWriter> {
    await this.fs.writeFile(path, '', 'base64');
    return new RnfsWriter(this.fs, path);
  }

  mkdirp(path: string): Promise<void> {
    return mkdirp(this.fs, path);
  }

  exists(path: string): Promise<boolean> {
    return this.fs.exists(path);
  }

  async rename(from: string, to: string): Promise<void> {
    await removePath(this.fs, to);
    await this.fs.moveFile(from, to);
  }

  remove(path: string): Promise<void> {
    return removePath(this.fs, path);
  }

  join(...parts: string[]): string {
    return joinPath(...parts);
  }

  appendText(path: string, text: string): Promise<void> {
    return this.fs.appendFile(path, text, 'utf8');
  }

  async listNames(path: string): Promise<string[]> {
    return (await this.fs.readDir(path)).map((item) => item.name);
  }

  async writeDurable(path: string, text: string): Promise<void> {
    await mkdirp(this.fs, dirnameOf(path));
    await this.fs.writeFile(path, text, 'utf8');
  }
}
