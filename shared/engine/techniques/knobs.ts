/**
 * The technique registry: every LPL / TDTM / CI-DL knob once — its name, kind, default, bounds, one line of help,
 * its CLI spelling — and the cross-field rules between them. The engine's validation (`validate.ts`), the wire
 * schema (shared/protocol/run.ts), the composer's form (src-renderer/composer/), the CLI's flags and `--help`
 * (`cli.ts`), history and report summaries (`summary.ts`) and the docs table (`docs.ts` → docs/techniques.md) are
 * all derived from the tables here. Defaults are the authors' code's (the On-device Sora app and Open-Sora's
 * `RFLOW`); the paper's iPhone setting is {@link PAPER_TECHNIQUES}.
 */

import type { VerifyPolicy } from '../blockset/load';
import type { RetentionPolicy } from '../cidl/plan';

/** True only when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** What every knob says about itself. */
interface KnobBase {
  /** A short label (the composer's field label). */
  readonly label: string;
  /** One line: what the knob does. */
  readonly help: string;
  /** Where the default comes from (e.g. `Python: 14`): in the docs, and after the bound in a number's messages. */
  readonly origin?: string;
  /**
   * The key inside its technique's CLI value (`--lpl dynamic:min=14`) or the flag (`--tdtm`); none: derived from
   * the field (`--cidl-verify`, `--no-cidl-x` for a boolean on by default, `dynamic:some-key=…`): see `cli.ts`.
   */
  readonly cli?: string;
  /**
   * May be absent on the wire and in GenerateParams, meaning its default. Every knob added after clients exist says
   * so, or their messages (written without it) would be refused.
   */
  readonly wireOptional?: true;
  /** The technique's one-line summary already shows this knob (`TDTM 15`): `summary.ts` does not repeat it. */
  readonly inSummary?: true;
}

/** An integer knob in `[min, max]`. */
export interface IntKnob extends KnobBase {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly default: number;
  /** What the integer counts, in messages (`step index`). */
  readonly unit?: string;
  /**
   * A 0-based step index people count from 1 out of the run's steps: the composer shows `value + 1` beside the live
   * `<tag> N/S` label (`LPL 16/30`), as {@link lplStepOfLeapStep} counts it.
   */
  readonly stepOfRun?: { readonly tag: string };
}

/** A finite number ≥ `min`. */
export interface NumberKnob extends KnobBase {
  readonly kind: 'number';
  readonly min: number;
  readonly default: number;
  /** The form input's step. */
  readonly step?: string;
}

/** One of a few words; `values` maps each to its label in the form. */
export interface EnumKnob<V extends string = string> extends KnobBase {
  readonly kind: 'enum';
  readonly values: Readonly<Record<V, string>>;
  readonly default: V;
  /** Other CLI spellings of a value (`slice` → `reference-slice`). */
  readonly aliases?: Readonly<Record<string, V>>;
}

/** On or off. */
export interface BooleanKnob extends KnobBase {
  readonly kind: 'boolean';
  readonly default: boolean;
}

/** One knob. */
export type KnobSpec = IntKnob | NumberKnob | EnumKnob | BooleanKnob;

/** The value a knob holds. */
export type KnobValue<K> = K extends { kind: 'int' | 'number' }
  ? number
  : K extends { kind: 'boolean' }
    ? boolean
    : K extends { kind: 'enum'; values: infer R }
      ? keyof R & string
      : never;

/** The values of a table of knobs, field by field. */
export type KnobValues<T> = { -readonly [F in keyof T]: KnobValue<T[F]> };

/** The fields of a table that may be absent on the wire (`wireOptional`). */
type WireOptional<T> = { [F in keyof T]: T[F] extends { wireOptional: true } ? F : never }[keyof T];

/** The values of a table as a client may send them: `wireOptional` fields may be absent. */
export type KnobInput<T> = Omit<KnobValues<T>, WireOptional<T>> &
  Partial<Pick<KnobValues<T>, WireOptional<T>>>;

const table = <T extends Record<string, KnobSpec>>(t: T): T => Object.freeze(t);

