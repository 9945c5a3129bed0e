/**
 * Block sets pushed by the studio (model sync, shared/companion/model-sync.ts) on react-native-fs, laid out like the
 * Node companion's store:
 *
 *   <root>/<name>/                    an installed block set (manifest.json + block files) the engine opens
 *   <root>/<name>/odsora-sync.json    what was pushed: name, model, manifestSha256, bytes, files + sha256
 *   <root>/.staging/<name>.<sha256>/  a transfer being received (kept across disconnects and launches; removed
 *                                     once abandoned: ModelSyncLimits.abandonedPushMs)
 *
 * Commit moves the staging folder into place (a replaced set is moved aside first, then removed). Hashes of staged
 * files are computed natively (react-native-fs `hash`), never by pulling gigabytes through JavaScript. The app adds
 * `remove` (the models screen's delete).
 */
import { z } from 'zod';
import {
  isSafeBlockSetPath,
  SYNC_RECORD_FILE,
  type InstalledBlockSetRecord,
  type ModelStore,
  type StagingKey,
} from '../../../shared/companion/model-sync';
import { fromBase64, mkdirp, readRange, removePath, toBase64, RNFS_IO_CHUNK_BYTES } from './rnfs-file-system';
import { dirnameOf, joinPath, type RnfsDirItem, type RnfsLike } from './rnfs-like';

export { SYNC_RECORD_FILE } from '../../../shared/companion/model-sync';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA = /^[0-9a-f]{64}$/;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const recordSchema = z.object({
  name: z.string().regex(NAME),
  model: z.string(),
  manifestSha256: z.string().regex(SHA),
  bytes: z.number().int().nonnegative(),
  files: z.array(
    z.object({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(SHA) }),
  ),
});

/** The model store of the app. */
export class RnfsModelStore implements ModelStore {
  private readonly staging: string;

  constructor(
    private readonly fs: RnfsLike,
    readonly root: string,
  ) {
    this.staging = joinPath(root, '.staging');
  }

  /** The folder of an installed set. */
  installedDir(name: string): string {
    if (!NAME.test(name)) throw new Error(`bad block-set name ${JSON.stringify(name)}`);
    return joinPath(this.root, name);
  }

  private stagingDir(key: StagingKey): string {
    if (!NAME.test(key.name) || !SHA.test(key.manifestSha256))
      throw new Error(`bad staging key ${JSON.stringify(key)}`);
    return joinPath(this.staging, `${key.name}.${key.manifestSha256}`);
  }

  private filePath(key: StagingKey, path: string): string {
    if (!isSafeBlockSetPath(path) || path === SYNC_RECORD_FILE)
      throw new Error(`unsafe block-set path ${JSON.stringify(path)}`);
    return joinPath(this.stagingDir(key), path);
  }

  async begin(key: StagingKey): Promise<void> {
    await mkdirp(this.fs, this.stagingDir(key));
  }

  async stagedBytes(key: StagingKey, path: string): Promise<number> {
    const full = this.filePath(key, path);
    if (!(await this.fs.exists(full))) return 0;
    const s = await this.fs.stat(full);
    return s.isFile() ? s.size : 0;
  }

  async write(key: StagingKey, path: string, offset: number, data: Uint8Array): Promise<void> {
    const full = this.filePath(key, path);
    await mkdirp(this.fs, dirnameOf(full));
    if (!(await this.fs.exists(full))) await this.fs.writeFile(full, '', 'base64');
    const size = (await this.fs.stat(full)).size;
    if (offset > size) throw new Error(`${path}: write at ${offset} past the staged ${size} bytes`);
    // -1 appends: the common case (chunks arrive in order).
    const append = offset === size;
    for (let at = 0; at < data.length; at += RNFS_IO_CHUNK_BYTES) {
      const piece = toBase64(data.subarray(at, at + RNFS_IO_CHUNK_BYTES));
      await this.fs.write(full, piece, append ? -1 : offset + at, 'base64');
    }
  }

  async truncate(key: StagingKey, path: string, length: number): Promise<void> {
    const full = this.filePath(key, path);
    if (!(await this.fs.exists(full))) return;
    const size = (await this.fs.stat(full)).size;
    if (length >= size) return;
    // react-native-fs has no truncate: keep the first `length` bytes in a new file.
    const tmp = `${full}.truncating`;
    await this.fs.writeFile(tmp, '', 'base64');
    for (let at = 0; at < length; at += RNFS_IO_CHUNK_BYTES) {
      const piece = await readRange(this.fs, full, at, Math.min(RNFS_IO_CHUNK_BYTES, length - at));
      await this.fs.appendFile(tmp, toBase64(piece), 'base64');
    }
    await this.fs.unlink(full);
    await this.fs.moveFile(tmp, full);
  }

