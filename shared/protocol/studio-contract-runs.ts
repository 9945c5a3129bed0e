/**
 * The run, history, comparison, preflight and report schemas of the studio contract (`studio-contract.ts` wires
 * them to command names and re-exports them). Split out so each file stays small; import from
 * `studio-contract.ts`.
 */
import { z } from 'zod';
import { MAX_LISTED_VOCABULARY, MAX_UNKNOWN_WORDS, MAX_WORD_CHARS } from '../engine/t5/prompt-vocabulary';
import { previewSettingsSchema, runEventSchema, runParamsSchema, runStateSchema } from './run';

/** A studio run id (also its folder name under `runs/`). */
export const studioRunIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 of [A-Za-z0-9._-]');

/** Id of a studio device entry (same rule as `studioDeviceIdSchema` in studio-contract.ts). */
const deviceEntryIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 of [A-Za-z0-9._:-]');

/** Why the studio stopped following a run before its terminal event. */
export const runInterruptionSchema = z.strictObject({
  reason: z.enum(['studio-restarted', 'device-lost']),
  atEpochMs: z.number(),
});

/** Longest run name (`label`), in characters. */
export const RUN_NAME_MAX_CHARS = 256;
/** Most tags on one run. */
export const RUN_TAGS_MAX = 16;
/** Longest tag, in characters. */
export const RUN_TAG_MAX_CHARS = 64;
/** Longest notes of one run, in characters. */
export const RUN_NOTES_MAX_CHARS = 4000;

/**
 * A run's tag: 1–64 of `A-Z a-z 0-9 : . _ -`, starting with a letter or digit, so `lpl-sweep`, `v1.2` and a sweep's
 * `sweep:<id>` are tags and spaces or commas are not. History matches tags ignoring case.
 */
export const runTagSchema = z
  .string()
  .regex(
    new RegExp(`^[A-Za-z0-9][A-Za-z0-9:._-]{0,${RUN_TAG_MAX_CHARS - 1}}$`),
    `must be 1-${RUN_TAG_MAX_CHARS} of [A-Za-z0-9:._-], starting with a letter or digit`,
  );

/** A run's tags: at most 16, no tag twice (ignoring case). */
export const runTagsSchema = z
  .array(runTagSchema)
  .max(RUN_TAGS_MAX)
  .refine((tags) => new Set(tags.map((t) => t.toLowerCase())).size === tags.length, 'must not repeat a tag');

/** A run's notes: free text, at most 4000 characters ('' when none). */
export const runNotesSchema = z.string().max(RUN_NOTES_MAX_CHARS);

/**
 * A run's headline numbers, computed once from its stored events when it ends (`shared/report/measures.ts`
 * `runMetrics`) and kept in its run.json, so listing runs folds no event log. Milliseconds and bytes; null where the
 * log has no such number (a failed run has no wall time).
 */
export const runMetricsSchema = z.strictObject({
  /** `run.finished`'s total time. */
  wallMs: z.number().nonnegative().nullable(),
  /** The denoise stage's duration. */
  denoiseMs: z.number().nonnegative().nullable(),
  /** The median latency of the steps run. */
  medianStepMs: z.number().nonnegative().nullable(),
  /** Highest resident block bytes. */
  peakResidentBytes: z.number().nonnegative().nullable(),
  /** Frames of the final video. */
  frames: z.number().int().nonnegative().nullable(),
});

/** A run's headline numbers. */
export type RunMetrics = z.infer<typeof runMetricsSchema>;

/** A folder under `runs/` that history cannot show as a run (run.json missing, cut short, out of range), and why. */
export const unreadableRunSchema = z.strictObject({
  /** The folder's name under `runs/`. */
  folder: z.string().min(1).max(255),
  /** Why it cannot be read, naming the file and field. */
  reason: z.string().min(1).max(1024),
});

/** A run folder history cannot show. */
export type UnreadableRun = z.infer<typeof unreadableRunSchema>;

/** What was skipped reading a run's stored events.jsonl (unreadable, repeated or cut-short lines), naming the lines. */
export const eventLogProblemSchema = unreadableRunSchema.shape.reason;