// ---- LPL ----------------------------------------------------------------------------------------------------

/** LPL's modes, each with its one line of help. */
export const LPL_MODES = Object.freeze({
  off: 'off',
  fixed: 'fixed step',
  dynamic: 'dynamic',
} as const);

/** An LPL mode. */
export type LplMode = keyof typeof LPL_MODES;

/** LPL in one line (the composer's help for the mode). */
export const LPL_HELP =
  'Stops denoising early and jumps straight to the end along the current velocity: fixed at a step, or when the cosine of consecutive velocities stops improving (dynamic).';

/** The fixed leap's knob (the wire's 0-based step index; people count it from 1: see {@link lplStepOfLeapStep}). */
export const LPL_FIXED_KNOBS = table({
  leapStep: {
    kind: 'int',
    min: 0,
    max: 10_000,
    default: 15,
    unit: 'step index',
    stepOfRun: { tag: 'LPL' },
    inSummary: true,
    label: 'Leap at step',
    help: 'Counted from 1: this step leaps, so this many of the steps run the model. LPL 16/30 is the paper’s setting, the same as odsora generate --lpl fixed:16 --steps 30.',
    cli: 'fixed',
  } satisfies IntKnob,
});

/** The dynamic rule's knobs: Open-Sora's `RFLOW.compute_cosine_simularity` constants are the defaults. */
export const LPL_DYNAMIC_KNOBS = table({
  minimumSteps: {
    kind: 'int',
    min: 0,
    max: 10_000,
    default: 14,
    unit: 'step index',
    label: 'Minimum steps',
    help: 'First step whose cosine counts toward the decision; at or past the step count the run never leaps.',
    origin: 'Python: 14',
    cli: 'min',
  } satisfies IntKnob,
  tolerance: {
    kind: 'number',
    min: 0,
    default: 1e-3,
    step: '0.0001',
    label: 'Tolerance',
    help: 'An improvement of the best cosine smaller than this does not count.',
    origin: 'Python 1e-3, paper 1e-4',
    cli: 'tol',
  } satisfies NumberKnob,
  patience: {
    kind: 'int',
    min: 1,
    max: 10_000,
    default: 3,
    label: 'Patience',
    help: 'Non-improving steps allowed before leaping.',
    origin: 'Python: 3',
    cli: 'patience',
  } satisfies IntKnob,
  measure: {
    kind: 'enum',
    values: { whole: 'whole tensor', 'reference-slice': 'reference slice (Python)' },
    default: 'reference-slice',
    aliases: { slice: 'reference-slice' },
    label: 'Measure',
    help: "Cosine over the whole velocity, or Python's row mean on the reference slice v[0,0,0].",
    cli: 'measure',
  } satisfies EnumKnob<'whole' | 'reference-slice'>,
});

/** Where the dynamic rule measures the cosine between consecutive guided velocities. */
export type LplMeasure = KnobValue<(typeof LPL_DYNAMIC_KNOBS)['measure']>;

/** The fixed leap's settings. */
export type LplFixedSettings = KnobValues<typeof LPL_FIXED_KNOBS>;
/** The dynamic rule's settings. */
export type LplDynamicSettings = KnobValues<typeof LPL_DYNAMIC_KNOBS>;

/**
 * LPL settings (shared/engine/sampler/lpl.ts runs them). Python's adaptive rule is {@link PYTHON_DYNAMIC_LPL}; the
 * app's is `{ mode: 'fixed', leapStep: 15 }` (LPL 16/30).
 */
export type LplOptions =
  | { mode: 'off' }
  | ({ mode: 'fixed' } & KnobInput<typeof LPL_FIXED_KNOBS>)
  | ({ mode: 'dynamic' } & KnobInput<typeof LPL_DYNAMIC_KNOBS>);

/** The default settings of a table of knobs. */
export function defaultsOf<T extends Record<string, KnobSpec>>(knobs: T): KnobValues<T> {
  const out: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(knobs)) out[field] = spec.default;
  return out as KnobValues<T>;
}