  async sha256(key: StagingKey, path: string): Promise<string> {
    const full = this.filePath(key, path);
    if (!(await this.fs.exists(full))) return EMPTY_SHA256;
    return (await this.fs.hash(full, 'sha256')).toLowerCase();
  }

  async read(key: StagingKey, path: string, maxBytes: number): Promise<Uint8Array> {
    const full = this.filePath(key, path);
    const size = (await this.fs.stat(full)).size;
    if (size > maxBytes) throw new Error(`${path} has ${size} bytes (at most ${maxBytes})`);
    return fromBase64(await this.fs.readFile(full, 'base64'));
  }

  async commit(key: StagingKey, record: InstalledBlockSetRecord): Promise<void> {
    const from = this.stagingDir(key);
    const to = this.installedDir(record.name);
    await this.fs.writeFile(joinPath(from, SYNC_RECORD_FILE), JSON.stringify(record), 'utf8');
    let aside: string | null = null;
    if (await this.fs.exists(to)) {
      aside = joinPath(this.root, `.replaced-${record.name}-${Date.now().toString(36)}`);
      await this.fs.moveFile(to, aside);
    }
    try {
      await this.fs.moveFile(from, to);
    } catch (e) {
      if (aside !== null) await this.fs.moveFile(aside, to).catch(() => undefined);
      throw e;
    }
    if (aside !== null) await removePath(this.fs, aside);
    // Other partial transfers of this name are superseded.
    if (await this.fs.exists(this.staging))
      for (const d of await this.fs.readDir(this.staging))
        if (d.name.startsWith(`${record.name}.`) && SHA.test(d.name.slice(record.name.length + 1)))
          await removePath(this.fs, d.path);
  }

  async listInstalled(): Promise<InstalledBlockSetRecord[]> {
    if (!(await this.fs.exists(this.root))) return [];
    const out: InstalledBlockSetRecord[] = [];
    const items = (await this.fs.readDir(this.root)).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const item of items) {
      if (!NAME.test(item.name) || !item.isDirectory()) continue;
      try {
        const r = recordSchema.parse(
          JSON.parse(await this.fs.readFile(joinPath(item.path, SYNC_RECORD_FILE), 'utf8')),
        );
        if (r.name === item.name) out.push(r);
      } catch {
        // not a pushed set (or a torn record): not listed
      }
    }
    return out;
  }

  async sweepStaging(idleMs: number, keep: readonly StagingKey[]): Promise<StagingKey[]> {
    const removed: StagingKey[] = [];
    const kept = new Set(keep.map((k) => this.stagingDir(k)));
    const now = Date.now();
    for (const item of (await this.fs.exists(this.staging)) ? await this.fs.readDir(this.staging) : []) {
      const dot = item.name.lastIndexOf('.');
      const key = { name: item.name.slice(0, dot), manifestSha256: item.name.slice(dot + 1) };
      if (!item.isDirectory() || !NAME.test(key.name) || !SHA.test(key.manifestSha256)) continue;
      const dir = this.stagingDir(key);
      if (kept.has(dir) || now - (await this.newestWriteMs(item)) < idleMs) continue;
      await removePath(this.fs, dir);
      removed.push(key);
    }
    // A set moved aside by a replace the app died in.
    for (const item of (await this.fs.exists(this.root)) ? await this.fs.readDir(this.root) : [])
      if (item.name.startsWith('.replaced-')) await removePath(this.fs, item.path);
    return removed;
  }

  /** The latest modification time of a folder and everything in it (0 where the platform gives none). */
  private async newestWriteMs(dir: RnfsDirItem): Promise<number> {
    let newest = dir.mtime?.getTime() ?? 0;
    for (const item of await this.fs.readDir(dir.path))
      newest = Math.max(
        newest,
        item.isDirectory() ? await this.newestWriteMs(item) : (item.mtime?.getTime() ?? 0),
      );
    return newest;
  }

  async availableBytes(): Promise<number | null> {
    try {
      return (await this.fs.getFSInfo()).freeSpace;
    } catch {
      return null;
    }
  }

  /** Deletes an installed set (false: none of that name). */
  async remove(name: string): Promise<boolean> {
    const dir = this.installedDir(name);
    if (!(await this.fs.exists(dir))) return false;
    await this.fs.unlink(dir);
    return true;
  }
}
