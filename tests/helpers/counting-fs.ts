/**
 * A recording wrapper around the Node file-system adapter, used by the converter tests to prove that a
 * checkpoint is streamed tensor by tensor rather than read whole.
 *
 * `countingFs(base)` returns a `FileSystemPort` that behaves exactly like `base`, except that:
 * - every `read(offset, length)` on a handle from `open` pushes its `length` onto `reads`, and
 * - every `readFile(path)` pushes its `path` onto `wholeFiles`.
 *
 * A streaming converter should leave `wholeFiles` empty and never issue a read larger than its largest tensor.
 */
import type { NodeFileSystem } from '../../src-main/adapters/node-fs';
import type { FileSystemPort } from '../../shared/engine/ports';

export interface CountingFs {
  /** The wrapped port to hand to the code under test. */
  fs: FileSystemPort;
  /** The byte length of each `read` on an opened handle, in call order. */
  reads: number[];
  /** The path of each whole-file `readFile`, in call order. */
  wholeFiles: string[];
}

/** Wraps `base` so that handle reads and whole-file reads are recorded (see the module comment). */
export function countingFs(base: NodeFileSystem): CountingFs {
  const reads: number[] = [];
  const wholeFiles: string[] = [];
  const fs: FileSystemPort = Object.assign(Object.create(base) as NodeFileSystem, {
    open: async (path: string) => {
      const r = await base.open(path);
      return {
        ...r,
        name: r.name,
        size: () => r.size(),
        close: () => r.close(),
        read: (o: number, n: number) => (reads.push(n), r.read(o, n)),
      };
    },
    readFile: async (path: string) => (wholeFiles.push(path), base.readFile(path)),
  });
  return { fs, reads, wholeFiles };
}
