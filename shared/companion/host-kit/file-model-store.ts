/**
 * The companion's block-set store for model sync (shared/companion/model-sync.ts), written once over a host's file
 * system (`ModelStoreFileSystem`: the stores' file system plus the few calls a multi-gigabyte transfer needs) and
 * run by every host with its own adapter (Node: src-main/companion/model-store.ts; the iPhone:
 * ios-companion/src/storage/rnfs-model-store.ts). Under one root:
 *
 *   <root>/<name>/                    an installed block set (manifest.json + block files) the engine opens
 *   <root>/<name>/odsora-sync.json    what was pushed: name, model, manifestSha256, bytes, files + sha256
 *   <root>/.staging/<name>.<sha256>/  a transfer being received (kept across disconnects and restarts; removed
 *                                     once abandoned: ModelSyncLimits.abandonedPushMs)
 *   <root>/.replaced-*                an older set being removed after a replace
 *
 * Commit renames the staging folder into place (atomic on one file system); a replaced set is renamed aside first
 * and removed after. Staged paths are `isSafeBlockSetPath` paths (`[A-Za-z0-9._-]` segments, never `.` or `..`)
 * joined under their staging folder, so none leaves it.
 */
import { z } from 'zod';
import {
  isSafeBlockSetPath,
  SYNC_RECORD_FILE,
  type InstalledBlockSetRecord,
  type ModelStore,
  type StagingKey,
} from '../model-store';
import type { StoreFileSystem } from './file-stores';

/** One entry of a folder, as the model store reads it. */
export interface StoreDirEntry {
  readonly name: string;
  readonly isDirectory: boolean;
  /** Last modification, ms since the epoch (0 where the platform gives none). */
  readonly mtimeMs: number;
}

/** What the model store needs from a host's file system beyond the other stores' (`StoreFileSystem`). */
export interface ModelStoreFileSystem extends StoreFileSystem {
  /** The size of the file at `path`; null where there is none (missing, or a folder). */
  fileSize(path: string): Promise<number | null>;
  /**
   * Writes `data` at `offset` of a file (its folder exists), creating it; flushed to storage before it resolves
   * where the host can. A host that cannot leave a gap refuses an offset past the end of the file, naming it.
   */
  writeAt(path: string, offset: number, data: Uint8Array): Promise<void>;
  /** Cuts an existing file to `length` bytes (a longer length leaves it as it is). */
  truncate(path: string, length: number): Promise<void>;
  /** SHA-256 (lowercase hex) of an existing file, hashed natively or streamed: never read whole into memory. */
  sha256File(path: string): Promise<string>;
  /** The entries of an existing folder. */
  listEntries(path: string): Promise<StoreDirEntry[]>;
  /** Free bytes where `path` lives (creating the folder where the host needs it to ask). */
  freeBytes(path: string): Promise<number>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA = /^[0-9a-f]{64}$/;
/** SHA-256 of no bytes: a file not staged yet. */
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

/** Block sets pushed over model sync, under `root` (see the module comment). */
export class FileModelStore implements ModelStore {
  private readonly staging: string;

  constructor(
    private readonly fs: ModelStoreFileSystem,
    readonly root: string,
  ) {
    this.staging = fs.join(root, '.staging');
  }

  /** The folder of an installed set. */
  installedDir(name: string): string {
    if (!NAME.test(name)) throw new Error(`bad block-set name ${JSON.stringify(name)}`);
    return this.fs.join(this.root, name);
  }

  private stagingDir(key: StagingKey): string {
    if (!NAME.test(key.name) || !SHA.test(key.manifestSha256))
      throw new Error(`bad staging key ${JSON.stringify(key)}`);
    return this.fs.join(this.staging, `${key.name}.${key.manifestSha256}`);
  }

  /** The staged file of `path` and its folder. */
  private staged(key: StagingKey, path: string): { file: string; dir: string } {
    if (!isSafeBlockSetPath(path) || path === SYNC_RECORD_FILE)
      throw new Error(`unsafe block-set path ${JSON.stringify(path)}`);
    const segments = path.split('/');
    const dir = this.fs.join(this.stagingDir(key), ...segments.slice(0, -1));
    return { file: this.fs.join(dir, segments[segments.length - 1]!), dir };
  }

  async begin(key: StagingKey): Promise<void> {
    await this.fs.mkdirp(this.stagingDir(key));
  }

  async stagedBytes(key: StagingKey, path: string): Promise<number> {
    return (await this.fs.fileSize(this.staged(key, path).file)) ?? 0;
  }

