/**
 * The sweep schemas of the studio contract (`studio-contract.ts` wires them to command names and re-exports them):
 * a sweep's summary (state, progress per device, what runs now), its detail (the journal, shared/sweep/journal.ts)
 * and the ETA estimate. The spec itself is shared/sweep/spec.ts's, the same file `odsora sweep --spec` reads.
 */
import { z } from 'zod';
import { sweepJournalSchema } from '../sweep/journal';
import { sweepSpecSchema } from '../sweep/spec';
import { reportFileSchema, reportIdSchema } from './studio-contract-runs';

/** A studio sweep id (also its folder name under `sweeps/`). */
export const studioSweepIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 of [A-Za-z0-9._-]');

/**
 * What the studio is doing with a sweep now: `idle` (nothing: it ended, or was paused), `waiting` (resuming,
 * waiting for its devices to be paired), `running`, `pausing` / `cancelling` (waiting for the devices to confirm
 * the cancels of the runs in flight).
 */
export const sweepActivitySchema = z.enum(['idle', 'waiting', 'running', 'pausing', 'cancelling']);

const count = z.number().int().nonnegative();

/** One device's progress in a sweep. */
export const sweepDeviceProgressSchema = z.strictObject({
  /** The sweep's device id (spec `devices[].id`). */
  device: z.string(),
  total: count,
  finished: count,
  failed: count,
  /** The planned run in flight on it (null: none), and its studio run id once the device accepted it. */
  current: z
    .strictObject({
      planRunId: z.string(),
      kind: z.enum(['warmup', 'baseline', 'measured']),
      runId: z.string().nullable(),
    })
    .nullable(),
});

/** One sweep as the Sweeps screen lists it. */
export const sweepSummarySchema = z.strictObject({
  sweepId: studioSweepIdSchema,
  name: z.string().nullable(),
  /** The journal's state (`running` also for a sweep a killed studio left unfinished). */
  state: sweepJournalSchema.shape.state,
  activity: sweepActivitySchema,
  createdAtEpochMs: z.number(),
  updatedAtEpochMs: z.number(),
  total: count,
  finished: count,
  failed: count,
  devices: z.array(sweepDeviceProgressSchema),
  /** Why the last attempt to run it stopped short (devices not ready, an error), or null. */
  error: z.string().max(4096).nullable(),
});

/** One sweep in the list. */
export type SweepSummary = z.infer<typeof sweepSummarySchema>;

/** A reference to a sweep. */
export const sweepRefSchema = z.strictObject({ sweepId: studioSweepIdSchema });

/** Result of `sweeps.get`: the summary and the whole journal (runs, results, the points' statistics). */
export const sweepDetailSchema = z.strictObject({
  sweep: sweepSummarySchema,
  journal: sweepJournalSchema,
});

/** Result of `sweeps.get`. */
export type SweepDetail = z.infer<typeof sweepDetailSchema>;

/**
 * Args of `sweeps.start` and `sweeps.estimate`: a sweep spec (docs/sweeps.md). Its devices name the studio's:
 * `{ builtin: true }` is the built-in device, `{ address: "host:port" }` the device entry at that address,
 * `{ name }` the entry announcing that name; each must be paired when it starts.
 */
export const sweepsStartArgsSchema = z.strictObject({ spec: sweepSpecSchema });

/** Result of `sweeps.estimate`: the run count by kind and a rough duration. */
export const sweepEstimateSchema = z.strictObject({
  runs: z.strictObject({ warmup: count, baseline: count, measured: count, total: count }),
  /**
   * Per device: its runs and the wall time one run is assumed to take (`basis` says from what), or null when
   * history holds no finished run of that device.
   */
  devices: z.array(
    z.strictObject({
      device: z.string(),
      runs: count,
      perRunMs: z.number().nonnegative().nullable(),
      basis: z.string(),
    }),
  ),
  /** The slowest device's total (devices run in parallel); null when a device's time is unknown. */
  etaMs: z.number().nonnegative().nullable(),
});

/** Result of `sweeps.estimate`. */
export type SweepEstimate = z.infer<typeof sweepEstimateSchema>;

/**
 * Result of `sweeps.exportReport`: the report folder `<studio data>/reports/<reportId>/` (a new one per export)
 * holding the sweep report's files — `report.html`, `pareto.svg`, `parallel-coordinates.svg`, `sweep.csv`,
 * `sweep-points.csv` (docs/sweeps.md, Reports) — each with the URL the renderer opens it at, as `reports.export`'s.
 */
export const sweepReportResultSchema = z.strictObject({
  reportId: reportIdSchema,
  dir: z.string(),
  files: z.array(reportFileSchema.omit({ format: true })),
});

/** Result of `sweeps.exportReport`. */
export type SweepReportResult = z.infer<typeof sweepReportResultSchema>;
