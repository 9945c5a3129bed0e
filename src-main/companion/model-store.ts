/**
 * The Node companion's block-set store for model sync: the host kit's `FileModelStore`
 * (shared/companion/host-kit/file-model-store.ts, which describes the layout) on Node's file system, under one root
 * (`<data>/blocksets` by default). An installed set `<root>/<name>/` opens with `odsora companion --models
 * <root>/<name>` or `odsora run --model …`. Staged chunks are written in place and fsynced; files are hashed as a
 * stream; commit is a rename (atomic on one file system).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat, statfs, truncate } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  FileModelStore,
  type ModelStoreFileSystem,
  type StoreDirEntry,
} from '../../shared/companion/host-kit/file-model-store';
import { NodeFileSystem } from '../adapters/node-fs';

export { SYNC_RECORD_FILE } from '../../shared/companion/model-sync';

/** Node's file system with what the model store adds (positional durable writes, streamed hashes, statfs). */
export class NodeModelFileSystem extends NodeFileSystem implements ModelStoreFileSystem {
  async fileSize(path: string): Promise<number | null> {
    try {
      const s = await stat(path);
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  }

  async writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
    const fh = await open(path, (await this.exists(path)) ? 'r+' : 'w');
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  async truncate(path: string, length: number): Promise<void> {
    if ((await stat(path)).size > length) await truncate(path, length);
  }

  async sha256File(path: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async listEntries(path: string): Promise<StoreDirEntry[]> {
    const out: StoreDirEntry[] = [];
    for (const name of await readdir(path)) {
      const s = await stat(join(path, name)); // follows a link, as reading through it would
      out.push({ name, isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs });
    }
    return out;
  }

  async freeBytes(path: string): Promise<number> {
    await mkdir(path, { recursive: true });
    const s = await statfs(path);
    return Number(s.bavail) * Number(s.bsize);
  }
}

/** Block sets pushed over model sync, under `root` (resolved). */
export function nodeModelStore(root: string): FileModelStore {
  return new FileModelStore(new NodeModelFileSystem(), resolve(root));
}
