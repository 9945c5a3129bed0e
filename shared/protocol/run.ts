/**
 * Run parameters and run events: what `run.start` carries (the engine's full GenerateParams minus host-only fields)
 * and what a run's event log holds (engine telemetry plus run-level events).
 */
import { z } from 'zod';
import type { GenerateParams, ModelRunDefaults } from '../engine/pipeline/generate';
import {
  CIDL_KNOBS,
  LPL_DYNAMIC_KNOBS,
  LPL_FIXED_KNOBS,
  TDTM_KNOBS,
  type KnobSpec,
  type KnobValue,
} from '../engine/techniques/knobs';
import { engineEventForVersion, engineEventSchemas, type Same } from './engine-events';
import { MAX_PROMPT_CHARS } from './limits';
import { RUN_THERMAL_SINCE_VERSION, reportedThermalSchema, type ThermalState } from './thermal';

const posInt = (max: number) => z.number().int().min(1).max(max);
const nonNegInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A device-assigned run id: 1-64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._-]');

/** A registry knob's wire schema: its kind and bounds (shared/engine/techniques/knobs.ts). */
function knobSchema(spec: KnobSpec): z.ZodType {
  switch (spec.kind) {
    case 'int':
      return z.number().int().min(spec.min).max(spec.max);
    case 'number':
      return z.number().min(spec.min);
    case 'enum':
      return z.enum(Object.keys(spec.values) as [string, ...string[]]);
    case 'boolean':
      return z.boolean();
  }
}

/** The wire schemas of a table of registry knobs, field by field (a `wireOptional` knob may be absent). */
function knobShape<T extends Record<string, KnobSpec>>(
  knobs: T,
): {
  [F in keyof T]: T[F] extends { wireOptional: true }
    ? z.ZodOptional<z.ZodType<KnobValue<T[F]>>>
    : z.ZodType<KnobValue<T[F]>>;
} {
  const shape: Record<string, z.ZodType> = {};
  for (const [field, spec] of Object.entries(knobs))
    shape[field] = spec.wireOptional === true ? knobSchema(spec).optional() : knobSchema(spec);
  return shape as never;
}

/** The same, each field optional (absent: the engine's default). */
function optionalKnobShape<T extends Record<string, KnobSpec>>(
  knobs: T,
): { [F in keyof T]: z.ZodOptional<z.ZodType<KnobValue<T[F]>>> } {
  const shape: Record<string, z.ZodType> = {};
  for (const [field, spec] of Object.entries(knobs)) shape[field] = knobSchema(spec).optional();
  return shape as { [F in keyof T]: z.ZodOptional<z.ZodType<KnobValue<T[F]>>> };
}

/** Linear Proportional Leap (shared/engine/sampler/lpl.ts), derived from the technique registry. */
export const lplSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('off') }),
  z.strictObject({ mode: z.literal('fixed'), ...knobShape(LPL_FIXED_KNOBS) }),
  z.strictObject({ mode: z.literal('dynamic'), ...knobShape(LPL_DYNAMIC_KNOBS) }),
]);

/** TDTM (shared/engine/techniques/knobs.ts). */
export const tdtmSchema = z.strictObject(knobShape(TDTM_KNOBS));

/** CI-DL block memory budget (shared/engine/cidl/budget.ts). */
export const budgetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('unlimited') }),
  z.strictObject({
    kind: z.literal('bytes'),
    bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  }),
  z.strictObject({ kind: z.literal('fraction'), of: z.number().gt(0).max(1) }),
  z.strictObject({ kind: z.literal('auto'), reserveBytes: nonNegInt.optional() }),
]);

/** CI-DL knobs. */
export const cidlSchema = z.strictObject({ budget: budgetSchema, ...optionalKnobShape(CIDL_KNOBS) });

/** The timestep transform's ratio: Python's frame-count rule, the app's, or a fixed ratio. */
export const ratioTimeSchema = z.union([z.literal('python'), z.literal('app'), z.number().gt(0)]);