/** One run as history and the live views list it. */
export const runSummarySchema = z.strictObject({
  runId: studioRunIdSchema,
  /** The id the device gave the run. */
  deviceRunId: z.string().min(1).max(64),
  deviceId: deviceEntryIdSchema,
  deviceName: z.string().max(128),
  /** The run's name (null: none; history shows the run id). */
  label: z.string().max(RUN_NAME_MAX_CHARS).nullable(),
  tags: runTagsSchema,
  notes: runNotesSchema,
  /** What the run asked for (history searches the prompt and filters on the technique settings). */
  params: runParamsSchema,
  state: runStateSchema,
  /** Last seq appended to the run folder. */
  lastSeq: z.number().int().nonnegative(),
  /** `live`: events arrive; `disconnected`: the device connection dropped and resumes; `ended`: terminal event. */
  stream: z.enum(['live', 'disconnected', 'ended', 'detached']),
  createdAtEpochMs: z.number(),
  interruption: runInterruptionSchema.nullable(),
  /** Null until the run ended. */
  metrics: runMetricsSchema.nullable(),
  /** The baseline run made for this run (null: none). */
  baselineRunId: studioRunIdSchema.nullable(),
  /** Its baseline's wall time over its own (null: no baseline, or either has no wall time). */
  speedupVsBaseline: z.number().nonnegative().nullable(),
  /**
   * What reading its stored events skipped, checked once (when the run ended, or when the studio first opened a
   * folder that had not been checked) and kept in run.json, so history shows damage without reading any event log;
   * null: nothing was skipped, or the run has not ended.
   */
  eventLogProblem: eventLogProblemSchema.nullable(),
});

/** One run in history. */
export type RunSummary = z.infer<typeof runSummarySchema>;

/** Result of `runs.list`: the runs, newest first, and the folders that cannot be read as runs. */
export const runsListResultSchema = z.strictObject({
  runs: z.array(runSummarySchema),
  unreadable: z.array(unreadableRunSchema),
});

/** `{ runId }`: the argument of the commands about one run. */
export const runRefSchema = z.strictObject({ runId: studioRunIdSchema });

/** Arguments of `runs.start`: the device, the engine parameters, and optional previews and label. */
export const runsStartArgsSchema = z.strictObject({
  deviceId: deviceEntryIdSchema,
  params: runParamsSchema,
  preview: previewSettingsSchema.nullable().optional(),
  label: z.string().min(1).max(RUN_NAME_MAX_CHARS).optional(),
});

/**
 * Arguments of `runs.annotate`: a run's name (null clears it), tags and notes; each one given replaces what the run
 * had, each one left out stays. A name is 1–256 characters after trimming; tags and notes as in
 * {@link runTagsSchema} and {@link runNotesSchema}.
 */
export const runAnnotateArgsSchema = z.strictObject({
  runId: studioRunIdSchema,
  label: z.string().trim().min(1).max(RUN_NAME_MAX_CHARS).nullable().optional(),
  tags: runTagsSchema.optional(),
  notes: runNotesSchema.optional(),
});

/** Arguments of `runs.annotate`. */
export type RunAnnotateArgs = z.infer<typeof runAnnotateArgsSchema>;

/** `{ run }`: the result of the commands that start or change one run. */
export const runResultSchema = z.strictObject({ run: runSummarySchema });

const nonNegInt = z.number().int().nonnegative();
const bytes = z.number().nonnegative();

/** Result of `runs.get`: everything history knows about one run. */
export const runDetailSchema = z.strictObject({
  run: runSummarySchema,
  params: runParamsSchema,
  preview: previewSettingsSchema.nullable(),
  device: z.strictObject({
    name: z.string().max(128),
    model: z.string().max(128),
    simulated: z.boolean(),
    engineVersion: z.string().max(64).nullable(),
  }),
  /** This run is the baseline of that run. */
  baselineOf: studioRunIdSchema.nullable(),
  /** The baseline run made for this run. */
  baselineRunId: studioRunIdSchema.nullable(),
  /** `run.finished`'s total time (null until the run finished). */
  wallMs: z.number().nonnegative().nullable(),
  /** Highest resident block bytes seen in the run's block events (null when it has none). */
  peakResidentBytes: bytes.nullable(),
  /** What was skipped reading the stored events now (unreadable or cut-short lines); null when they were intact. */
  eventLogProblem: eventLogProblemSchema.nullable(),
});

