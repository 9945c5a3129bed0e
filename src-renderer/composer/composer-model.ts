// The composer's form, its presets and its validation: the zod `runParamsSchema` plus the technique registry's
// cross-field rules the engine would otherwise reject after the job was sent (a leap step past the last step, more
// merged steps than steps), and previews every more steps than the run has. The technique part of the form holds
// each registry table's values as the wire does (shared/engine/techniques/knobs.ts: fields, defaults and bounds), so
// a knob added there is in the form, its run parameters and "run again" with no edit here.
import { parseBudget } from '../../shared/engine/cidl/budget';
import {
  CIDL_KNOBS,
  CIDL_OFF,
  defaultsOf,
  leapStepOfLplStep,
  LPL_DYNAMIC_KNOBS,
  LPL_FIXED_KNOBS,
  lplStepOfLeapStep,
  PAPER_TECHNIQUES,
  settingsOf,
  TDTM_KNOBS,
  type CidlKnobValues,
  type IntKnob,
  type LplDynamicSettings,
  type LplFixedSettings,
  type LplMode,
  type LplOptions,
  type TdtmOptions,
} from '../../shared/engine/techniques/knobs';
import { lplStepProblem, tdtmProblem, validateLplOptions } from '../../shared/engine/techniques/validate';
import { runParamsSchema, type PreviewSettings, type RunParams } from '../../shared/protocol/run';
import { describeIssues } from '../../shared/protocol/studio-contract';

export type { LplMode };

/** Everything the composer edits (numbers may be NaN while a field is being typed). */
export interface ComposerForm {
  prompt: string;
  seed: number;
  steps: number;
  cfgScale: number;
  /** Null: the device model's default. */
  numFrames: number | null;
  heightPx: number | null;
  widthPx: number | null;
  /** LPL's mode and each mode's registry table (the fixed leap as the wire's 0-based `leapStep`). */
  lpl: { mode: LplMode; fixed: LplFixedSettings; dynamic: LplDynamicSettings };
  /** TDTM's registry table. */
  tdtm: TdtmOptions;
  /** CI-DL's switch (off sends {@link CIDL_OFF}), its budget in the CLI's grammar (`auto`, `50%`, `512MiB`, `all`) and its registry table. */
  cidl: { enabled: boolean; budget: string; knobs: CidlKnobValues };
  previews: boolean;
  previewEverySteps: number;
}

/** A named preset: what it sets and why. */
export interface Preset {
  id: 'paper' | 'baseline' | 'demo';
  label: string;
  explain: string;
  apply: (form: ComposerForm) => ComposerForm;
}

/** The form a fresh composer shows (the paper's defaults). */
export const DEFAULT_FORM: ComposerForm = {
  prompt: 'a red circle moving right on a black background',
  seed: 1,
  steps: PAPER_TECHNIQUES.steps,
  cfgScale: 7,
  numFrames: null,
  heightPx: null,
  widthPx: null,
  lpl: {
    mode: PAPER_TECHNIQUES.lpl.mode,
    fixed: settingsOf(LPL_FIXED_KNOBS, PAPER_TECHNIQUES.lpl),
    dynamic: defaultsOf(LPL_DYNAMIC_KNOBS),
  },
  tdtm: settingsOf(TDTM_KNOBS, PAPER_TECHNIQUES.tdtm),
  cidl: { enabled: true, budget: PAPER_TECHNIQUES.cidlBudget, knobs: defaultsOf(CIDL_KNOBS) },
  previews: true,
  previewEverySteps: 5,
};