  async write(key: StagingKey, path: string, offset: number, data: Uint8Array): Promise<void> {
    const { file, dir } = this.staged(key, path);
    await this.fs.mkdirp(dir);
    await this.fs.writeAt(file, offset, data);
  }

  async truncate(key: StagingKey, path: string, length: number): Promise<void> {
    const { file } = this.staged(key, path);
    if ((await this.fs.fileSize(file)) !== null) await this.fs.truncate(file, length);
  }

  async sha256(key: StagingKey, path: string): Promise<string> {
    const { file } = this.staged(key, path);
    return (await this.fs.fileSize(file)) === null ? EMPTY_SHA256 : this.fs.sha256File(file);
  }

  async read(key: StagingKey, path: string, maxBytes: number): Promise<Uint8Array> {
    const { file } = this.staged(key, path);
    const size = await this.fs.fileSize(file);
    if (size === null) throw new Error(`${path} is not staged`);
    if (size > maxBytes) throw new Error(`${path} has ${size} bytes (at most ${maxBytes})`);
    return this.fs.readFile(file);
  }

  async commit(key: StagingKey, record: InstalledBlockSetRecord): Promise<void> {
    const from = this.stagingDir(key);
    const to = this.installedDir(record.name);
    await this.fs.writeFile(this.fs.join(from, SYNC_RECORD_FILE), JSON.stringify(record));
    let aside: string | null = null;
    if (await this.fs.exists(to)) {
      aside = this.fs.join(this.root, `.replaced-${record.name}-${Date.now().toString(36)}`);
      await this.fs.rename(to, aside);
    }
    try {
      await this.fs.rename(from, to);
    } catch (e) {
      if (aside !== null) await this.fs.rename(aside, to).catch(() => undefined);
      throw e;
    }
    if (aside !== null) await this.fs.remove(aside);
    // Other partial transfers of this name are superseded.
    if (await this.fs.exists(this.staging))
      for (const d of await this.fs.listNames(this.staging))
        if (d.startsWith(`${record.name}.`) && SHA.test(d.slice(record.name.length + 1)))
          await this.fs.remove(this.fs.join(this.staging, d));
  }

  async listInstalled(): Promise<InstalledBlockSetRecord[]> {
    if (!(await this.fs.exists(this.root))) return [];
    const out: InstalledBlockSetRecord[] = [];
    const entries = (await this.fs.listEntries(this.root)).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (!NAME.test(entry.name) || !entry.isDirectory) continue;
      try {
        const path = this.fs.join(this.root, entry.name, SYNC_RECORD_FILE);
        const r = recordSchema.parse(JSON.parse(await this.fs.readText(path)));
        if (r.name === entry.name) out.push(r);
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
    for (const entry of (await this.fs.exists(this.staging)) ? await this.fs.listEntries(this.staging) : []) {
      const dot = entry.name.lastIndexOf('.');
      const key = { name: entry.name.slice(0, dot), manifestSha256: entry.name.slice(dot + 1) };
      if (!entry.isDirectory || !NAME.test(key.name) || !SHA.test(key.manifestSha256)) continue;
      const dir = this.stagingDir(key);
      if (kept.has(dir) || now - (await this.newestWriteMs(dir, entry)) < idleMs) continue;
      await this.fs.remove(dir);
      removed.push(key);
    }
    // A set moved aside by a replace the host died in.
    for (const name of (await this.fs.exists(this.root)) ? await this.fs.listNames(this.root) : [])
      if (name.startsWith('.replaced-')) await this.fs.remove(this.fs.join(this.root, name));
    return removed;
  }

  /** The latest modification time of a folder and everything in it. */
  private async newestWriteMs(path: string, entry: StoreDirEntry): Promise<number> {
    let newest = entry.mtimeMs;
    for (const inner of await this.fs.listEntries(path)) {
      const innerPath = this.fs.join(path, inner.name);
      newest = Math.max(
        newest,
        inner.isDirectory ? await this.newestWriteMs(innerPath, inner) : inner.mtimeMs,
      );
    }
    return newest;
  }

  async availableBytes(): Promise<number | null> {
    try {
      return await this.fs.freeBytes(this.root);
    } catch {
      return null;
    }
  }

  /** Deletes an installed set (false: none of that name). */
  async remove(name: string): Promise<boolean> {
    const dir = this.installedDir(name);
    if (!(await this.fs.exists(dir))) return false;
    await this.fs.remove(dir);
    return true;
  }
}
