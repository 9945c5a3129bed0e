/**
 * The techniques on a command line, derived from the registry: `--lpl off | fixed[:N] | dynamic[:key=value,…]`
 * (one `key=value` per dynamic knob, named by its `cli`), `--tdtm N`, the CI-DL knobs' flags, their `--help`
 * texts, and which flag a GenerateParams field came from. Pure: the host's argument parser wraps these.
 */
import { CIDL_BUDGET, CIDL_KNOBS, LPL_DYNAMIC_KNOBS, LPL_HELP, TDTM_KNOBS, type KnobSpec } from './knobs';
import {
  leapStepOfLplStep,
  PAPER_LPL_STEP,
  PYTHON_DYNAMIC_LPL,
  type LplDynamicSettings,
  type LplOptions,
} from './knobs';
import { knobProblem, lplStepProblem } from './validate';

/** A technique flag's value that cannot be read; `message` says why and what is accepted. */
export class TechniqueFlagError extends Error {
  override readonly name = 'TechniqueFlagError';
}

/** `min=14,tol=0.001,patience=3,measure=reference-slice|whole`: the dynamic knobs, defaults first. */
function dynamicGrammar(): string {
  return Object.values(LPL_DYNAMIC_KNOBS)
    .map((k: KnobSpec) => {
      if (k.kind !== 'enum') return `${k.cli}=${String(k.default)}`;
      const others = Object.keys(k.values).filter((v) => v !== k.default);
      return `${k.cli}=${[k.default, ...others, ...Object.keys(k.aliases ?? {})].join('|')}`;
    })
    .join(',');
}

/** The `--lpl` grammar in one line. */
export function lplFlagGrammar(): string {
  return `off, fixed[:N] or dynamic[:${dynamicGrammar()}]`;
}

/** `--lpl`'s help. */
export function lplFlagHelp(): string {
  return (
    `Linear Proportional Leap: off | fixed:N (LPL N/steps: leap at step N, counted from 1, so N steps run the ` +
    `model; fixed = fixed:${PAPER_LPL_STEP}, the paper’s ${PAPER_LPL_STEP}/30) | dynamic[:${dynamicGrammar()}] ` +
    `(the authors' constants unless given). ${LPL_HELP}`
  );
}

/** One `key=value` of `--lpl dynamic:…` into its knob's value. */
function dynamicValue(key: string, text: string): [keyof LplDynamicSettings, unknown] {
  const entry = Object.entries(LPL_DYNAMIC_KNOBS).find(([, spec]) => spec.cli === key);
  if (entry === undefined)
    throw new TechniqueFlagError(
      `--lpl dynamic: unknown key '${key}' (${Object.values(LPL_DYNAMIC_KNOBS)
        .map((k: KnobSpec) => k.cli)
        .join(', ')})`,
    );
  const [field, spec] = entry as [keyof LplDynamicSettings, KnobSpec];
  let value: unknown = text;
  if (spec.kind === 'int' || spec.kind === 'number') value = Number(text);
  else if (spec.kind === 'boolean') value = text === 'true' ? true : text === 'false' ? false : text;
  else if (spec.aliases !== undefined && Object.hasOwn(spec.aliases, text)) value = spec.aliases[text];
  const why = knobProblem(spec, value);
  if (why !== null)
    throw new TechniqueFlagError(`--lpl dynamic: ${key} ${why.replace(/, got .*$/, '')}, got '${text}'`);
  return [field, value];
}

/**
 * `--lpl off | fixed[:N] | dynamic[:key=value,…]`. `fixed:N` is LPL N/steps: the leap at step N counted from 1;
 * `fixed` alone is the paper's 16; `dynamic` starts from the authors' constants.
 */
export function parseLplFlag(text: string): LplOptions {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'none') return { mode: 'off' };
  if (t === 'fixed' || t.startsWith('fixed:')) {
    const n = t === 'fixed' ? PAPER_LPL_STEP : Number(t.slice('fixed:'.length));
    if (lplStepProblem(n) !== null)
      throw new TechniqueFlagError(
        `--lpl fixed:N needs the step that leaps, counted from 1 (fixed:${PAPER_LPL_STEP} with 30 steps is LPL ${PAPER_LPL_STEP}/30), got '${text}'`,
      );
    return { mode: 'fixed', leapStep: leapStepOfLplStep(n) };
  }
  if (t === 'dynamic' || t.startsWith('dynamic:')) {
    const o: Record<string, unknown> = { ...PYTHON_DYNAMIC_LPL };
    const rest = t === 'dynamic' ? '' : t.slice('dynamic:'.length);
    for (const part of rest.split(',').filter((s) => s.trim() !== '')) {
      const [k, v, extra] = part.split('=').map((s) => s.trim());
      if (k === undefined || v === undefined || extra !== undefined || v === '')
        throw new TechniqueFlagError(`--lpl dynamic: '${part}' is not key=value`);
      const [field, value] = dynamicValue(k, v);
      o[field] = value;
    }
    return o as LplOptions;
  }
  throw new TechniqueFlagError(`--lpl must be ${lplFlagGrammar()}, got '${text}'`);
}

/** A command-line flag of a technique knob (the host registers it with its parser). */
export interface TechniqueFlag {
  /** Commander-style flags: `--tdtm <n>`, `--no-prefetch`. */
  readonly flags: string;
  readonly help: string;
  /** The GenerateParams field it sets (`tdtm.mergeSteps`). */
  readonly field: string;
  /** Allowed words, for an enum knob. */
  readonly choices?: readonly string[];
}

/** Every technique flag `odsora generate` takes, in help order. */
export function techniqueFlags(): readonly TechniqueFlag[] {
  const merge = TDTM_KNOBS.mergeSteps;
  const { policy, prefetch } = CIDL_KNOBS;
  return [
    { flags: '--lpl <mode>', help: lplFlagHelp(), field: 'lpl' },
    { flags: `${merge.cli} <n>`, help: merge.help, field: 'tdtm.mergeSteps' },
    {
      flags: `${CIDL_BUDGET.cli} <budget>`,
      help: `${CIDL_BUDGET.label} per stage: ${CIDL_BUDGET.grammar}. ${CIDL_BUDGET.help}`,
      field: 'cidl.budget',
    },
    {
      flags: `${policy.cli} <policy>`,
      help: `${policy.label}: ${policy.help}`,
      field: 'cidl.policy',
      choices: Object.keys(policy.values),
    },
    { flags: prefetch.cli, help: `CI-DL: do not ${prefetch.help.toLowerCase()}`, field: 'cidl.prefetch' },
  ];
}

/** The technique flag a GenerateParams field (`lpl.leapStep`, `tdtm.mergeSteps`) came from, or null. */
export function techniqueFlagOf(field: string): string | null {
  const root = field === 'lpl' || field.startsWith('lpl.') ? 'lpl' : field;
  const flag = techniqueFlags().find((f) => f.field === root);
  return flag === undefined ? null : flag.flags.split(' ')[0]!;
}
