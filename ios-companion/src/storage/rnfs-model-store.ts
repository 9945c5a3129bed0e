/**
 * Block sets pushed by the studio (model sync): the host kit's `FileModelStore`
 * (shared/companion/host-kit/file-model-store.ts, which describes the layout, the same as the Node companion's) on
 * react-native-fs. Chunks that arrive in order are appended; react-native-fs cannot leave a gap, so a write past
 * the end of a staged file is refused, and it has no truncate, so a cut copies the kept bytes into a new file.
 * Hashes of staged files are computed natively (react-native-fs `hash`), never by pulling gigabytes through
 * JavaScript.
 */
import {
  FileModelStore,
  type ModelStoreFileSystem,
  type StoreDirEntry,
} from '../../../shared/companion/host-kit/file-model-store';
import { readRange, RnfsFileSystem, RNFS_IO_CHUNK_BYTES, toBase64 } from './rnfs-file-system';
import type { RnfsLike } from './rnfs-like';

export { SYNC_RECORD_FILE } from '../../../shared/companion/model-sync';

/** The app's file system with what the model store adds. */
export class RnfsModelFileSystem extends RnfsFileSystem implements ModelStoreFileSystem {
  async fileSize(path: string): Promise<number | null> {
    if (!(await this.fs.exists(path))) return null;
    const s = await this.fs.stat(path);
    return s.isFile() ? s.size : null;
  }

  async writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
    if (!(await this.fs.exists(path))) await this.fs.writeFile(path, '', 'base64');
    const size = (await this.fs.stat(path)).size;
    if (offset > size) throw new Error(`${path}: write at ${offset} past the staged ${size} bytes`);
    // -1 appends: the common case (chunks arrive in order).
    const append = offset === size;
    for (let at = 0; at < data.length; at += RNFS_IO_CHUNK_BYTES) {
      const piece = toBase64(data.subarray(at, at + RNFS_IO_CHUNK_BYTES));
      await this.fs.write(path, piece, append ? -1 : offset + at, 'base64');
    }
  }

  async truncate(path: string, length: number): Promise<void> {
    const size = (await this.fs.stat(path)).size;
    if (length >= size) return;
    // react-native-fs has no truncate: keep the first `length` bytes in a new file.
    const tmp = `${path}.truncating`;
    await this.fs.writeFile(tmp, '', 'base64');
    for (let at = 0; at < length; at += RNFS_IO_CHUNK_BYTES) {
      const piece = await readRange(this.fs, path, at, Math.min(RNFS_IO_CHUNK_BYTES, length - at));
      await this.fs.appendFile(tmp, toBase64(piece), 'base64');
    }
    await this.fs.unlink(path);
    await this.fs.moveFile(tmp, path);
  }

  async sha256File(path: string): Promise<string> {
    return (await this.fs.hash(path, 'sha256')).toLowerCase();
  }

  async listEntries(path: string): Promise<StoreDirEntry[]> {
    return (await this.fs.readDir(path)).map((item) => ({
      name: item.name,
      isDirectory: item.isDirectory(),
      mtimeMs: item.mtime?.getTime() ?? 0,
    }));
  }

  async freeBytes(): Promise<number> {
    return (await this.fs.getFSInfo()).freeSpace;
  }
}

/** The model store of the app, under `root`. */
export class RnfsModelStore extends FileModelStore {
  constructor(rnfs: RnfsLike, root: string) {
    super(new RnfsModelFileSystem(rnfs), root);
  }
}