/** The three presets. */
export const PRESETS: readonly Preset[] = [
  {
    id: 'paper',
    label: 'Paper defaults',
    explain:
      'The paper’s iPhone setting: 30 steps, LPL 16/30 (step 16 leaps), TDTM merges the first 15 steps, CI-DL on within the device’s memory (auto budget).',
    apply: (f) => ({
      ...f,
      steps: PAPER_TECHNIQUES.steps,
      lpl: { ...f.lpl, mode: DEFAULT_FORM.lpl.mode, fixed: DEFAULT_FORM.lpl.fixed },
      tdtm: DEFAULT_FORM.tdtm,
      cidl: { ...f.cidl, enabled: true, budget: PAPER_TECHNIQUES.cidlBudget },
    }),
  },
  {
    id: 'baseline',
    label: 'Baseline (all off)',
    explain:
      'Every technique off: all 30 steps, no merging, every block resident. What the techniques are measured against.',
    apply: (f) => ({
      ...f,
      steps: 30,
      lpl: { ...f.lpl, mode: 'off' },
      tdtm: { ...f.tdtm, mergeSteps: 0 },
      cidl: { ...f.cidl, enabled: false },
    }),
  },
  {
    id: 'demo',
    label: 'Demo',
    explain:
      'Fast and visible on stage: 20 steps, LPL 10/20, TDTM on the first 10, CI-DL at a 50 % budget so blocks visibly load and release, a preview every 2 steps.',
    apply: (f) => ({
      ...f,
      steps: 20,
      lpl: { ...f.lpl, mode: 'fixed', fixed: { ...f.lpl.fixed, leapStep: leapStepOfLplStep(10) } },
      tdtm: { ...f.tdtm, mergeSteps: 10 },
      cidl: { ...f.cidl, enabled: true, budget: '50%' },
      previews: true,
      previewEverySteps: 2,
    }),
  },
];

/** What the composer would send, or why it will not. */
export type ComposerResult =
  | { ok: true; params: RunParams; preview: PreviewSettings | null }
  | { ok: false; field: string; reason: string };

function fail(field: string, reason: string): ComposerResult {
  return { ok: false, field, reason };
}

function lplOf(form: ComposerForm): LplOptions {
  const { mode } = form.lpl;
  return mode === 'off' ? { mode } : ({ mode, ...form.lpl[mode] } as LplOptions);
}

/**
 * The live label of a step people count from 1 out of the run's steps, as the form stands (`LPL 16/30`; `?` for a
 * number being typed): the registry's `stepOfRun` knobs (the fixed leap).
 */
export function stepOfRunLabel(spec: IntKnob, value: number, steps: number): string {
  const n = Number.isInteger(value) ? String(lplStepOfLeapStep(value)) : '?';
  return `${spec.stepOfRun?.tag ?? spec.label} ${n}/${Number.isInteger(steps) ? String(steps) : '?'}`;
}

