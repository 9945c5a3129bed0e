/**
 * The Node companion's block-set store for model sync (shared/companion/model-sync.ts), under one root
 * (`<data>/blocksets` by default):
 *
 *   <root>/<name>/                         an installed block set (manifest.json + block files), openable with
 *                                          `odsora companion --models <root>/<name>` or `odsora run --model …`
 *   <root>/<name>/odsora-sync.json         what was pushed: name, model, manifestSha256, bytes, files + sha256
 *   <root>/.staging/<name>.<sha256>/       a transfer being received (kept across disconnects and restarts;
 *                                          removed once abandoned: ModelSyncLimits.abandonedPushMs)
 *   <root>/.replaced-*                     an older set being removed after a replace
 *
 * Commit is a rename of the staging folder into place (atomic on one file system); a replaced set is renamed
 * aside first and removed after. Every path is resolved and checked to stay inside its folder.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  statfs,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import {
  isSafeBlockSetPath,
  SYNC_RECORD_FILE,
  type InstalledBlockSetRecord,
  type ModelStore,
  type StagingKey,
} from '../../shared/companion/model-sync';

export { SYNC_RECORD_FILE } from '../../shared/companion/model-sync';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA = /^[0-9a-f]{64}$/;

/** Block sets pushed over model sync, on disk. */
export class FileModelStore implements ModelStore {
  readonly root: string;
  private readonly staging: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.staging = join(this.root, '.staging');
  }

  /** The folder of an installed set. */
  installedDir(name: string): string {
    if (!NAME.test(name)) throw new Error(`bad block-set name ${JSON.stringify(name)}`);
    return join(this.root, name);
  }

  private stagingDir(key: StagingKey): string {
    if (!NAME.test(key.name) || !SHA.test(key.manifestSha256))
      throw new Error(`bad staging key ${JSON.stringify(key)}`);
    return join(this.staging, `${key.name}.${key.manifestSha256}`);
  }

  private filePath(key: StagingKey, path: string): string {
    if (!isSafeBlockSetPath(path) || path === SYNC_RECORD_FILE)
      throw new Error(`unsafe block-set path ${JSON.stringify(path)}`);
    const dir = this.stagingDir(key);
    const full = resolve(dir, ...path.split('/'));
    if (!full.startsWith(dir + sep)) throw new Error(`${path} leaves the staging folder`);
    return full;
  }

  async begin(key: StagingKey): Promise<void> {
    await mkdir(this.stagingDir(key), { recursive: true });
  }

  async stagedBytes(key: StagingKey, path: string): Promise<number> {
    try {
      const s = await stat(this.filePath(key, path));
      return s.isFile() ? s.size : 0;
    } catch {
      return 0;
    }
  }

  async write(key: StagingKey, path: string, offset: number, data: Uint8Array): Promise<void> {
    const full = this.filePath(key, path);
    await mkdir(dirname(full), { recursive: true });
    const fh = await open(full, existsSync(full) ? 'r+' : 'w');
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

  async truncate(key: StagingKey, path: string, length: number): Promise<void> {
    const full = this.filePath(key, path);
    if (existsSync(full)) await truncate(full, length);
  }

  async sha256(key: StagingKey, path: string): Promise<string> {
    const full = this.filePath(key, path);
    const hash = createHash('sha256');
    if (!existsSync(full)) return hash.digest('hex');
    for await (const chunk of createReadStream(full)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async read(key: StagingKey, path: string, maxBytes: number): Promise<Uint8Array> {
    const full = this.filePath(key, path);
    const s = await stat(full);
    if (s.size > maxBytes) throw new Error(`${path} has ${s.size} bytes (at most ${maxBytes})`);
    return new Uint8Array(await readFile(full));
  }

  async commit(key: StagingKey, record: InstalledBlockSetRecord): Promise<void> {
    const from = this.stagingDir(key);
    const to = this.installedDir(record.name);
    await writeFile(join(from, SYNC_RECORD_FILE), JSON.stringify(record));
    let aside: string | null = null;
    if (existsSync(to)) {
      aside = join(this.root, `.replaced-${record.name}-${Date.now().toString(36)}`);
      await rename(to, aside);
    }
    try {
      await rename(from, to);
    } catch (e) {
      if (aside !== null) await rename(aside, to).catch(() => undefined);
      throw e;
    }
    if (aside !== null) await rm(aside, { recursive: true, force: true });
    // Other partial transfers of this name are superseded.
    if (existsSync(this.staging))
      for (const d of await readdir(this.staging))
        if (d.startsWith(`${record.name}.`) && SHA.test(d.slice(record.name.length + 1)))
          await rm(join(this.staging, d), { recursive: true, force: true });
  }

  async listInstalled(): Promise<InstalledBlockSetRecord[]> {
    if (!existsSync(this.root)) return [];
    const out: InstalledBlockSetRecord[] = [];
    for (const name of (await readdir(this.root)).sort()) {
      if (!NAME.test(name)) continue;
      try {
        const r = JSON.parse(
          await readFile(join(this.root, name, SYNC_RECORD_FILE), 'utf8'),
        ) as InstalledBlockSetRecord;
        if (r.name === name && SHA.test(r.manifestSha256) && Array.isArray(r.files)) out.push(r);
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
    for (const entry of existsSync(this.staging)
      ? await readdir(this.staging, { withFileTypes: true })
      : []) {
      const dot = entry.name.lastIndexOf('.');
      const key = { name: entry.name.slice(0, dot), manifestSha256: entry.name.slice(dot + 1) };
      if (!entry.isDirectory() || !NAME.test(key.name) || !SHA.test(key.manifestSha256)) continue;
      const dir = this.stagingDir(key);
      if (kept.has(dir) || now - (await newestWriteMs(dir)) < idleMs) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(key);
    }
    // A set moved aside by a replace the process died in.
    for (const name of existsSync(this.root) ? await readdir(this.root) : [])
      if (name.startsWith('.replaced-')) await rm(join(this.root, name), { recursive: true, force: true });
    return removed;
  }

  async availableBytes(): Promise<number | null> {
    try {
      await mkdir(this.root, { recursive: true });
      const s = await statfs(this.root);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return null;
    }
  }
}

/** The latest modification time (ms since the epoch) of a folder and everything in it. */
async function newestWriteMs(dir: string): Promise<number> {
  let newest = (await stat(dir)).mtimeMs;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestWriteMs(path) : (await stat(path)).mtimeMs);
  }
  return newest;
}