/** `values` with each absent `wireOptional` knob of the table at its default (a required one stays absent). */
export function withWireDefaults<T extends object>(knobs: Readonly<Record<string, KnobSpec>>, values: T): T {
  const missing = Object.entries(knobs).filter(
    ([field, spec]) => spec.wireOptional === true && (values as Record<string, unknown>)[field] === undefined,
  );
  if (missing.length === 0) return values;
  return { ...values, ...Object.fromEntries(missing.map(([field, spec]) => [field, spec.default])) };
}

/** A table's settings read from an object that holds them among other things; absent fields take their defaults. */
export function settingsOf<T extends Record<string, KnobSpec>>(
  knobs: T,
  values: object | undefined,
): KnobValues<T> {
  const out: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(knobs))
    out[field] = (values as Record<string, unknown> | undefined)?.[field] ?? spec.default;
  return out as KnobValues<T>;
}

/** The authors' Python adaptive rule with its hard-coded constants. */
export const PYTHON_DYNAMIC_LPL: Readonly<Extract<LplOptions, { mode: 'dynamic' }>> = Object.freeze({
  mode: 'dynamic',
  ...defaultsOf(LPL_DYNAMIC_KNOBS),
});

/**
 * How a fixed leap is counted wherever a person reads or types it: `odsora generate --lpl fixed:N`, the composer,
 * run reports, history, the model card and the benchmarks. **LPL N/S** means the leap is taken at step N of S,
 * counting from 1: N of the S steps run the model, and step N's velocity carries the latent straight to t = 0 (the
 * paper's "16/30": 16 model passes of 30). The engine and the wire protocol hold the same step as a 0-based index,
 * `leapStep = N − 1`; these two functions are the only conversion.
 */
export function leapStepOfLplStep(n: number): number {
  return n - 1;
}

/** The step a person counts (from 1) for the engine's 0-based `leapStep`: see {@link leapStepOfLplStep}. */
export function lplStepOfLeapStep(leapStep: number): number {
  return leapStep + 1;
}

/** The paper's and the iPhone app's fixed leap for 30 steps: LPL 16/30 (`leapStep` 15, the app's `numLpltarget`). */
export const PAPER_LPL_STEP = lplStepOfLeapStep(LPL_FIXED_KNOBS.leapStep.default);

// ---- TDTM ---------------------------------------------------------------------------------------------------

/** TDTM's knob: steps with index < mergeSteps run with pairs of frames merged. */
export const TDTM_KNOBS = table({
  mergeSteps: {
    kind: 'int',
    min: 0,
    max: 1000,
    default: 0,
    inSummary: true,
    label: 'TDTM merge steps',
    help: 'Temporal Dimension Token Merging: the first N steps run with pairs of frames merged (about half the attention cost); 0 = off, at most the step count.',
    cli: '--tdtm',
  } satisfies IntKnob,
});

/** TDTM settings. */
export type TdtmOptions = KnobValues<typeof TDTM_KNOBS>;

// ---- CI-DL --------------------------------------------------------------------------------------------------

/** CI-DL in one line (the composer's help for the switch). */
export const CIDL_HELP =
  'Concurrent Inference with Dynamic Loading: blocks load while others compute and leave memory when the budget is full. Off: every block stays resident.';

/**
 * CI-DL's budget: a BudgetSpec (shared/engine/cidl/budget.ts) written in the CLI's grammar. Not a table knob: its
 * value is a grammar, parsed by `parseBudget`; the default (nothing given) is `unlimited`.
 */
export const CIDL_BUDGET = Object.freeze({
  label: 'CI-DL budget',
  help: 'Block memory allowed: auto (what the device has), a share of the blocks (50%) or a size (512MiB).',
  cli: '--cidl-budget',
  grammar: 'all | 50% | 512MiB | auto',
  defaultText: 'all',
});

