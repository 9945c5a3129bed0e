/**
 * How technique settings read in one line, wherever a run is summarised: the CLI, history, reports, benchmarks.
 * LPL counts its leap as people do (LPL N/S, see `lplStepOfLeapStep`).
 */
import type { BudgetSpec } from '../cidl/budget';
import { lplStepOfLeapStep, type LplOptions } from './knobs';

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

/** The three techniques of a run's parameters in words: `[LPL 16/30, TDTM 15, CI-DL 50 %]`. */
export function describeTechniques(
  params: {
    steps?: number;
    lpl?: LplOptions;
    tdtm?: { mergeSteps: number };
    cidl?: { budget: BudgetSpec; policy?: string };
  },
  formatBytes: (bytes: number) => string,
  tdtmForm: 'short' | 'long' = 'short',
): [lpl: string, tdtm: string, cidl: string] {
  return [
    describeLpl(params.lpl, params.steps ?? null),
    describeTdtm(params.tdtm, tdtmForm),
    describeCidl(params.cidl, formatBytes),
  ];
}