/** How the prompt is prepared before tokenisation. */
export const promptStyleSchema = z.enum(['python', 'app', 'none']);

/**
 * The engine parameters of one run. Absent fields take the model's defaults (generate.ts). The initial-noise tensor
 * `z0` is not sendable: runs are reproduced from `seed` (the noise generator is portable).
 */
export const runParamsSchema = z.strictObject({
  prompt: z.string().min(1).max(MAX_PROMPT_CHARS),
  seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  steps: posInt(1000).optional(),
  cfgScale: z.number().optional(),
  numFrames: posInt(1024).optional(),
  heightPx: posInt(4096).optional(),
  widthPx: posInt(4096).optional(),
  fps: z.number().gt(0).max(240).optional(),
  lpl: lplSchema.optional(),
  tdtm: tdtmSchema.optional(),
  cidl: cidlSchema.optional(),
  promptStyle: promptStyleSchema.optional(),
  aestheticScore: z.number().nullable().optional(),
  timesteps: z
    .strictObject({
      discrete: z.boolean().optional(),
      transform: z.boolean().optional(),
      ratioTime: ratioTimeSchema.optional(),
    })
    .optional(),
});

/** The engine parameters of one run. */
export type RunParams = z.infer<typeof runParamsSchema>;

/**
 * What each model-dependent `params` field is on a device's model when a run leaves it out (device info
 * `runModel.defaults`, protocol version 2): every field present, with the ranges a request may send.
 */
export const runDefaultsSchema = runParamsSchema
  .pick({
    steps: true,
    cfgScale: true,
    numFrames: true,
    heightPx: true,
    widthPx: true,
    fps: true,
    promptStyle: true,
    aestheticScore: true,
  })
  .required()
  .extend({
    timesteps: z.strictObject({ discrete: z.boolean(), transform: z.boolean(), ratioTime: ratioTimeSchema }),
  });

/** A model's run defaults. */
export type RunDefaults = z.infer<typeof runDefaultsSchema>;

// The engine's defaults are exactly what the wire carries.
const defaultsInSync: Same<RunDefaults, ModelRunDefaults> = true;
void defaultsInSync;

// Every sendable parameter set is a valid GenerateParams (a renamed or retyped engine field fails here).
const runParamsFitEngine: RunParams extends GenerateParams ? true : false = true;
// ...and every GenerateParams field except the host-only z0 is sendable.
const engineFitsRunParams: Same<keyof RunParams, Exclude<keyof GenerateParams, 'z0' | 'prompt_style'>> = true;
void [runParamsFitEngine, engineFitsRunParams];

/** Image encodings of previews and frames on the wire (binary frame kinds). */
export const imageFormatSchema = z.enum(['image-rgb8', 'png']);
/** Image encoding of previews and frames. */
export type ImageFormat = z.infer<typeof imageFormatSchema>;

/** Preview cadence: every `everySteps` denoising steps, decode small frames no larger than `maxEdgePx`. */
export const previewSettingsSchema = z.strictObject({
  everySteps: posInt(1000),
  maxEdgePx: z.number().int().min(16).max(1024),
  format: imageFormatSchema,
});

/** Preview cadence. */
export type PreviewSettings = z.infer<typeof previewSettingsSchema>;

/** Where a run is in its life. Terminal: finished, failed, cancelled, interrupted. */
export const runStateSchema = z.enum(['queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted']);
/** Where a run is in its life. */
export type RunState = z.infer<typeof runStateSchema>;

/**
 * The device's thermal state when the run started (on `run.started`) or ended (on the terminal events): protocol 3
 * on, left out of older sessions' events ({@link runEventForVersion}); absent when the device did not read it.
 */
const thermal = reportedThermalSchema.optional();

