/**
 * File stores of the Node companion under its data directory: one JSON-lines event log per run
 * (`runs/<runId>.log`, appended with fsync; a failed append is cut back, a repair replaces it atomically), run
 * metadata (`runs/<runId>.json`), the paired keys (`pairing-keys.json`, mode 0600, rewritten atomically) and the
 * pairing lockout (`pairing-lockout.json`, so a restart does not lift it).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  pairedKeyFileSchema,
  pairingLockoutSchema,
  type PairedKeyRecord,
  type PairingLockoutRecord,
  type PairingStore,
} from '../../shared/companion/pairing';
import type { RunStore, StoredRunMeta } from '../../shared/companion/server';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function runPath(dir: string, runId: string, ext: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`bad run id ${JSON.stringify(runId)}`);
  return join(dir, `${runId}${ext}`);
}

/** Event logs and run metadata in `<data>/runs`. */
export class FileRunStore implements RunStore {
  private readonly dir: string;
  constructor(dataDir: string) {
    this.dir = join(dataDir, 'runs');
  }

  async appendLines(runId: string, lines: readonly string[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const fh = await open(runPath(this.dir, runId, '.log'), 'a');
    try {
      const before = (await fh.stat()).size;
      try {
        await fh.appendFile(lines.map((l) => `${l}\n`).join(''));
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

  async readText(runId: string): Promise<string> {
    const path = runPath(this.dir, runId, '.log');
    if (!existsSync(path)) return '';
    return readFile(path, 'utf8');
  }

  async replaceLines(runId: string, lines: readonly string[]): Promise<void> {
    const path = runPath(this.dir, runId, '.log');
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(lines.map((l) => `${l}\n`).join(''));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  }

  async listRuns(): Promise<StoredRunMeta[]> {
    if (!existsSync(this.dir)) return [];
    const out: { meta: StoredRunMeta; at: number }[] = [];
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const raw = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as StoredRunMeta & {
          createdAtEpochMs?: number;
        };
        if (typeof raw.runId !== 'string' || !RUN_ID.test(raw.runId) || typeof raw.clientId !== 'string')
          continue;
        out.push({
          meta: {
            runId: raw.runId,
            clientId: raw.clientId,
            ...(typeof raw.label === 'string' ? { label: raw.label } : {}),
          },
          at: raw.createdAtEpochMs ?? 0,
        });
      } catch {
        // a torn metadata file: skip the run
      }
    }
    return out.sort((a, b) => a.at - b.at).map((o) => o.meta);
  }

  async saveRun(meta: StoredRunMeta): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(
      runPath(this.dir, meta.runId, '.json'),
      JSON.stringify({ ...meta, createdAtEpochMs: Date.now() }),
    );
  }
}

/** Paired keys in `<data>/pairing-keys.json` (secret: mode 0600), the wrong-code state in `pairing-lockout.json`. */
export class FilePairingStore implements PairingStore {
  private readonly path: string;
  private readonly lockoutPath: string;
  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, 'pairing-keys.json');
    this.lockoutPath = join(dataDir, 'pairing-lockout.json');
  }

  async loadLockout(): Promise<PairingLockoutRecord | null> {
    if (!existsSync(this.lockoutPath)) return null;
    const parsed = pairingLockoutSchema.safeParse(JSON.parse(await readFile(this.lockoutPath, 'utf8')));
    if (!parsed.success)
      throw new Error(`${this.lockoutPath}: not a pairing lockout (${parsed.error.message})`);
    return parsed.data;
  }

  async saveLockout(record: PairingLockoutRecord): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.lockoutPath}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(record));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.lockoutPath);
  }

  async list(): Promise<PairedKeyRecord[]> {
    if (!existsSync(this.path)) return [];
    const parsed = pairedKeyFileSchema.safeParse(JSON.parse(await readFile(this.path, 'utf8')));
    if (!parsed.success) throw new Error(`${this.path}: not a pairing-key file (${parsed.error.message})`);
    return parsed.data.keys;
  }

  async put(record: PairedKeyRecord): Promise<void> {
    const keys = (await this.list()).filter((r) => r.keyId !== record.keyId);
    await this.write([...keys, record]);
  }

  async remove(keyId: string): Promise<void> {
    await this.write((await this.list()).filter((r) => r.keyId !== keyId));
  }

  private async write(keys: PairedKeyRecord[]): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify({ keys }), { mode: 0o600 });
    await rename(tmp, this.path);
  }
}

/** The device id kept in `<data>/device-id` (created once: stable across restarts). */
export async function loadDeviceId(dataDir: string, fresh: () => string): Promise<string> {
  const path = join(dataDir, 'device-id');
  if (existsSync(path)) {
    const id = (await readFile(path, 'utf8')).trim();
    if (RUN_ID.test(id)) return id;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const id = fresh();
  await writeFile(path, `${id}\n`);
  return id;
}
