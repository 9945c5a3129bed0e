/**
 * The sweep schemas of the studio contract (`studio-contract.ts` wires them to command names and re-exports them):
 * a sweep's summary (state, progress per device, what runs now), its detail (the journal, shared/sweep/journal.ts)
 * and the ETA estimate. The spec itself is shared/sweep/spec.ts's, the same file `odsora sweep --spec` reads.
 */
import { z } from 'zod';
import { sweepJournalSchema, sweepRunEntrySchema } from '../sweep/journal';
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

/**
 * Which start of the studio a sweep revision belongs to (random per start): revisions count from 0 again when the
 * studio starts, so a client compares revisions only within one epoch.
 */
export const sweepEpochSchema = z.string().regex(/^[0-9a-f]{8,32}$/, 'must be 8-32 lowercase hex digits');

/**
 * A sweep's revision: +1 per `sweep.updated` the studio pushes for it (0: none pushed since the studio started).
 * `sweeps.get` answers with the journal as of its revision (pushing first what changed since the last event).
 */
export const sweepRevisionSchema = z.number().int().nonnegative();

/** Result of `sweeps.get`: the summary and the whole journal (runs, results, the points' statistics) at a revision. */
export const sweepDetailSchema = z.strictObject({
  sweep: sweepSummarySchema,
  journal: sweepJournalSchema,
  epoch: sweepEpochSchema,
  revision: sweepRevisionSchema,
});

/** Result of `sweeps.get`. */
export type SweepDetail = z.infer<typeof sweepDetailSchema>;

/** At most this many changed runs travel in one `sweep.updated`; when more changed, its `runs` is null. */
export const SWEEP_UPDATE_MAX_RUNS = 200;

/**
 * The body of the pushed `sweep.updated` (studio-contract.ts adds `type`): the sweep's summary and what changed in
 * its journal since the previous revision. `journal`: the journal's top-level fields (all but `runs`) that changed;
 * `runs`: the whole entries of the runs that changed, in journal order. `runs` is null when the change cannot be
 * sent as a delta (more than {@link SWEEP_UPDATE_MAX_RUNS} runs changed; the journal's run list itself changed: a
 * new sweep's first journal; the sweep's first event since the studio started, when no client had read it yet);
 * `journal` is then empty and a client re-reads the sweep with `sweeps.get`. A client holding revision
 * `revision - 1` of the same epoch applies the delta (shared/sweep/delta.ts); one holding an older revision or
 * another epoch missed an event and re-reads; a newer or equal revision has the change already.
 */
export const sweepUpdateFields = {
  sweep: sweepSummarySchema,
  epoch: sweepEpochSchema,
  revision: sweepRevisionSchema.positive(),
  journal: sweepJournalSchema.omit({ runs: true }).partial(),
  runs: z.array(sweepRunEntrySchema).max(SWEEP_UPDATE_MAX_RUNS).nullable(),
};

/** What a `sweep.updated` carries. */
export type SweepUpdate = z.infer<z.ZodObject<typeof sweepUpdateFields>>;

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
