/**
 * A sweep's journal, `sweep.json` in its output folder (docs/sweeps.md): the spec, its fingerprint, every planned
 * run with its status, run folder and result summary, and the points' statistics. The runner rewrites it
 * atomically after every change; a resumed sweep reads it back to skip what finished. Versioned; validated on read.
 */
import { z } from 'zod';
import { runParamsSchema } from '../protocol/run';
import { reportedThermalSchema } from '../protocol/thermal';
import type { PlannedRun } from './expand';
import { sweepSpecSchema, type SweepSpec } from './spec';
import { thermalGateOutcomeSchema } from './thermal-gate';

/** The `format` tag of sweep.json. */
export const SWEEP_JOURNAL_FORMAT = 'odsora-sweep-journal';
/** The journal version this code writes and reads. */
export const SWEEP_JOURNAL_VERSION = 1;

/**
 * Where a planned run is: `pending` (not run, or to run again), `running` (started and not ended: a journal read
 * back with one was stopped mid-run), `finished`, `failed` (with the reason).
 */
export const sweepRunStatusSchema = z.enum(['pending', 'running', 'finished', 'failed']);
/** Where a planned run is. */
export type SweepRunStatus = z.infer<typeof sweepRunStatusSchema>;

const ms = z.number().nonnegative();

/** What one finished run measured (from its event log through shared/report's `measureRun`). */
export const sweepRunResultSchema = z.strictObject({
  /** `run.finished`'s total time. */
  wallMs: ms,
  loadMs: ms,
  textMs: ms,
  denoiseMs: ms,
  decodeMs: ms,
  stepsRun: z.number().int().nonnegative(),
  /** Median latency of the steps that ran the model (null: none did). */
  stepMs: ms.nullable(),
  /** Highest resident block bytes (null: the log has no block events). */
  peakResidentBytes: z.number().int().nonnegative().nullable(),
});

/** What one finished run measured. */
export type SweepRunResult = z.infer<typeof sweepRunResultSchema>;

/**
 * A run's thermal record: the device's state at the run's start and end (from its `run.started` and terminal
 * events; null: unknown, or a device that does not report it) and how its start was gated.
 */
export const sweepRunThermalSchema = z.strictObject({
  start: reportedThermalSchema,
  end: reportedThermalSchema,
  /** Time the run waited in the thermal gate (cool-down included), ms. */
  waitedMs: ms,
  gate: thermalGateOutcomeSchema,
});

/** A run's thermal record. */
export type SweepRunThermal = z.infer<typeof sweepRunThermalSchema>;

/**
 * What a finished run's own final frames score, with no reference (shared/metrics, computed by clip-scores.ts
 * `sweepClipScores`, for baselines and measured runs alike).
 */
export const sweepRunClipSchema = z.strictObject({
  /** VBench's temporal flicker score, 0..1 (1 = consecutive frames identical). */
  flicker: z.number(),
  /**
   * nanobench's prompt adherence, 0..1 (the mean of its colour, shape, motion and background scores); null: the
   * prompt is not in the Open-Sora Nano vocabulary, so there are no scorers for it.
   */
  adherence: z.number().nullable(),
});

/** What a finished run's own final frames score. */
export type SweepRunClip = z.infer<typeof sweepRunClipSchema>;

const axisValue = z.union([z.number(), z.string(), z.boolean()]);

/** One planned run and what became of it. */
export const sweepRunEntrySchema = z.strictObject({
  id: z.string().regex(/^r[0-9a-f]{16}$/),
  kind: z.enum(['warmup', 'baseline', 'measured']),
  device: z.string(),
  pointId: z.string().nullable(),
  point: z.record(z.string(), axisValue),
  promptIndex: z.number().int().nonnegative(),
  seed: z.number().int().nonnegative(),
  repeat: z.number().int().nonnegative(),
  params: runParamsSchema,
  status: sweepRunStatusSchema,
  /** The run folder under `runs/` (the studio's run id); null before it started. */
  runFolder: z.string().nullable(),
  /** Times it was started (a run interrupted by a device restart or a stopped sweep starts again). */
  attempts: z.number().int().nonnegative(),
  /** Why it failed (status `failed`), or why its last attempt did not count. */
  error: z.string().nullable(),
  result: sweepRunResultSchema.nullable(),
  /**
   * A finished measured run's final frames against its baseline's (shared/metrics): PSNR over the clip (dB, capped
   * at 99) and mean SSIM. Null until both finished with frames of the same shape.
   */
  quality: z.strictObject({ psnrDb: z.number(), ssim: z.number() }).nullable(),
  /**
   * A finished run's final frames scored on their own (flicker, adherence); null until computed, or when the run
   * has no readable frames; absent in journals written before it existed.
   */
  clip: sweepRunClipSchema.nullable().default(null),
  /** Its last attempt's thermal record (null before it ran; absent in journals written before it existed). */
  thermal: sweepRunThermalSchema.nullable().default(null),
});

/** One planned run and what became of it. */
export type SweepRunEntry = z.infer<typeof sweepRunEntrySchema>;

/** One metric of one point on one device over its measured runs (warm-ups and baselines excluded). */
export const sweepPointStatSchema = z.strictObject({
  device: z.string(),
  pointId: z.string(),
  point: z.record(z.string(), axisValue),
  metric: z.string(),
  unit: z.string(),
  n: z.number().int().positive(),
  median: z.number(),
  p25: z.number(),
  p75: z.number(),
  min: z.number(),
  max: z.number(),
});

/** One metric of one point on one device. */
export type SweepPointStat = z.infer<typeof sweepPointStatSchema>;

/** sweep.json. */
export const sweepJournalSchema = z.strictObject({
  format: z.literal(SWEEP_JOURNAL_FORMAT),
  version: z.literal(SWEEP_JOURNAL_VERSION),
  /** `sweepFingerprint(spec)`: a resumed sweep must have the same. */
  fingerprint: z.string(),
  spec: sweepSpecSchema,
  /**
   * `running` while a runner works on it (or was killed), then how it ended: `stopped` (Ctrl-C, the studio's
   * Pause: resumable), `cancelled` (the studio's Cancel: not offered for resuming), `failed`, `finished`.
   */
  state: z.enum(['running', 'finished', 'stopped', 'cancelled', 'failed']),
  createdAtEpochMs: z.number(),
  updatedAtEpochMs: z.number(),
  runs: z.array(sweepRunEntrySchema),
  points: z.array(sweepPointStatSchema),
});

/** sweep.json. */
export type SweepJournal = z.infer<typeof sweepJournalSchema>;

/** A fresh journal for a plan: every run pending. */
export function newSweepJournal(
  spec: SweepSpec,
  fingerprint: string,
  plan: readonly PlannedRun[],
  nowMs: number,
): SweepJournal {
  return {
    format: SWEEP_JOURNAL_FORMAT,
    version: SWEEP_JOURNAL_VERSION,
    fingerprint,
    spec,
    state: 'running',
    createdAtEpochMs: nowMs,
    updatedAtEpochMs: nowMs,
    runs: plan.map((r) => ({
      ...r,
      status: 'pending',
      runFolder: null,
      attempts: 0,
      error: null,
      result: null,
      quality: null,
      clip: null,
      thermal: null,
    })),
    points: [],
  };
}