/** Result of `runs.get`. */
export type RunDetail = z.infer<typeof runDetailSchema>;

/** Arguments of `runs.events`: events with seq > `afterSeq`, at most `limit`. */
export const runEventsArgsSchema = z.strictObject({
  runId: studioRunIdSchema,
  afterSeq: nonNegInt,
  limit: z.number().int().min(1).max(5000),
});

/** Result of `runs.events`; `lastSeq` is the run's last stored seq (more may follow when it is above the page). */
export const runEventsResultSchema = z.strictObject({
  events: z.array(z.strictObject({ seq: z.number().int().positive(), event: runEventSchema })).max(5000),
  lastSeq: nonNegInt,
});

/** Most runs one connection follows at a time (`events.follow`). */
export const MAX_FOLLOWED_RUNS = 32;

/**
 * Arguments and result of `events.follow`: the runs whose `run.event`s this connection wants pushed (the runs its
 * views show), replacing the previous set. A connection that never asks gets every run's events; `[]` gets none.
 * Other events (`run.updated`, `sweep.updated`, `devices.changed`) always come.
 */
export const followRunsSchema = z.strictObject({
  runIds: z.array(studioRunIdSchema).max(MAX_FOLLOWED_RUNS),
});

/** Arguments of `runs.frames`: `final` frames or the latest `preview` frames, `limit` from index `from`. */
export const runFramesArgsSchema = z.strictObject({
  runId: studioRunIdSchema,
  which: z.enum(['final', 'preview']),
  from: nonNegInt,
  limit: z.number().int().min(1).max(256),
});

/** One stored frame as a base64 PNG. */
export const storedFrameSchema = z.strictObject({
  index: nonNegInt,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Base64 of the PNG file (no `data:` prefix). */
  png: z.string(),
});

/** Result of `runs.frames`: `total` frames are stored; `frames` is the requested page. */
export const runFramesResultSchema = z.strictObject({
  total: nonNegInt,
  frames: z.array(storedFrameSchema).max(256),
});

/** Arguments of `runs.compare`: run A (e.g. the technique run) against run B (e.g. its baseline). */
export const compareArgsSchema = z.strictObject({ runA: studioRunIdSchema, runB: studioRunIdSchema });

/**
 * Result of `runs.compare` on the final frames. PSNR in dB (99 for identical frames), SSIM in [−1, 1], flicker as
 * VBench's score in [0, 1] (1 = no change between consecutive frames). Per frame, `flickerA/B` is the score of the
 * pair (index − 1, index); null for frame 0. `speedup` = wallMsB / wallMsA; `ratio` = peakA / peakB.
 */
