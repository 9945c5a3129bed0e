// The composer's form, its presets and its validation: the zod `runParamsSchema` plus the technique registry's
// cross-field rules the engine would otherwise reject after the job was sent (a leap step past the last step, more
// merged steps than steps), and previews every more steps than the run has. Technique defaults are the registry's
// (shared/engine/techniques/knobs.ts).
import { parseBudget } from '../../shared/engine/cidl/budget';
import {
  defaultsOf,
  leapStepOfLplStep,
  LPL_DYNAMIC_KNOBS,
  lplStepOfLeapStep,
  PAPER_LPL_STEP,
  PAPER_TECHNIQUES,
  type LplDynamicSettings,
  type LplMode,
  type LplOptions,
} from '../../shared/engine/techniques/knobs';
import { describeLpl } from '../../shared/engine/techniques/summary';
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
  lplMode: LplMode;
  /** The fixed leap as people count it: LPL lplStep/steps, the step that leaps counted from 1. */
  lplStep: number;
  /** The dynamic rule's knobs, one per registry entry (numbers may be NaN while typed). */
  lplDynamic: LplDynamicSettings;
  tdtmSteps: number;
  cidlEnabled: boolean;
  /** The CLI's budget grammar: `auto`, `50%`, `512MiB`, `all`. */
  cidlBudget: string;
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
  lplMode: PAPER_TECHNIQUES.lpl.mode,
  lplStep: PAPER_LPL_STEP,
  lplDynamic: defaultsOf(LPL_DYNAMIC_KNOBS),
  tdtmSteps: PAPER_TECHNIQUES.tdtm.mergeSteps,
  cidlEnabled: true,
  cidlBudget: PAPER_TECHNIQUES.cidlBudget,
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
      lplMode: PAPER_TECHNIQUES.lpl.mode,
      lplStep: PAPER_LPL_STEP,
      tdtmSteps: PAPER_TECHNIQUES.tdtm.mergeSteps,
      cidlEnabled: true,
      cidlBudget: PAPER_TECHNIQUES.cidlBudget,
    }),
  },
  {
    id: 'baseline',
    label: 'Baseline (all off)',
    explain:
      'Every technique off: all 30 steps, no merging, every block resident. What the techniques are measured against.',
    apply: (f) => ({ ...f, steps: 30, lplMode: 'off', tdtmSteps: 0, cidlEnabled: false }),
  },
  {
    id: 'demo',
    label: 'Demo',
    explain:
      'Fast and visible on stage: 20 steps, LPL 10/20, TDTM on the first 10, CI-DL at a 50 % budget so blocks visibly load and release, a preview every 2 steps.',
    apply: (f) => ({
      ...f,
      steps: 20,
      lplMode: 'fixed',
      lplStep: 10,
      tdtmSteps: 10,
      cidlEnabled: true,
      cidlBudget: '50%',
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
  switch (form.lplMode) {
    case 'off':
      return { mode: 'off' };
    case 'fixed':
      return { mode: 'fixed', leapStep: leapStepOfLplStep(form.lplStep) };
    case 'dynamic':
      return { mode: 'dynamic', ...form.lplDynamic };
  }
}

/** The fixed leap in words as the form stands: `LPL 16/30` (`LPL ?/30` while the step is being typed). */
export function lplLabel(form: ComposerForm): string {
  const steps = Number.isInteger(form.steps) ? String(form.steps) : '?';
  if (!Number.isInteger(form.lplStep)) return `LPL ?/${steps}`;
  return describeLpl({ mode: 'fixed', leapStep: leapStepOfLplStep(form.lplStep) }, Number(steps) || null);
}

/** Builds the run parameters from the form, refusing impossible combinations with the reason. */
export function buildRunParams(form: ComposerForm): ComposerResult {
  let budget;
  try {
    budget = form.cidlEnabled ? parseBudget(form.cidlBudget) : ({ kind: 'unlimited' } as const);
  } catch (err) {
    return fail('cidl.budget', err instanceof Error ? err.message : String(err));
  }
  // People count the leap from 1 (LPL N/steps); say so in those terms before the engine's 0-based check.
  const stepsKnown = Number.isInteger(form.steps) && form.steps >= 1;
  const lplStepWhy = form.lplMode === 'fixed' && stepsKnown ? lplStepProblem(form.lplStep, form.steps) : null;
  if (lplStepWhy !== null) return fail('lpl', lplStepWhy);
  const raw: RunParams = {
    prompt: form.prompt.trim(),
    seed: form.seed,
    steps: form.steps,
    cfgScale: form.cfgScale,
    lpl: lplOf(form),
    tdtm: { mergeSteps: form.tdtmSteps },
    cidl: form.cidlEnabled
      ? { budget, policy: 'paper', prefetch: true }
      : { budget, policy: 'none', prefetch: false },
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
  if (form.lplMode !== 'off') {
    try {
      validateLplOptions(lplOf(form), steps);
    } catch (err) {
      return fail('lpl', err instanceof Error ? err.message : String(err));
    }
  }
  // A dynamic minimum step at or past the step count is accepted, as by the engine: that run never leaps.
  const tdtmWhy = tdtmProblem(form.tdtmSteps, { steps });
  if (tdtmWhy !== null) return fail('tdtm.mergeSteps', `TDTM merge steps ${tdtmWhy}`);
  if (form.numFrames !== null && form.tdtmSteps > 0 && form.numFrames < 2) {
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
    lplMode: lpl.mode,
    lplStep: lpl.mode === 'fixed' ? lplStepOfLeapStep(lpl.leapStep) : DEFAULT_FORM.lplStep,
    lplDynamic: lpl.mode === 'dynamic' ? dynamicSettingsOf(lpl) : DEFAULT_FORM.lplDynamic,
    tdtmSteps: params.tdtm?.mergeSteps ?? 0,
    cidlEnabled,
    cidlBudget: budgetText(budget),
    previews: preview !== null,
    previewEverySteps: preview?.everySteps ?? DEFAULT_FORM.previewEverySteps,
  };
}

/** The dynamic knobs of dynamic LPL options, without the mode. */
function dynamicSettingsOf(lpl: Extract<LplOptions, { mode: 'dynamic' }>): LplDynamicSettings {
  const { mode: _mode, ...settings } = lpl;
  return settings;
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
