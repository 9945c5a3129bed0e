/**
 * The app's small stores on react-native-fs, under its data folder (Library/odsora): one JSON-lines event log per
 * run (`runs/<runId>.log`, replaced through a temporary file when recovery repairs it) with its metadata
 * (`runs/<runId>.json`), the paired keys and the pairing lockout (`pairing-keys.json`, `pairing-lockout.json`,
 * replaced through a temporary file), the device id and the settings (validated with zod on every read).
 */
import { z } from 'zod';
import {
  pairedKeyFileSchema,
  pairingLockoutSchema,
  type PairedKeyRecord,
  type PairingLockoutRecord,
  type PairingStore,
} from '../../../shared/companion/pairing';
import type { RunStore, StoredRunMeta } from '../../../shared/companion/server-ports';
import { budgetSchema } from '../../../shared/protocol/run';
import { mkdirp, removePath } from './rnfs-file-system';
import { joinPath, type RnfsLike } from './rnfs-like';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function runPath(dir: string, runId: string, ext: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`bad run id ${JSON.stringify(runId)}`);
  return joinPath(dir, `${runId}${ext}`);
}

/** Writes a small file by way of a temporary one, so a reader never sees half of it. */
async function replaceFile(fs: RnfsLike, path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await fs.writeFile(tmp, text, 'utf8');
  await removePath(fs, path);
  await fs.moveFile(tmp, path);
}

/** Reads a file written by {@link replaceFile} (falling back to its temporary if a crash came between). */
async function readReplaced(fs: RnfsLike, path: string): Promise<string | null> {
  if (await fs.exists(path)) return fs.readFile(path, 'utf8');
  if (await fs.exists(`${path}.tmp`)) return fs.readFile(`${path}.tmp`, 'utf8');
  return null;
}

const storedRunSchema = z.object({
  runId: z.string().regex(RUN_ID),
  clientId: z.string(),
  label: z.string().optional(),
  createdAtEpochMs: z.number().optional(),
});

/** Event logs and run metadata in `<data>/runs`. */
export class RnfsRunStore implements RunStore {
  private readonly dir: string;
  constructor(
    private readonly fs: RnfsLike,
    dataDir: string,
    private readonly epochMs: () => number = () => Date.now(),
  ) {
    this.dir = joinPath(dataDir, 'runs');
  }

  async appendLines(runId: string, lines: readonly string[]): Promise<void> {
    await mkdirp(this.fs, this.dir);
    await this.fs.appendFile(runPath(this.dir, runId, '.log'), lines.map((l) => `${l}\n`).join(''), 'utf8');
  }

  async readText(runId: string): Promise<string> {
    const path = runPath(this.dir, runId, '.log');
    // A repair the app died in, between removing the log and moving its replacement in: finish it first, or the
    // next append would start a new log beside it.
    if (!(await this.fs.exists(path)) && (await this.fs.exists(`${path}.tmp`)))
      await this.fs.moveFile(`${path}.tmp`, path);
    return (await this.fs.exists(path)) ? this.fs.readFile(path, 'utf8') : '';
  }

  async replaceLines(runId: string, lines: readonly string[]): Promise<void> {
    await mkdirp(this.fs, this.dir);
    await replaceFile(this.fs, runPath(this.dir, runId, '.log'), lines.map((l) => `${l}\n`).join(''));
  }

  async listRuns(): Promise<StoredRunMeta[]> {
    if (!(await this.fs.exists(this.dir))) return [];
    const out: { meta: StoredRunMeta; at: number }[] = [];
    for (const item of await this.fs.readDir(this.dir)) {
      if (!item.name.endsWith('.json')) continue;
      try {
        const raw = storedRunSchema.parse(JSON.parse(await this.fs.readFile(item.path, 'utf8')));
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
    await mkdirp(this.fs, this.dir);
    await this.fs.writeFile(
      runPath(this.dir, meta.runId, '.json'),
      JSON.stringify({ ...meta, createdAtEpochMs: this.epochMs() }),
      'utf8',
    );
  }
}

/**
 * Paired keys in `<data>/pairing-keys.json` and the wrong-code state in `pairing-lockout.json`; `onChange` fires after
 * every change of the keys (the status screen listens).
 */
export class RnfsPairingStore implements PairingStore {
  private readonly path: string;
  private readonly lockoutPath: string;
  onChange: (() => void) | null = null;

  constructor(
    private readonly fs: RnfsLike,
    private readonly dataDir: string,
  ) {
    this.path = joinPath(dataDir, 'pairing-keys.json');
    this.lockoutPath = joinPath(dataDir, 'pairing-lockout.json');
  }

  async loadLockout(): Promise<PairingLockoutRecord | null> {
    const text = await readReplaced(this.fs, this.lockoutPath);
    if (text === null) return null;
    const parsed = pairingLockoutSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(`${this.lockoutPath}: not a pairing lockout (${parsed.error.message})`);
    return parsed.data;
  }

  async saveLockout(record: PairingLockoutRecord): Promise<void> {
    await mkdirp(this.fs, this.dataDir);
    await replaceFile(this.fs, this.lockoutPath, JSON.stringify(record));
  }

  async list(): Promise<PairedKeyRecord[]> {
    const text = await readReplaced(this.fs, this.path);
    if (text === null) return [];
    const parsed = pairedKeyFileSchema.safeParse(JSON.parse(text));
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
    await mkdirp(this.fs, this.dataDir);
    await replaceFile(this.fs, this.path, JSON.stringify({ keys }));
    this.onChange?.();
  }
}

/** The device id in `<data>/device-id` (created once: stable across launches). */
export async function loadDeviceId(fs: RnfsLike, dataDir: string, fresh: () => string): Promise<string> {
  const path = joinPath(dataDir, 'device-id');
  if (await fs.exists(path)) {
    const id = (await fs.readFile(path, 'utf8')).trim();
    if (RUN_ID.test(id)) return id;
  }
  await mkdirp(fs, dataDir);
  const id = fresh();
  await fs.writeFile(path, `${id}\n`, 'utf8');
  return id;
}

/** What the settings screen edits. */
const phoneSettingsSchema = z.strictObject({
  /** The name studios see (Bonjour and device info). */
  deviceName: z.string().min(1).max(128),
  /** CI-DL budget for runs that name none (null: the engine's default, everything resident). */
  defaultBudget: budgetSchema.nullable(),
  /** Run on Core ML (the Neural Engine / GPU) with CPU fallback; off: CPU only. */
  coreml: z.boolean(),
  /** The installed block set runs use (null: the first installed). */
  activeModel: z.string().min(1).max(128).nullable(),
});

/** The app's settings. */
export type PhoneSettings = z.infer<typeof phoneSettingsSchema>;

/** Settings in `<data>/settings.json`. */
export class RnfsSettingsStore {
  private readonly path: string;
  constructor(
    private readonly fs: RnfsLike,
    private readonly dataDir: string,
  ) {
    this.path = joinPath(dataDir, 'settings.json');
  }

  /** The stored settings, or `defaults` where none are stored (a file that does not validate is reported). */
  async load(defaults: PhoneSettings): Promise<PhoneSettings> {
    const text = await readReplaced(this.fs, this.path);
    if (text === null) return defaults;
    const parsed = phoneSettingsSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(`${this.path}: bad settings (${parsed.error.issues[0]?.message ?? ''})`);
    return parsed.data;
  }

  async save(settings: PhoneSettings): Promise<void> {
    const checked = phoneSettingsSchema.parse(settings);
    await mkdirp(this.fs, this.dataDir);
    await replaceFile(this.fs, this.path, JSON.stringify(checked));
  }
}
