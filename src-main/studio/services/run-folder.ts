/**
 * A run on disk: `runs/<runId>/run.json` (versioned metadata, rewritten atomically) and `runs/<runId>/events.jsonl`
 * (one `{"seq":N,"event":{...}}` per line, appended in seq order as events arrive; writes are batched while one
 * is in flight, never reordered).
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
export const RUN_FOLDER_VERSION = 1;

/** run.json, version 1. */
export const runFileSchema = z.object({
  format: z.literal(RUN_FOLDER_FORMAT),
  version: z.literal(RUN_FOLDER_VERSION),
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
});

/** run.json. */
export type RunFile = z.infer<typeof runFileSchema>;

/** Reads a run folder's run.json, or null when it is missing, unreadable or of another format/version. */
export async function readRunFile(dir: string): Promise<RunFile | null> {
  try {
    const parsed = runFileSchema.safeParse(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
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
