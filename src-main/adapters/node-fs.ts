/**
 * Node implementations of the engine's file-system and hashing ports (shared/engine/ports.ts), and of what the
 * companion's file stores add to the file system (shared/companion/host-kit/file-stores.ts).
 */
import { createHash, webcrypto } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, read } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StoreFileSystem } from '../../shared/companion/host-kit/file-stores';
import type { FileSystemPort, FileWriter, RandomAccessReader, Sha256 } from '../../shared/engine/ports';

/** One positional read (a single threadpool job); resolves to the bytes read. */
function readAt(
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** Random access through one FileHandle; every read lands in a fresh, 8-byte-aligned Uint8Array. */
class NodeRandomAccessReader implements RandomAccessReader {
  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
  ) {}

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    // Not Buffer.allocUnsafe: small Buffers come from a shared pool at odd offsets, which would defeat the
    // zero-copy typed-array views of the safetensors reader.
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0)
        throw new Error(
          `${this.name}: short read: wanted ${length} bytes at ${offset}, the file ends after ${done}`,
        );
      done += bytesRead;
    }
    return out;
  }

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    let done = 0;
    while (done < target.byteLength) {
      const { bytesRead } = await this.handle.read(target, done, target.byteLength - done, offset + done);
      if (bytesRead === 0)
        throw new Error(
          `${this.name}: short read: wanted ${target.byteLength} bytes at ${offset}, the file ends after ${done}`,
        );
      done += bytesRead;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Sequential writes through one FileHandle. */
class NodeFileWriter implements FileWriter {
  constructor(private readonly handle: FileHandle) {}

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done);
      done += bytesWritten;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * The engine's FileSystemPort on Node's fs/promises (random access through FileHandle), with the companion stores'
 * durable appends and writes (fsync) and owner-only secrets.
 */
export class NodeFileSystem implements FileSystemPort, StoreFileSystem {
  /**
   * `sharedMemory`: whole-file reads land in a SharedArrayBuffer, so block weights reach the ONNX Runtime worker
   * without a copy on every run (see src-main/engine-host/ort-worker-backend.ts).
   */
  constructor(private readonly options: { sharedMemory?: boolean } = {}) {}

  async open(path: string): Promise<RandomAccessReader> {
    return new NodeRandomAccessReader(path, await open(path, 'r'));
  }

  /**
   * Reads a whole file with ONE positional read in libuv's threadpool. fs.readFile reads in 512 KiB chunks, each
   * needing the JS thread to issue the next; while ONNX Runtime blocks that thread (a block computing), a chunked
   * read stalls after its first chunk and CI-DL's prefetch would hide almost nothing. Opening and sizing the file
   * are synchronous (microseconds on a cached inode) so that the read itself is queued before compute starts.
   */
  async readFile(path: string): Promise<Uint8Array> {
    if (this.options.sharedMemory) return readShared(path);
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const out = new Uint8Array(size); // 8-byte aligned, zero-copy views for the safetensors reader
      let done = 0;
      while (done < size) {
        const n = await readAt(fd, out, done, size - done, done);
        if (n === 0) throw new Error(`${path}: short read: the file shrank to ${done} bytes while reading`);
        done += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }

  /** Like `readFile`, into `target` (a pooled block buffer), which must be exactly the file's size. */
  async readFileInto(path: string, target: Uint8Array): Promise<void> {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size !== target.byteLength)
        throw new Error(`${path}: the file has ${size} bytes, the buffer for it ${target.byteLength}`);
      let done = 0;
      while (done < size) {
        const n = await readAt(fd, target, done, size - done, done);
        if (n === 0) throw new Error(`${path}: short read: the file shrank to ${done} bytes while reading`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  readText(path: string): Promise<string> {
    return readFile(path, 'utf8');
  }

  writeFile(path: string, data: Uint8Array | string): Promise<void> {
    return writeFile(path, data);
  }

  async createWriter(path: string): Promise<FileWriter> {
    return new NodeFileWriter(await open(path, 'w'));
  }

  async mkdirp(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  }

  rename(from: string, to: string): Promise<void> {
    return rename(from, to);
  }

  remove(path: string): Promise<void> {
    return rm(path, { recursive: true, force: true });
  }

  join(...parts: string[]): string {
    return join(...parts);
  }

  async appendText(path: string, text: string): Promise<void> {
    const fh = await open(path, 'a');
    try {
      const before = (await fh.stat()).size;
      try {
        await fh.appendFile(text);
        await fh.datasync();
      } catch (error) {
        // Leave no half line behind: the retry would be glued onto it.
        await fh.truncate(before).catch(() => undefined);
        throw error;
      }
    } finally {
      await fh.close();
    }
  }

  listNames(path: string): Promise<string[]> {
    return readdir(path);
  }

  async writeDurable(path: string, text: string, options: { secret?: boolean } = {}): Promise<void> {
    await mkdir(dirname(path), { recursive: true, ...(options.secret ? { mode: 0o700 } : {}) });
    const fh = await open(path, 'w', options.secret ? 0o600 : 0o666);
    try {
      await fh.writeFile(text);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}

/**
 * SHA-256 via WebCrypto. `subtle.digest` runs as an async job on libuv's threadpool, so hashing a 170 MB block
 * does not block the JS thread: CI-DL can verify the next block while the current one computes (the synchronous
 * `createHash` would stall the event loop for the whole pass). WebCrypto copies its input first, so the caller
 * may reuse the bytes as soon as the call returns.
 */
export const nodeSha256: Sha256 = async (bytes) => {
  // WebCrypto refuses views on SharedArrayBuffers; hash those on this thread (free while ORT runs in its worker).
  if (bytes.buffer instanceof SharedArrayBuffer) return createHash('sha256').update(bytes).digest('hex');
  const digest = new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
};

/**
 * SHA-256 on this thread, fed in 16 MiB slices of the caller's bytes: no copy (WebCrypto copies its input, which
 * for a 772 MB T5 layer doubles a converter's peak). For conversions, where nothing else needs the thread.
 */
export const nodeSha256InPlace: Sha256 = async (bytes) => {
  const hash = createHash('sha256');
  const slice = 16 * 2 ** 20;
  for (let at = 0; at < bytes.byteLength; at += slice) hash.update(bytes.subarray(at, at + slice));
  return hash.digest('hex');
};

/** Reads a whole file into a SharedArrayBuffer-backed view. */
async function readShared(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const out = new Uint8Array(new SharedArrayBuffer(size));
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(out, done, size - done, done);
      if (bytesRead === 0)
        throw new Error(`${path}: short read: the file shrank to ${done} bytes while reading`);
      done += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}