/** Events the companion adds to a run's log around the engine's own. */
export const runLevelEventSchemas = [
  /** First event of every run: `position` runs are ahead of it (0 = it starts next). */
  z.strictObject({ type: z.literal('run.queued'), atMs: z.number(), position: nonNegInt }),
  z.strictObject({ type: z.literal('run.started'), atMs: z.number(), thermal }),
  /** `frames` binary frames (purpose preview, seq = this event's seq) follow this event on a live stream. */
  z.strictObject({
    type: z.literal('preview.ready'),
    atMs: z.number(),
    step: nonNegInt,
    frames: posInt(1024),
    width: posInt(4096),
    height: posInt(4096),
    format: imageFormatSchema,
  }),
  z.strictObject({
    type: z.literal('run.finished'),
    atMs: z.number(),
    frames: posInt(100_000),
    width: posInt(4096),
    height: posInt(4096),
    fps: z.number().gt(0),
    stepsRun: nonNegInt,
    timings: z.strictObject({
      loadMs: z.number(),
      textMs: z.number(),
      denoiseMs: z.number(),
      decodeMs: z.number(),
      totalMs: z.number(),
    }),
    thermal,
  }),
  z.strictObject({
    type: z.literal('run.failed'),
    atMs: z.number(),
    code: z.enum(['invalid-params', 'out-of-memory', 'engine-error', 'internal']),
    message: z.string().max(4096),
    field: z.string().max(256).optional(),
    thermal,
  }),
  z.strictObject({
    type: z.literal('run.cancelled'),
    atMs: z.number(),
    byClientId: z.string().max(128).nullable(),
    thermal,
  }),
  z.strictObject({
    type: z.literal('run.interrupted'),
    atMs: z.number(),
    reason: z.enum(['device-restarted', 'engine-crashed', 'shutdown']),
    thermal,
  }),
  /**
   * Stands in for an entry the device stored but could not read back after a restart (its storage was damaged):
   * the content is gone, the seq is never given to another event. `atMs` is the entry's before it (0 for none).
   */
  z.strictObject({ type: z.literal('event.lost'), atMs: z.number() }),
] as const;

/** Anything in a run's event log: an engine event or a run-level event. */
export const runEventSchema = z.discriminatedUnion('type', [...engineEventSchemas, ...runLevelEventSchemas]);

/** Anything in a run's event log. */
export type RunEvent = z.infer<typeof runEventSchema>;
/** A run-level event. */
export type RunLevelEvent = Extract<RunEvent, { type: `run.${string}` | 'preview.ready' | 'event.lost' }>;

/** Run-level events after which a log takes no more events. */
export const TERMINAL_RUN_EVENT_TYPES = [
  'run.finished',
  'run.failed',
  'run.cancelled',
  'run.interrupted',
] as const;

/**
 * A run event as a session of `protocolVersion` is sent it (fields added by later versions left out: older studios
 * validate strict objects and would drop the event). The one place a device applies this is where it sends
 * `run.event` (shared/companion/subscriptions.ts), for live events and replays alike.
 */
export function runEventForVersion(event: RunEvent, protocolVersion: number): RunEvent {
  if (protocolVersion >= RUN_THERMAL_SINCE_VERSION || !('thermal' in event)) {
    return engineEventForVersion(event, protocolVersion);
  }
  const { thermal: _later, ...older } = event;
  return older as RunEvent;
}

/** The thermal state a run-level event carries (`run.started`: at the start; a terminal event: at the end). */
export function thermalOf(event: RunEvent): ThermalState | null | undefined {
  return 'thermal' in event ? event.thermal : undefined;
}

/** True for the event that ends a run's log. */
export function isTerminalRunEvent(event: { type: string }): boolean {
  return (TERMINAL_RUN_EVENT_TYPES as readonly string[]).includes(event.type);
}

/** The state a run is in after `event` (null: the event does not change it). */
export function runStateAfter(event: { type: string }): RunState | null {
  switch (event.type) {
    case 'run.queued':
      return 'queued';
    case 'run.started':
      return 'running';
    case 'run.finished':
      return 'finished';
    case 'run.failed':
      return 'failed';
    case 'run.cancelled':
      return 'cancelled';
    case 'run.interrupted':
      return 'interrupted';
    default:
      return null;
  }
}
