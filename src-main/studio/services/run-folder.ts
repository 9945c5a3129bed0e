/**
 * A run on disk: `runs/<runId>/run.json` (versioned metadata, rewritten atomically), `runs/<runId>/events.jsonl`
 * (one `{"seq":N,"event":{...}}` per line, appended in seq order as events arrive; writes are batched while one
 * is in flight, never reordered) and the images (`frames/`, `previews/`: see run-frames.ts).
 *
 * Versions: 1 (initial), 2 (adds `baselineOf` / `baselineRunId` and `deviceDetails`; optional `generate`: a run
 * made by `odsora generate`, generate-section.ts; optional `sweep`: a run made by a sweep; optional `thermal`: the
 * device's state at the run's start and end), 3 (adds `tags`, `notes` and `metrics`: history's notebook). Older
 * files are read as version 3 (no baseline links for version 1; no tags, empty notes and metrics not yet computed
 * for both) and rewritten as version 3 on their next save; `upgradedFrom` tells the caller, which computes the
 * metrics of an ended run once.
 */
import { open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import { runParamsSchema, runStateSchema, previewSettingsSchema } from '../../../shared/protocol/run';
import type { RunEvent } from '../../../shared/protocol/run';
import { reportedThermalSchema } from '../../../shared/protocol/thermal';
import { generateSectionSchema } from './generate-section';
import {
  describeIssues,
  runDetailSchema,
  runEventsResultSchema,
  runInterruptionSchema,
  runSummarySchema,
  unreadableRunSchema,
} from '../../../shared/protocol/studio-contract';

/** The `format` tag of run.json. */
export const RUN_FOLDER_FORMAT = 'odsora-studio-run';
/** The version of run.json this code writes (and the newest it reads). */
export const RUN_FOLDER_VERSION = 3;

// Every field the studio contract shows takes its schema from the contract, so a run.json that loads is one
// `runs.list` and `runs.get` can answer with (a 300-character label is refused here, with its reason).
const summary = runSummarySchema.shape;
const detail = runDetailSchema.shape;
/** Longest reason kept for an unreadable run folder or event log (the contract's limit). */
const REASON_CHARS = unreadableRunSchema.shape.reason.maxLength ?? 1024;

const runFileFields = {
  format: z.literal(RUN_FOLDER_FORMAT),
  runId: summary.runId,
  deviceRunId: summary.deviceRunId,
  device: z.object({
    id: summary.deviceId,
    deviceId: z.string().nullable(),
    name: detail.device.shape.name,
    model: detail.device.shape.model,
    role: z.enum(['target', 'baseline']),
    simulated: detail.device.shape.simulated,
    engineVersion: detail.device.shape.engineVersion,
  }),
  params: runParamsSchema,
  preview: previewSettingsSchema.nullable(),
  label: summary.label,
  createdAtEpochMs: summary.createdAtEpochMs,
  state: runStateSchema,
  lastSeq: summary.lastSeq,
  endedAtEpochMs: z.number().nullable(),
  interruption: runInterruptionSchema.nullable(),
};

/** The `sweep` section of run.json: which sweep made the run, and which of its planned runs it is. */
export const runSweepLinkSchema = z.strictObject({
  /** The sweep's id: its folder's name (`sweeps/<id>/` in the studio's data, the `--out` folder's name headless). */
  sweepId: z.string().min(1).max(128),
  /** The planned run's id in the sweep's sweep.json (`r` + 16 hex digits). */
  planRunId: z.string().regex(/^r[0-9a-f]{16}$/),
  kind: z.enum(['warmup', 'baseline', 'measured']),
  /** The point's id (null for warm-ups and baselines). */
  pointId: z.string().nullable(),
});

/** The `sweep` section of run.json. */
export type RunSweepLink = z.infer<typeof runSweepLinkSchema>;

/** run.json, version 2 (read only; version 3 adds to it). */
const runFileV2Fields = {
  ...runFileFields,
  /** This run is the baseline made for that run. */
  baselineOf: detail.baselineOf,
  /** The baseline run made for this run. */
  baselineRunId: detail.baselineRunId,
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
  /** A run made by `odsora generate`: its command line, provenance, tokens, outputs, memory and timings. */
  generate: generateSectionSchema.optional(),
  /** A run made by a sweep (the studio's Sweeps screen or `odsora sweep`): History tags it `sweep:<sweepId>`. */
  sweep: runSweepLinkSchema.optional(),
  /**
   * The device's thermal state at the run's start and end, as its `run.started` and terminal events carried it
   * (protocol 3; null: the device cannot tell). A key is absent until that event arrived, or when the device did
   * not say.
   */
  thermal: z
    .object({ start: reportedThermalSchema.optional(), end: reportedThermalSchema.optional() })
    .optional(),
};

/** run.json, version 3. */
const runFileSchema = z.object({
  ...runFileV2Fields,
  version: z.literal(RUN_FOLDER_VERSION),
  tags: summary.tags,
  notes: summary.notes,
  /** The run's headline numbers, computed once when it ended (null until then). */
  metrics: summary.metrics,
  /**
   * What reading its events.jsonl skipped, checked with the metrics when it ended (null: nothing); absent until
   * checked (a file written before this field, or by `odsora generate`): the run service checks it once on opening.
   */
  eventLogProblem: summary.eventLogProblem.optional(),
});

/** run.json, version 2 (read only). */
const runFileV2Schema = z.object({ ...runFileV2Fields, version: z.literal(2) });

/** run.json, version 1 (read only). */
const runFileV1Schema = z.object({ ...runFileFields, version: z.literal(1) });

/** run.json. */
export type RunFile = z.infer<typeof runFileSchema>;

/** A run.json read: the file (and the version it was upgraded from), or why the folder cannot be listed as a run. */
export type RunFileRead =
  { ok: true; file: RunFile; upgradedFrom: 1 | 2 | null } | { ok: false; reason: string };

/**
 * Reads a run folder's run.json (upgrading version 1) and checks it against the contract; when it cannot be used,
 * says why (missing, cut short, from a newer studio, a field out of range).
 */
export async function loadRunFile(dir: string): Promise<RunFileRead> {
  const refuse = (reason: string): RunFileRead => ({ ok: false, reason: reason.slice(0, REASON_CHARS) });
  let text: string;
  try {
    text = await readFile(join(dir, 'run.json'), 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return refuse(missing ? 'run.json is missing' : `run.json cannot be read: ${String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return refuse(`run.json is not valid JSON (cut short?): ${(e as Error).message}`);
  }
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== RUN_FOLDER_FORMAT)
    return refuse(`run.json is not a studio run (its format is not "${RUN_FOLDER_FORMAT}")`);
  if (typeof head.version === 'number' && head.version > RUN_FOLDER_VERSION)
    return refuse(
      `run.json is version ${head.version}; this studio reads up to version ${RUN_FOLDER_VERSION} (update the studio)`,
    );
  const notebook = { version: RUN_FOLDER_VERSION, tags: [], notes: '', metrics: null } as const;
  if (head.version === 1) {
    const v1 = runFileV1Schema.safeParse(raw);
    if (!v1.success) return refuse(`run.json: ${describeIssues(v1.error)}`);
    return {
      ok: true,
      file: { ...v1.data, ...notebook, tags: [], baselineOf: null, baselineRunId: null },
      upgradedFrom: 1,
    };
  }
  if (head.version === 2) {
    const v2 = runFileV2Schema.safeParse(raw);
    if (!v2.success) return refuse(`run.json: ${describeIssues(v2.error)}`);
    return { ok: true, file: { ...v2.data, ...notebook, tags: [] }, upgradedFrom: 2 };
  }
  const parsed = runFileSchema.safeParse(raw);
  if (parsed.success) return { ok: true, file: parsed.data, upgradedFrom: null };
  return refuse(`run.json: ${describeIssues(parsed.error)}`);
}

/** Reads a run folder's run.json (upgrading version 1), or null when it is missing, unreadable or foreign. */
export async function readRunFile(dir: string): Promise<RunFile | null> {
  const read = await loadRunFile(dir);
  return read.ok ? read.file : null;
}

/** Writes run.json atomically. */
export async function writeRunFile(dir: string, run: RunFile): Promise<void> {
  const tmp = join(dir, `run.json.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(run, null, 2)}\n`);
  await rename(tmp, join(dir, 'run.json'));
}

/** Writes a whole events.jsonl at once (a run recorded elsewhere, e.g. by `odsora generate`), in seq order. */
export async function writeEventLog(dir: string, events: readonly StoredEvent[]): Promise<void> {
  const lines = events.map((e) => `${JSON.stringify({ seq: e.seq, event: e.event })}\n`);
  await writeFile(join(dir, 'events.jsonl'), lines.join(''));
}

/** One line of events.jsonl. */
export interface StoredEvent {
  seq: number;
  event: RunEvent;
}

/** One stored event as the contract's `runs.events` carries it. */
const storedEventSchema = runEventsResultSchema.shape.events.element;

/** events.jsonl read back: the readable events in seq order, and what was wrong with the file (null: nothing). */
export interface EventLogRead {
  events: StoredEvent[];
  problem: string | null;
}

/**
 * How long reading a log may hold the event loop before it lets other work in (20,000 small events take about
 * 110 ms to validate on a 2-core EPYC; the studio meanwhile forwards live events).
 */
const READ_SLICE_MS = 4;

/**
 * Reads events.jsonl. A line that is not a valid event (damage), repeats a seq or is out of order is skipped and
 * the rest is kept; a last line with no newline is skipped (`live`: it is being written; otherwise the studio
 * stopped while writing it). `problem` says what was skipped. It parses in slices of {@link READ_SLICE_MS}.
 */
export async function readEventLog(dir: string, opts: { live?: boolean } = {}): Promise<EventLogRead> {
  let text: string;
  try {
    text = await readFile(join(dir, 'events.jsonl'), 'utf8');
  } catch {
    return { events: [], problem: null };
  }
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const events: StoredEvent[] = [];
  const unreadable: number[] = [];
  let repeated = 0;
  let sliceStart = performance.now();
  for (const [i, line] of lines.entries()) {
    if (i % 64 === 63 && performance.now() - sliceStart > READ_SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
    if (line.trim() === '') continue;
    let parsed: StoredEvent | null = null;
    try {
      const r = storedEventSchema.safeParse(JSON.parse(line));
      if (r.success) parsed = r.data;
    } catch {
      parsed = null;
    }
    if (parsed === null) unreadable.push(i + 1);
    else if (parsed.seq <= (events.at(-1)?.seq ?? 0)) repeated += 1;
    else events.push(parsed);
  }
  const parts: string[] = [];
  if (unreadable.length > 0)
    parts.push(
      `${unreadable.length} unreadable line${unreadable.length === 1 ? '' : 's'} skipped (line ${unreadable.slice(0, 8).join(', ')}${unreadable.length > 8 ? ', …' : ''})`,
    );
  if (repeated > 0)
    parts.push(`${repeated} repeated or out-of-order line${repeated === 1 ? '' : 's'} skipped`);
  if (tail.trim() !== '' && opts.live !== true)
    parts.push('the last line was cut short (the studio stopped while writing it)');
  return {
    events,
    problem: parts.length === 0 ? null : `events.jsonl: ${parts.join('; ')}`.slice(0, REASON_CHARS),
  };
}

/** The readable events of events.jsonl (see {@link readEventLog}). */
export async function readEvents(dir: string): Promise<StoredEvent[]> {
  return (await readEventLog(dir)).events;
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
