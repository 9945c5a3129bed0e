/**
 * The companion's small file stores, written once over the engine's file-system port and run by every host with
 * its own adapter (Node: src-main/adapters/node-fs.ts; the iPhone: ios-companion/src/storage/rnfs-file-system.ts).
 * Under a host's data folder:
 *
 * - `runs/<runId>.log` — one JSON-lines event log per run, appended (durably where the host can: Node fsyncs and
 *   cuts a failed append back); a repair replaces it whole.
 * - `runs/<runId>.json` — the run's metadata, for restoring runs after a restart (a torn one skips the run).
 * - `pairing-keys.json` — the paired keys (secret: owner-only where the host has permissions), and
 *   `pairing-lockout.json` — the wrong-code state, so a restart does not lift it. Both validated with the pairing
 *   schemas on every read: a file that is not one (torn, edited) is an error naming it, never keys taken on trust.
 * - `device-id` — created once, stable across restarts.
 *
 * Whole files are replaced through `<name>.tmp`: written and flushed, then renamed over the old one, so a reader
 * never sees half a file. Where the host's rename is not atomic (react-native-fs removes, then moves), a crash
 * between the two leaves only the `.tmp`: reads fall back to it when it is complete, and the event log's repair is
 * finished before the log is read.
 */
import { z } from 'zod';
import type { FileSystemPort } from '../../engine/ports';
import {
  pairedKeyFileSchema,
  pairingLockoutSchema,
  type PairedKeyRecord,
  type PairingLockoutRecord,
  type PairingStore,
} from '../pairing';
import type { RunStore, StoredRunMeta } from '../server-ports';

/** What the stores need from a host's file system beyond the engine's port. */
export interface StoreFileSystem extends FileSystemPort {
  /**
   * Appends text to a file, creating it; flushed to storage before it resolves where the host can, and a failed
   * append leaves none of its text behind (a retry would be glued onto half a line).
   */
  appendText(path: string, text: string): Promise<void>;
  /** Names of the entries of an existing folder. */
  listNames(path: string): Promise<string[]>;
  /**
   * Writes a whole file (replacing it), flushed to storage before it resolves where the host can, creating its
   * folder. `secret`: readable by this user only where the host has permissions (Node: mode 0600 in a 0700 folder).
   */
  writeDurable(path: string, text: string, options?: { secret?: boolean }): Promise<void>;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function runPath(fs: StoreFileSystem, dir: string, runId: string, ext: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`bad run id ${JSON.stringify(runId)}`);
  return fs.join(dir, `${runId}${ext}`);
}

/** Replaces a small file through `<path>.tmp` (see the module comment). */
export async function replaceText(
  fs: StoreFileSystem,
  path: string,
  text: string,
  options: { secret?: boolean } = {},
): Promise<void> {
  const tmp = `${path}.tmp`;
  await fs.writeDurable(tmp, text, options);
  await fs.rename(tmp, path);
}

/**
 * Reads a JSON file written by {@link replaceText} and checks it against `schema`; null when there is none. A file
 * that is not JSON or not of the schema is an error `<path>: <refusal> (<why>)`, e.g. `not a pairing-key file`. A `.tmp` is read only where the
 * file itself is missing (a replacement cut between remove and move) and only when it is complete: a torn one is
 * a first write that never finished, so nothing is stored.
 */
export async function readJsonFile<T>(
  fs: StoreFileSystem,
  path: string,
  schema: z.ZodType<T>,
  refusal: string,
): Promise<T | null> {
  const parse = (text: string, at: string): T => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${at}: ${refusal} (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new Error(`${at}: ${refusal} (${parsed.error.message})`);
    return parsed.data;
  };
  if (await fs.exists(path)) return parse(await fs.readText(path), path);
  const tmp = `${path}.tmp`;
  if (!(await fs.exists(tmp))) return null;
  try {
    return parse(await fs.readText(tmp), tmp);
  } catch {
    return null;
  }
}

const storedRunSchema = z.object({
  runId: z.string().regex(RUN_ID),
  clientId: z.string(),
  label: z.string().optional(),
  createdAtEpochMs: z.number().optional(),
});

