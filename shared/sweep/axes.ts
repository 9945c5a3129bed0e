/**
 * The knobs a sweep can vary, derived from the technique registry (shared/engine/techniques/knobs.ts): every LPL
 * fixed and dynamic knob (`lpl.leapStep`, `lpl.tolerance`, …), TDTM's (`tdtm.mergeSteps`), CI-DL's (`cidl.policy`,
 * `cidl.prefetch`, `cidl.verify`) and the CI-DL budget (`cidl.budget`, in the CLI's grammar or a byte count). A
 * knob added to the registry becomes an axis here with no other change.
 */
import { parseBudget, type RequestBudgetSpec } from '../engine/cidl/budget';
import {
  CIDL_BUDGET,
  CIDL_KNOBS,
  LPL_DYNAMIC_KNOBS,
  LPL_FIXED_KNOBS,
  PYTHON_DYNAMIC_LPL,
  TDTM_KNOBS,
  type KnobSpec,
} from '../engine/techniques/knobs';
import { knobProblem } from '../engine/techniques/validate';
import type { RunParams } from '../protocol/run';

/** A value on an axis: what the registry knob holds (the budget: its grammar or a byte count). */
export type AxisValue = number | string | boolean;

/** One sweep axis: where its value goes in the run parameters and how it is checked. */
export interface SweepAxis {
  readonly technique: 'lpl' | 'tdtm' | 'cidl';
  /** The field inside the technique's parameters (`leapStep`, `mergeSteps`, `budget`). */
  readonly field: string;
  /** The registry's knob; null for the CI-DL budget (a grammar, not a table knob). */
  readonly knob: KnobSpec | null;
  /** The LPL mode its value implies (an LPL knob belongs to one mode). */
  readonly lplMode?: 'fixed' | 'dynamic';
  readonly help: string;
}

function axesOf(
  technique: SweepAxis['technique'],
  knobs: Readonly<Record<string, KnobSpec>>,
  lplMode?: 'fixed' | 'dynamic',
): [string, SweepAxis][] {
  return Object.entries(knobs).map(([field, knob]) => [
    `${technique}.${field}`,
    { technique, field, knob, help: knob.help, ...(lplMode ? { lplMode } : {}) },
  ]);
}

/** Every axis by name (`lpl.leapStep`): the registry's knobs plus the CI-DL budget. */
export const SWEEP_AXES: Readonly<Record<string, SweepAxis>> = Object.freeze(
  Object.fromEntries([
    ...axesOf('lpl', LPL_FIXED_KNOBS, 'fixed'),
    ...axesOf('lpl', LPL_DYNAMIC_KNOBS, 'dynamic'),
    ...axesOf('tdtm', TDTM_KNOBS),
    ...axesOf('cidl', CIDL_KNOBS),
    [
      'cidl.budget',
      {
        technique: 'cidl',
        field: 'budget',
        knob: null,
        help: `${CIDL_BUDGET.help} Written as on the command line (${CIDL_BUDGET.grammar}) or as a byte count.`,
      },
    ],
  ]),
);

/** The names of every axis, in registry order. */
export const SWEEP_AXIS_NAMES: readonly string[] = Object.keys(SWEEP_AXES);

/** The CI-DL budget an axis value names; throws with the grammar's message when it names none. */
export function budgetOfAxisValue(value: AxisValue): RequestBudgetSpec {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`a byte count must be a positive integer, got ${value}`);
    return { kind: 'bytes', bytes: value };
  }
  if (typeof value !== 'string')
    throw new Error(`must be ${CIDL_BUDGET.grammar} or a byte count, got ${value}`);
  return parseBudget(value);
}

/** Why `value` is not a value of axis `name`, or null (the registry's bounds; the budget's grammar). */
export function axisValueProblem(name: string, value: AxisValue): string | null {
  const axis = SWEEP_AXES[name];
  if (axis === undefined) return `unknown axis (the axes are ${SWEEP_AXIS_NAMES.join(', ')})`;
  if (axis.knob !== null) {
    // An enum's aliases (`slice`) are the CLI's spelling; a spec names the value itself.
    return knobProblem(axis.knob, value);
  }
  try {
    budgetOfAxisValue(value);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * `params` with the axis values of one point applied: an LPL knob sets LPL to its mode (keeping the base's other
 * knobs of that mode, else the registry's defaults), a TDTM knob sets TDTM, a CI-DL knob sets that CI-DL field
 * (the budget defaulting to the base's, else unlimited). Values must have been checked.
 */
export function applyAxes(params: RunParams, point: Readonly<Record<string, AxisValue>>): RunParams {
  const out: RunParams = { ...params };
  for (const [name, value] of Object.entries(point)) {
    const axis = SWEEP_AXES[name];
    if (axis === undefined) throw new Error(`unknown sweep axis ${name}`);
    if (axis.technique === 'lpl') {
      const mode = axis.lplMode ?? 'fixed';
      const base =
        out.lpl?.mode === mode
          ? out.lpl
          : mode === 'fixed'
            ? { mode, leapStep: LPL_FIXED_KNOBS.leapStep.default }
            : PYTHON_DYNAMIC_LPL;
      out.lpl = { ...base, [axis.field]: value } as RunParams['lpl'];
    } else if (axis.technique === 'tdtm') {
      out.tdtm = { ...out.tdtm, [axis.field]: value } as RunParams['tdtm'];
    } else {
      const cidl = out.cidl ?? { budget: { kind: 'unlimited' } };
      out.cidl =
        axis.field === 'budget'
          ? { ...cidl, budget: budgetOfAxisValue(value) }
          : ({ ...cidl, [axis.field]: value } as RunParams['cidl']);
    }
  }
  return out;
}