/** CI-DL's other knobs. */
export const CIDL_KNOBS = table({
  policy: {
    kind: 'enum',
    values: {
      paper: 'the first blocks in pass order stay (On-device Sora)',
      none: 'no block stays between passes',
      'largest-first': 'the largest blocks that fit stay',
    },
    default: 'paper',
    label: 'CI-DL retention policy',
    help: 'Which blocks stay resident across passes under the budget.',
    cli: '--cidl-policy',
  } satisfies EnumKnob<'paper' | 'none' | 'largest-first'>,
  prefetch: {
    kind: 'boolean',
    default: true,
    label: 'CI-DL prefetch',
    help: 'Load the next block while one computes.',
    cli: '--no-prefetch',
  } satisfies BooleanKnob,
  verify: {
    kind: 'enum',
    values: {
      'first-load': 'on its first load in this process',
      'every-load': 'on every load',
      off: 'never',
    },
    default: 'first-load',
    label: 'CI-DL verify',
    help: 'When a block file’s SHA-256 is checked against the manifest.',
  } satisfies EnumKnob<'first-load' | 'every-load' | 'off'>,
});

/** CI-DL settings other than the budget. */
export type CidlKnobValues = KnobValues<typeof CIDL_KNOBS>;

/** CI-DL switched off (the composer's switch, the baseline preset): every block resident, nothing prefetched. */
export const CIDL_OFF = Object.freeze({
  budget: Object.freeze({ kind: 'unlimited' } as const),
  policy: 'none',
  prefetch: false,
} as const satisfies { budget: { kind: 'unlimited' }; policy: CidlKnobValues['policy']; prefetch: boolean });

// The scheduler's and the loader's own names for these values are the registry's (a value added on one side only
// fails here).
const policiesInSync: Same<CidlKnobValues['policy'], RetentionPolicy> = true;
const verifyInSync: Same<CidlKnobValues['verify'], VerifyPolicy> = true;
void [policiesInSync, verifyInSync];

// ---- The walk -------------------------------------------------------------------------------------------------

/** The techniques that have knobs, by their key in GenerateParams / RunParams. */
export type TechniqueKey = 'lpl' | 'tdtm' | 'cidl';

/** Each technique's short name, as summaries and help texts write it. */
export const TECHNIQUE_NAMES: Readonly<Record<TechniqueKey, string>> = Object.freeze({
  lpl: 'LPL',
  tdtm: 'TDTM',
  cidl: 'CI-DL',
});

/** One knob with where it sits: `lpl.minimumSteps` (LPL's `dynamic` mode), `tdtm.mergeSteps`, `cidl.verify`. */
export interface KnobEntry {
  readonly technique: TechniqueKey;
  /** The LPL mode whose table holds it. */
  readonly mode?: Exclude<LplMode, 'off'>;
  readonly field: string;
  readonly spec: KnobSpec;
  /** `technique.field`: the wire path, the docs row, the composer's and the engine's error field. */
  readonly path: string;
}

/** Every knob of every technique, in the registry's order: what the tests walk so no knob is forgotten. */
export function everyKnob(): readonly KnobEntry[] {
  const tables: [TechniqueKey, Exclude<LplMode, 'off'> | undefined, Record<string, KnobSpec>][] = [
    ['lpl', 'fixed', LPL_FIXED_KNOBS],
    ['lpl', 'dynamic', LPL_DYNAMIC_KNOBS],
    ['tdtm', undefined, TDTM_KNOBS],
    ['cidl', undefined, CIDL_KNOBS],
  ];
  return tables.flatMap(([technique, mode, knobs]) =>
    Object.entries(knobs).map(([field, spec]) => ({
      technique,
      ...(mode === undefined ? {} : { mode }),
      field,
      spec,
      path: `${technique}.${field}`,
    })),
  );
}

// ---- Settings ---------------------------------------------------------------------------------------------------

/**
 * The paper's iPhone setting ("Paper defaults"): 30 steps, LPL 16/30, TDTM on the first 15 steps, CI-DL within the
 * device's memory (`auto`).
 */
export const PAPER_TECHNIQUES = Object.freeze({
  steps: 30,
  lpl: Object.freeze({ mode: 'fixed', leapStep: LPL_FIXED_KNOBS.leapStep.default } as const),
  tdtm: Object.freeze({ mergeSteps: 15 }),
  cidlBudget: 'auto',
});
