/**
 * In-memory file-system ports for checkpoint tests: a `FileSystemPort` over a map of paths that records which files
 * were opened, every positional read and the handles still open, and a sparse `RandomAccessReader` that pretends
 * to be a multi-gigabyte file (zeros except for the given segments) so ZIP64 offsets can be tested in kilobytes.
 */
import type { FileSystemPort, FileWriter, RandomAccessReader } from '../../shared/engine/ports';

/** One positional read on a handle from `open`. */
export interface RecordedRead {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

/** A RandomAccessReader over bytes in memory; reads past the end reject like a short read on disk. */
export function memoryReader(
  bytes: Uint8Array,
  name: string,
  onRead?: (offset: number, length: number) => void,
) {
  const reader: RandomAccessReader = {
    name,
    size: async () => bytes.byteLength,
    read: async (offset, length) => {
      onRead?.(offset, length);
      if (offset < 0 || offset + length > bytes.byteLength)
        throw new Error(`short read: wanted ${length} bytes at ${offset} of ${bytes.byteLength}`);
      return bytes.slice(offset, offset + length);
    },
    close: async () => undefined,
  };
  return reader;
}

/** A reader of a `size`-byte file that is all zeros except `segments` (absolute offset → bytes). */
export function sparseReader(
  name: string,
  size: number,
  segments: ReadonlyArray<readonly [number, Uint8Array]>,
) {
  const reader: RandomAccessReader = {
    name,
    size: async () => size,
    read: async (offset, length) => {
      if (offset < 0 || offset + length > size)
        throw new Error(`short read at ${offset}+${length} of ${size}`);
      const out = new Uint8Array(length);
      for (const [at, bytes] of segments) {
        const from = Math.max(at, offset);
        const to = Math.min(at + bytes.length, offset + length);
        if (from < to) out.set(bytes.subarray(from - at, to - at), from - offset);
      }
      return out;
    },
    close: async () => undefined,
  };
  return reader;
}

/** A FileWriter that collects chunks; `bytes()` joins them. */
export class MemoryWriter implements FileWriter {
  /** The chunks in write order (sizes show how much a writer buffers). */
  readonly chunks: Uint8Array[] = [];
  closed = false;

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('write after close');
    this.chunks.push(bytes.slice());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** A FileSystemPort over `files` ('/'-joined paths) that records opens, reads and open handles. */
export class MemoryFs implements FileSystemPort {
  readonly files = new Map<string, Uint8Array>();
  /** Paths passed to `open`, in call order. */
  readonly opened: string[] = [];
  readonly reads: RecordedRead[] = [];
  /** Handles opened and not yet closed. */
  openHandles = 0;

  constructor(files: Record<string, Uint8Array | string> = {}) {
    for (const [path, data] of Object.entries(files)) this.put(path, data);
  }

  put(path: string, data: Uint8Array | string): void {
    this.files.set(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }

  async open(path: string): Promise<RandomAccessReader> {
    const bytes = this.get(path);
    this.opened.push(path);
    this.openHandles++;
    const inner = memoryReader(bytes, path, (offset, length) => this.reads.push({ path, offset, length }));
    let closed = false;
    return {
      ...inner,
      close: async () => {
        if (!closed) this.openHandles--;
        closed = true;
      },
    };
  }

  async readFile(path: string): Promise<Uint8Array> {
    return this.get(path).slice();
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(this.get(path));
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    this.put(path, data);
  }

  async createWriter(path: string): Promise<FileWriter> {
    const w = new MemoryWriter();
    const close = w.close.bind(w);
    w.close = async () => {
      await close();
      this.put(path, w.bytes());
    };
    return w;
  }

  async mkdirp(): Promise<void> {}

  async exists(path: string): Promise<boolean> {
    return this.files.has(path) || [...this.files.keys()].some((p) => p.startsWith(`${path}/`));
  }

  async rename(from: string, to: string): Promise<void> {
    this.put(to, this.get(from));
    this.files.delete(from);
  }

  async remove(path: string): Promise<void> {
    this.files.delete(path);
  }

  join(...parts: string[]): string {
    return parts
      .filter((p) => p !== '')
      .join('/')
      .replace(/\/+/g, '/');
  }

  private get(path: string): Uint8Array {
    const bytes = this.files.get(path);
    if (!bytes) throw new Error(`ENOENT: no such file '${path}'`);
    return bytes;
  }
}
