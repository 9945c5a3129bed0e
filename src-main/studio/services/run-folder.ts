/**
 * A run on disk: `runs/<runId>/run.json` (versioned metadata, rewritten atomically), `runs/<runId>/events.jsonl`
 * (one `{"seq":N,"event":{...}}` per line, appended in seq order as events arrive; writes are batched while one
 * is in flight, never reordered) and the images (`frames/`, `previews/`: see run-frames.ts).
 *
 * Versions: 1 (initial), 2 (adds `baselineOf` / `baselineRunId` and `deviceDetails`). Version 1 files are read as version 2 with no
 * baseline links and rewritten as version 2 on their next save.
 */
import { open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { runParamsSchema, runStateSchema, previewSettingsSchema } from '../../../shared/protocol/run';
import type { RunEvent } from '../../../shared/protocol/run';
import { runInterruptionSchema } from '../../../shared/protocol/studio-contract';

/** The `format` tag of run.json. */
export const RUN_FOLDER_FORMAT = 'odsora-studio-run';
/** The version of run.json this code writes (and the newest it reads). */
export const RUN_FOLDER_VERSION = 2;

const runFileFields = {
  format: z.literal(RUN_FOLDER_FORMAT),
  runId: z.string().min(1),
  deviceRunId: z.string().min(1),
  device: z.object({
    id: z.string().min(1),
    deviceId: z.string().nullable(),
    name: z.string(),
    model: z.string(),
    role: z.enum(['target', 'baseline']),
    simulated: z.boolean(),
    engineVersion: z.string().nullable(),
  }),
  params: runParamsSchema,
  preview: previewSettingsSchema.nullable(),
  label: z.string().nullable(),
  createdAtEpochMs: z.number(),
  state: runStateSchema,
  lastSeq: z.number().int().nonnegative(),
  endedAtEpochMs: z.number().nullable(),
  interruption: runInterruptionSchema.nullable(),
};

/** run.json, version 2. */
export const runFileSchema = z.object({
  ...runFileFields,
  version: z.literal(RUN_FOLDER_VERSION),
  /** This run is the baseline made for that run. */
  baselineOf: z.string().min(1).nullable(),
  /** The baseline run made for this run. */
  baselineRunId: z.string().min(1).nullable(),
  /** What the device said about itself when the run started (provenance for reports). */
  deviceDetails: z
    .object({
      platform: z.string(),
      backends: z.array(z.string()),
      memoryLimitBytes: z.number().nullable(),
      blockSets: z.array(
        z.object({ name: z.string(), model: z.string(), bytes: z.number(), manifestSha256: z.string() }),
      ),
    })
    .nullable()
    .optional(),
});

/** run.json, version 1 (read only). */
const runFileV1Schema = z.object({ ...runFileFields, version: z.literal(1) });

/** run.json. */
export type RunFile = z.infer<typeof runFileSchema>;

/** Reads a run folder's run.json (upgrading version 1), or null when it is missing, unreadable or foreign. */
export async function readRunFile(dir: string): Promise<RunFile | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
  } catch {
    return null;
  }
  const parsed = runFileSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const v1 = runFileV1Schema.safeParse(raw);
  if (!v1.success) return null;
  return { ...v1.data, version: RUN_FOLDER_VERSION, baselineOf: null, baselineRunId: null };
}

/** Writes run.json atomically. */
export async function writeRunFile(dir: string, run: RunFile): Promise<void> {
  const tmp = join(dir, `run.json.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(run, null, 2)}\n`);
  await rename(tmp, join(dir, 'run.json'));
}

/** One line of events.jsonl. */
export interface StoredEvent {
  seq: number;
  event: RunEvent;
}

/** Reads events.jsonl (a torn last line, from a crash mid-write, is skipped). */
export async function readEvents(dir: string): Promise<StoredEvent[]> {
  let text: string;
  try {
    text = await readFile(join(dir, 'events.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: StoredEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as StoredEvent);
    } catch {
      break;
    }
  }
  return out;
}

/** Appends lines to events.jsonl in order; `flush` waits for everything appended so far. */
export class EventAppender {
  private fh: FileHandle | null = null;
  private pending: string[] = [];
  private writing: Promise<void> | null = null;
  private failed: Error | null = null;

  constructor(private readonly path: string) {}

  append(e: StoredEvent): void {
    this.pending.push(`${JSON.stringify({ seq: e.seq, event: e.event })}\n`);
    if (!this.writing) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      this.fh ??= await open(this.path, 'a', 0o644);
      while (this.pending.length > 0) {
        const batch = this.pending.join('');
        this.pending = [];
        await this.fh.appendFile(batch);
      }
    } catch (e) {
      this.failed = e as Error;
    } finally {
      this.writing = null;
    }
  }

  /** Resolves once every appended line is written; rejects with the first write error. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failed) throw this.failed;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    const fh = this.fh;
    this.fh = null;
    await fh?.sync().catch(() => undefined);
    await fh?.close();
  }
}