export const compareResultSchema = z.strictObject({
  frames: z.number().int().positive(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  perFrame: z.array(
    z.strictObject({
      index: nonNegInt,
      psnr: z.number(),
      ssim: z.number(),
      flickerA: z.number().nullable(),
      flickerB: z.number().nullable(),
    }),
  ),
  clip: z.strictObject({ psnr: z.number(), ssim: z.number(), flickerA: z.number(), flickerB: z.number() }),
  timing: z.strictObject({
    wallMsA: z.number().nullable(),
    wallMsB: z.number().nullable(),
    speedup: z.number().nullable(),
  }),
  memory: z.strictObject({
    peakA: bytes.nullable(),
    peakB: bytes.nullable(),
    ratio: z.number().nullable(),
  }),
});

/** Result of `runs.compare`. */
export type CompareResult = z.infer<typeof compareResultSchema>;

/** Arguments of `devices.preflight`: would these parameters fit the device's memory? */
export const preflightArgsSchema = z.strictObject({ deviceId: deviceEntryIdSchema, params: runParamsSchema });

/** Result of `devices.preflight`: the CI-DL plan of the device's model under the asked budget. */
export const preflightResultSchema = z.strictObject({
  /** The budget the params resolve to (null: unlimited). */
  budgetBytes: bytes.nullable(),
  predictedPeakBytes: bytes,
  totalBlockBytes: bytes,
  /** What the device says it can spend (null when it does not say). */
  availableBytes: bytes.nullable(),
  fits: z.boolean(),
  blocks: nonNegInt,
  /** What was assumed, in words. */
  notes: z.array(z.string().max(1024)).max(32),
  /**
   * The prompt checked against the device model's vocabulary (shared/engine/t5/prompt-vocabulary.ts); absent when
   * the studio has no copy of that model's tokenizer to check with.
   */
  prompt: z
    .strictObject({
      unknownWords: z.array(z.string().max(MAX_WORD_CHARS)).max(MAX_UNKNOWN_WORDS),
      vocabulary: z.array(z.string().max(MAX_WORD_CHARS)).max(MAX_LISTED_VOCABULARY).nullable(),
    })
    .optional(),
});

/** Result of `devices.preflight`. */
export type PreflightResult = z.infer<typeof preflightResultSchema>;

/**
 * A report file format. `pdf` needs a host that can print (Electron). `trace`: each run as a Chrome / Perfetto
 * trace, `<runId>.trace.json` (docs/trace.md).
 */
export const reportFormatSchema = z.enum(['html', 'json', 'csv', 'gif', 'pdf', 'trace']);
/** A report file format. */
export type ReportFormat = z.infer<typeof reportFormatSchema>;

/** A report id, also the name of its folder: `<UTC yyyymmddThhmmss>-<8 hex>`. */
export const reportIdSchema = z
  .string()
  .regex(/^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$/, 'must be a report id such as 20261207T063000-0123abcd');

/**
 * Arguments of `reports.export`: `[run]` or `[run, baseline]`, the formats wanted (each at most once) and, to add
 * them to the folder of an earlier export of the same runs, its `reportId` (default: a new folder).
 */
export const reportExportArgsSchema = z.strictObject({
  runIds: z.union([z.tuple([studioRunIdSchema]), z.tuple([studioRunIdSchema, studioRunIdSchema])]),
  formats: z
    .array(reportFormatSchema)
    .min(1)
    .max(reportFormatSchema.options.length)
    .refine((f) => new Set(f).size === f.length, 'must not repeat a format'),
  reportId: reportIdSchema.optional(),
});

/** One file of a report folder, with the URL the renderer opens it at (`mp4`: the video the renderer encoded). */
export const reportFileSchema = z.strictObject({
  format: z.union([reportFormatSchema, z.literal('mp4')]),
  name: z.string().min(1).max(128),
  path: z.string(),
  bytes: nonNegInt,
  url: z.string(),
});

/** Result of `reports.export`: the report's id and folder, and each file written. */
export const reportExportResultSchema = z.strictObject({
  reportId: reportIdSchema,
  dir: z.string(),
  files: z.array(reportFileSchema),
});

/** The most base64 characters one `reports.putVideo` call carries (its message stays under the bridge's limit). */
export const REPORT_VIDEO_CHUNK_CHARS = 128 * 1024;
/** The largest video a report folder takes. */
export const REPORT_VIDEO_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Arguments of `reports.putVideo`: a piece of the MP4 the renderer encoded (WebCodecs lives there), written into
 * the report folder of the same runs as `video.mp4`. Pieces are sent in order: `offset` is the number of bytes
 * sent before (0 starts the file again); `done` on the last one. Without `reportId` (first piece only) a new
 * report folder is made.
 */
export const reportPutVideoArgsSchema = z.strictObject({
  runIds: reportExportArgsSchema.shape.runIds,
  reportId: reportIdSchema.nullable(),
  offset: nonNegInt.max(REPORT_VIDEO_MAX_BYTES),
  data: z
    .string()
    .max(REPORT_VIDEO_CHUNK_CHARS)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
  done: z.boolean(),
});

/** Result of `reports.putVideo`: the report id (for the next piece) and, after the last piece, the file. */
export const reportPutVideoResultSchema = z.strictObject({
  reportId: reportIdSchema,
  file: reportFileSchema.nullable(),
});

/** Result of `reports.export`. */
export type ReportExportResult = z.infer<typeof reportExportResultSchema>;