/** Event logs and run metadata in `<data>/runs`. */
export class FileRunStore implements RunStore {
  private readonly dir: string;
  constructor(
    private readonly fs: StoreFileSystem,
    dataDir: string,
    private readonly epochMs: () => number = () => Date.now(),
  ) {
    this.dir = fs.join(dataDir, 'runs');
  }

  async appendLines(runId: string, lines: readonly string[]): Promise<void> {
    await this.fs.mkdirp(this.dir);
    await this.fs.appendText(runPath(this.fs, this.dir, runId, '.log'), lines.map((l) => `${l}\n`).join(''));
  }

  async readText(runId: string): Promise<string> {
    const path = runPath(this.fs, this.dir, runId, '.log');
    // A repair the host died in, between removing the log and moving its replacement in: finish it first, or the
    // next append would start a new log beside it.
    if (!(await this.fs.exists(path)) && (await this.fs.exists(`${path}.tmp`)))
      await this.fs.rename(`${path}.tmp`, path);
    return (await this.fs.exists(path)) ? this.fs.readText(path) : '';
  }

  async replaceLines(runId: string, lines: readonly string[]): Promise<void> {
    await this.fs.mkdirp(this.dir);
    await replaceText(
      this.fs,
      runPath(this.fs, this.dir, runId, '.log'),
      lines.map((l) => `${l}\n`).join(''),
    );
  }

  async listRuns(): Promise<StoredRunMeta[]> {
    if (!(await this.fs.exists(this.dir))) return [];
    const out: { meta: StoredRunMeta; at: number }[] = [];
    for (const name of await this.fs.listNames(this.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const raw = storedRunSchema.parse(JSON.parse(await this.fs.readText(this.fs.join(this.dir, name))));
        out.push({
          meta: {
            runId: raw.runId,
            clientId: raw.clientId,
            ...(raw.label !== undefined ? { label: raw.label } : {}),
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
    await this.fs.mkdirp(this.dir);
    await this.fs.writeFile(
      runPath(this.fs, this.dir, meta.runId, '.json'),
      JSON.stringify({ ...meta, createdAtEpochMs: this.epochMs() }),
    );
  }
}

/**
 * Paired keys in `<data>/pairing-keys.json` (secret) and the wrong-code state in `pairing-lockout.json`; `onChange`
 * fires after every change of the keys (the phone's status screen listens).
 */
export class FilePairingStore implements PairingStore {
  private readonly path: string;
  private readonly lockoutPath: string;
  onChange: (() => void) | null = null;

  constructor(
    private readonly fs: StoreFileSystem,
    dataDir: string,
  ) {
    this.path = fs.join(dataDir, 'pairing-keys.json');
    this.lockoutPath = fs.join(dataDir, 'pairing-lockout.json');
  }

  loadLockout(): Promise<PairingLockoutRecord | null> {
    return readJsonFile(this.fs, this.lockoutPath, pairingLockoutSchema, 'not a pairing lockout');
  }

  async saveLockout(record: PairingLockoutRecord): Promise<void> {
    await replaceText(this.fs, this.lockoutPath, JSON.stringify(record), { secret: true });
  }

  /** Every paired key; a file that is not a pairing-key file is an error naming it. */
  async list(): Promise<PairedKeyRecord[]> {
    const file = await readJsonFile(this.fs, this.path, pairedKeyFileSchema, 'not a pairing-key file');
    return file === null ? [] : file.keys;
  }

  async put(record: PairedKeyRecord): Promise<void> {
    const keys = (await this.list()).filter((r) => r.keyId !== record.keyId);
    await this.write([...keys, record]);
  }

  async remove(keyId: string): Promise<void> {
    await this.write((await this.list()).filter((r) => r.keyId !== keyId));
  }

  private async write(keys: PairedKeyRecord[]): Promise<void> {
    await replaceText(this.fs, this.path, JSON.stringify({ keys }), { secret: true });
    this.onChange?.();
  }
}

/** The device id in `<data>/device-id` (created once: stable across restarts). */
export async function loadDeviceId(
  fs: StoreFileSystem,
  dataDir: string,
  fresh: () => string,
): Promise<string> {
  const path = fs.join(dataDir, 'device-id');
  if (await fs.exists(path)) {
    const id = (await fs.readText(path)).trim();
    if (RUN_ID.test(id)) return id;
  }
  const id = fresh();
  await fs.writeDurable(path, `${id}\n`, { secret: true });
  return id;
}
