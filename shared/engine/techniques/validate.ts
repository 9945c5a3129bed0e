/**
 * The engine's checks of LPL / TDTM / CI-DL settings, derived from the registry (`knobs.ts`): each knob's kind and
 * bounds, then the cross-field rules of {@link TECHNIQUE_RULES}. Every host runs these same checks: the engine
 * (generate-params.ts, denoise-job.ts, the LPL controller), the composer and the CLI.
 */
import {
  LPL_DYNAMIC_KNOBS,
  LPL_FIXED_KNOBS,
  LPL_MODES,
  lplStepOfLeapStep,
  TDTM_KNOBS,
  type KnobSpec,
  type LplOptions,
  withWireDefaults,
} from './knobs';

/** The cross-field rules, in words (the docs table); each is enforced where its comment says. */
export const TECHNIQUE_RULES = Object.freeze([
  {
    field: 'lpl.leapStep',
    rule: 'below the step count: LPL N/S needs 1 ≤ N ≤ S (validateLplOptions)',
  },
  {
    field: 'lpl.minimumSteps',
    rule: 'may reach the step count: the dynamic rule then never leaps and every step runs, as in the authors’ code',
  },
  {
    field: 'tdtm.mergeSteps',
    rule: 'at most the step count; above 0 needs at least 2 latent frames (tdtmProblem)',
  },
] as const);

/** `'a', 'b' or 'c'`. */
function alternatives(values: readonly string[]): string {
  const q = values.map((v) => `'${v}'`);
  return q.length < 2 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/** Why `value` is not a valid value of `spec` ("must be …, got …"), or null when it is. */
export function knobProblem(spec: KnobSpec, value: unknown): string | null {
  const origin = spec.origin === undefined ? '' : ` (${spec.origin})`;
  switch (spec.kind) {
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min) {
        const what =
          spec.min === 0
            ? `a non-negative integer${spec.unit === undefined ? '' : ` ${spec.unit}`}`
            : `an integer ≥ ${spec.min}`;
        return `must be ${what}${origin}, got ${String(value)}`;
      }
      return value > spec.max ? `must be at most ${spec.max}, got ${value}` : null;
    }
    case 'number':
      return typeof value !== 'number' || !Number.isFinite(value) || value < spec.min
        ? `must be a finite number ≥ ${spec.min}${origin}, got ${String(value)}`
        : null;
    case 'enum':
      return typeof value === 'string' && Object.hasOwn(spec.values, value)
        ? null
        : `must be ${alternatives(Object.keys(spec.values))}, got ${JSON.stringify(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `must be true or false, got ${JSON.stringify(value)}`;
  }
}

/** The first field of `values` that `knobs` refuses: `[field, why]`, or null. */
export function knobsProblem(
  knobs: Readonly<Record<string, KnobSpec>>,
  values: object,
): [field: string, why: string] | null {
  for (const [field, spec] of Object.entries(knobs)) {
    const why = knobProblem(spec, (values as Record<string, unknown>)[field]);
    if (why !== null) return [field, why];
  }
  return null;
}

/** Thrown for invalid LPL options; `message` says why, `field` names the option (`leapStep`; '' for the whole). */
export class LplOptionsError extends Error {
  override readonly name = 'LplOptionsError';
  constructor(
    message: string,
    readonly field: string = '',
  ) {
    super(message);
  }
}

/** Checks LPL options (and, given the step count, that a fixed leap step exists); returns them or throws. */
export function validateLplOptions(options: LplOptions, steps?: number): LplOptions {
  if (options === null || typeof options !== 'object')
    throw new LplOptionsError('LPL: options must be an object');
  if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) {
    throw new LplOptionsError(`LPL: the step count must be a positive integer, got ${steps}`, 'steps');
  }
  const mode = (options as { mode?: unknown }).mode;
  if (mode === 'off') return options;
  if (mode !== 'fixed' && mode !== 'dynamic')
    throw new LplOptionsError(
      `LPL: unknown mode ${JSON.stringify(mode)} (expected ${alternatives(Object.keys(LPL_MODES))})`,
      'mode',
    );
  const table = mode === 'fixed' ? LPL_FIXED_KNOBS : LPL_DYNAMIC_KNOBS;
  const bad = knobsProblem(table, withWireDefaults(table, options));
  if (bad !== null) throw new LplOptionsError(`LPL ${mode}: ${bad[0]} ${bad[1]}`, bad[0]);
  if (options.mode === 'fixed' && steps !== undefined && options.leapStep >= steps) {
    const { leapStep } = options;
    throw new LplOptionsError(
      `LPL fixed: leapStep ${leapStep} is not a step of a ${steps}-step run (steps are 0..${steps - 1}): ` +
        `LPL ${lplStepOfLeapStep(leapStep)}/${steps} would leap past the last step`,
      'leapStep',
    );
  }
  return options;
}

/**
 * Why a fixed leap typed as people count it (LPL N/steps, N from 1) is refused, or null: the composer's and the
 * CLI's check before the 0-based one.
 */
export function lplStepProblem(n: number, steps?: number): string | null {
  const known = steps !== undefined && Number.isInteger(steps) && steps >= 1;
  if (Number.isInteger(n) && n >= 1 && (!known || n <= steps)) return null;
  return known
    ? `LPL: the step that leaps is counted from 1 and must be 1..${steps} in a ${steps}-step run (LPL N/${steps}), got ${n}`
    : `LPL: the step that leaps is counted from 1 (LPL 16/30: step 16 of 30), got ${n}`;
}

/**
 * Why a TDTM merge-step count is refused, or null: the knob's bounds, then (where known) at most the step count
 * and at least 2 latent frames to merge.
 */
export function tdtmProblem(
  mergeSteps: unknown,
  context: { steps?: number; latentFrames?: number } = {},
): string | null {
  const why = knobProblem(TDTM_KNOBS.mergeSteps, mergeSteps);
  if (why !== null) return why;
  const m = mergeSteps as number;
  if (context.steps !== undefined && m > context.steps)
    return `(${m}) exceed the step count ${context.steps}`;
  if (context.latentFrames !== undefined && m > 0 && context.latentFrames < 2)
    return `needs at least 2 latent frames to merge; the job has ${context.latentFrames}`;
  return null;
}