/** Builds the run parameters from the form, refusing impossible combinations with the reason. */
export function buildRunParams(form: ComposerForm): ComposerResult {
  let budget;
  try {
    budget = form.cidl.enabled ? parseBudget(form.cidl.budget) : CIDL_OFF.budget;
  } catch (err) {
    return fail('cidl.budget', err instanceof Error ? err.message : String(err));
  }
  // People count a step of the run from 1 (LPL N/steps); say so in those terms before the engine's 0-based check.
  const stepsKnown = Number.isInteger(form.steps) && form.steps >= 1;
  if (form.lpl.mode !== 'off' && stepsKnown) {
    const table: Record<string, { kind: string; stepOfRun?: unknown }> =
      form.lpl.mode === 'fixed' ? LPL_FIXED_KNOBS : LPL_DYNAMIC_KNOBS;
    const values: Record<string, unknown> = form.lpl[form.lpl.mode];
    for (const [field, spec] of Object.entries(table)) {
      const why =
        spec.stepOfRun === undefined
          ? null
          : lplStepProblem(lplStepOfLeapStep(Number(values[field])), form.steps);
      if (why !== null) return fail('lpl', why);
    }
  }
  const raw: RunParams = {
    prompt: form.prompt.trim(),
    seed: form.seed,
    steps: form.steps,
    cfgScale: form.cfgScale,
    lpl: lplOf(form),
    tdtm: form.tdtm,
    cidl: form.cidl.enabled ? { budget, ...form.cidl.knobs } : { ...CIDL_OFF },
    ...(form.numFrames !== null ? { numFrames: form.numFrames } : {}),
    ...(form.heightPx !== null ? { heightPx: form.heightPx } : {}),
    ...(form.widthPx !== null ? { widthPx: form.widthPx } : {}),
  };
  const parsed = runParamsSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return fail(first?.path.map(String).join('.') || 'params', describeIssues(parsed.error));
  }
  const params = parsed.data;
  const steps = params.steps ?? 30;
  if (form.lpl.mode !== 'off') {
    try {
      validateLplOptions(lplOf(form), steps);
    } catch (err) {
      return fail('lpl', err instanceof Error ? err.message : String(err));
    }
  }
  // A dynamic minimum step at or past the step count is accepted, as by the engine: that run never leaps.
  const tdtmWhy = tdtmProblem(form.tdtm.mergeSteps, { steps });
  if (tdtmWhy !== null) return fail('tdtm.mergeSteps', `${TDTM_KNOBS.mergeSteps.label} ${tdtmWhy}`);
  if (form.numFrames !== null && form.tdtm.mergeSteps > 0 && form.numFrames < 2) {
    return fail('tdtm.mergeSteps', 'TDTM merges pairs of frames: it needs at least 2 frames');
  }
  let preview: PreviewSettings | null = null;
  if (form.previews) {
    if (!Number.isInteger(form.previewEverySteps) || form.previewEverySteps < 1) {
      return fail('preview.everySteps', 'previews: "every N steps" must be a whole number ≥ 1');
    }
    if (form.previewEverySteps > steps) {
      return fail(
        'preview.everySteps',
        `previews every ${form.previewEverySteps} steps would never come in a ${steps}-step run`,
      );
    }
    preview = { everySteps: form.previewEverySteps, maxEdgePx: 64, format: 'png' };
  }
  return { ok: true, params, preview };
}

/** The form that reproduces `params` ("run again with these parameters"). */
export function formFromParams(params: RunParams, preview: PreviewSettings | null): ComposerForm {
  const lpl = params.lpl ?? { mode: 'off' };
  const budget = params.cidl?.budget;
  const cidlEnabled =
    params.cidl !== undefined && !(budget?.kind === 'unlimited' && params.cidl.policy === 'none');
  return {
    ...DEFAULT_FORM,
    prompt: params.prompt,
    seed: params.seed,
    steps: params.steps ?? DEFAULT_FORM.steps,
    cfgScale: params.cfgScale ?? DEFAULT_FORM.cfgScale,
    numFrames: params.numFrames ?? null,
    heightPx: params.heightPx ?? null,
    widthPx: params.widthPx ?? null,
    lpl: {
      mode: lpl.mode,
      fixed: lpl.mode === 'fixed' ? settingsOf(LPL_FIXED_KNOBS, lpl) : DEFAULT_FORM.lpl.fixed,
      dynamic: lpl.mode === 'dynamic' ? settingsOf(LPL_DYNAMIC_KNOBS, lpl) : DEFAULT_FORM.lpl.dynamic,
    },
    tdtm: settingsOf(TDTM_KNOBS, params.tdtm),
    cidl: {
      enabled: cidlEnabled,
      budget: budgetText(budget),
      knobs: cidlEnabled ? settingsOf(CIDL_KNOBS, params.cidl) : DEFAULT_FORM.cidl.knobs,
    },
    previews: preview !== null,
    previewEverySteps: preview?.everySteps ?? DEFAULT_FORM.previewEverySteps,
  };
}

function budgetText(budget: NonNullable<RunParams['cidl']>['budget'] | undefined): string {
  switch (budget?.kind) {
    case undefined:
    case 'unlimited':
      return 'auto';
    case 'auto':
      return budget.reserveBytes !== undefined ? `auto:${budget.reserveBytes}` : 'auto';
    case 'fraction':
      return `${Math.round(budget.of * 1000) / 10}%`;
    case 'bytes':
      return String(budget.bytes);
  }
}
