/**
 * How technique settings read in one line, wherever a run is summarised: the CLI, history, reports, benchmarks.
 * LPL counts its leap as people do (LPL N/S, see `lplStepOfLeapStep`). The long form (reports) adds every registry
 * knob set away from its default that the one-liner does not show, so a new knob is summarised with no edit here.
 */
import type { BudgetSpec } from '../cidl/budget';
import { CIDL_KNOBS, LPL_DYNAMIC_KNOBS, LPL_FIXED_KNOBS, lplStepOfLeapStep, TDTM_KNOBS } from './knobs';
import type { KnobSpec, LplOptions } from './knobs';

/**
 * The knobs of a table that `values` sets away from their defaults and the one-line summary does not already show
 * (not `inSummary`), in words: `['measure whole']` (a label without its technique's name).
 */
export function describeKnobChanges(
  knobs: Readonly<Record<string, KnobSpec>>,
  values: object | undefined,
): string[] {
  const out: string[] = [];
  for (const [field, spec] of Object.entries(knobs)) {
    const value = (values as Record<string, unknown> | undefined)?.[field];
    if (spec.inSummary === true || value === undefined || value === spec.default) continue;
    const label = spec.label.replace(/^(LPL|TDTM|CI-DL) /, '').toLowerCase();
    out.push(`${label} ${String(value)}`);
  }
  return out;
}

/** `text`, followed by the knobs set away from their defaults in brackets when there are any. */
function withChanges(text: string, changes: readonly string[]): string {
  return changes.length === 0 ? text : `${text} (${changes.join(', ')})`;
}

/**
 * LPL settings in words: `LPL off`, `LPL 16/30` (fixed; `LPL 16` when the step count is not known), `LPL dynamic`.
 */
export function describeLpl(options: LplOptions | undefined, steps?: number | null): string {
  if (options === undefined || options.mode === 'off') return 'LPL off';
  if (options.mode === 'dynamic') return 'LPL dynamic';
  const n = lplStepOfLeapStep(options.leapStep);
  return steps === undefined || steps === null ? `LPL ${n}` : `LPL ${n}/${steps}`;
}

/** Where a run leapt, in words: `LPL leap at step 16` (the engine's step index 15), or `no leap`. */
export function describeLeap(leapStep: number | null): string {
  return leapStep === null ? 'no leap' : `LPL leap at step ${lplStepOfLeapStep(leapStep)}`;
}

/** TDTM in words: `TDTM 15` / `TDTM off` (short), `TDTM merge steps 15` (long, for reports). */
export function describeTdtm(
  tdtm: { mergeSteps: number } | undefined,
  form: 'short' | 'long' = 'short',
): string {
  const n = tdtm?.mergeSteps ?? 0;
  if (form === 'long') return `TDTM merge steps ${n}`;
  return n > 0 ? `TDTM ${n}` : 'TDTM off';
}

/**
 * CI-DL in words: `CI-DL off` (no settings, or every block resident with policy none: the baseline), `CI-DL 50 %`,
 * `CI-DL <size>` (in the caller's byte format), else the budget's kind (`CI-DL auto`, `CI-DL unlimited`).
 */
export function describeCidl(
  cidl: { budget: BudgetSpec; policy?: string } | undefined,
  formatBytes: (bytes: number) => string,
): string {
  const budget = cidl?.budget;
  if (budget === undefined || (budget.kind === 'unlimited' && cidl?.policy === 'none')) return 'CI-DL off';
  if (budget.kind === 'fraction') return `CI-DL ${Math.round(budget.of * 100)} %`;
  if (budget.kind === 'bytes') return `CI-DL ${formatBytes(budget.bytes)}`;
  return `CI-DL ${budget.kind}`;
}

/**
 * The three techniques of a run's parameters in words: `[LPL 16/30, TDTM 15, CI-DL 50 %]`; the long form (reports)
 * writes `TDTM merge steps 15` and adds the knobs set away from their defaults (`LPL dynamic (measure whole)`).
 */
export function describeTechniques(
  params: {
    steps?: number;
    lpl?: LplOptions;
    tdtm?: { mergeSteps: number };
    cidl?: { budget: BudgetSpec; policy?: string };
  },
  formatBytes: (bytes: number) => string,
  form: 'short' | 'long' = 'short',
): [lpl: string, tdtm: string, cidl: string] {
  const short: [string, string, string] = [
    describeLpl(params.lpl, params.steps ?? null),
    describeTdtm(params.tdtm, form),
    describeCidl(params.cidl, formatBytes),
  ];
  if (form === 'short') return short;
  const lpl = params.lpl;
  const lplKnobs = lpl?.mode === 'fixed' ? LPL_FIXED_KNOBS : lpl?.mode === 'dynamic' ? LPL_DYNAMIC_KNOBS : {};
  const cidlOff = short[2] === 'CI-DL off';
  return [
    withChanges(short[0], describeKnobChanges(lplKnobs, lpl)),
    withChanges(short[1], describeKnobChanges(TDTM_KNOBS, params.tdtm)),
    withChanges(short[2], cidlOff ? [] : describeKnobChanges(CIDL_KNOBS, params.cidl)),
  ];
}
