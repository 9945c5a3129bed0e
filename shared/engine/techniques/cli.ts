/**
 * The techniques on a command line, derived from the registry: `--lpl off | fixed[:N] | dynamic[:key=value,…]`
 * (one `key=value` per dynamic knob, named by its `cli`), one flag per TDTM / CI-DL knob (`--tdtm N`, its `cli` or
 * one derived from its field), their parsers and `--help` texts, the GenerateParams fields they make, and which flag
 * a field came from. Pure: the host's argument parser wraps these.
 */
import { parseBudget, type RequestBudgetSpec } from '../cidl/budget';
import { CIDL_BUDGET, defaultsOf, everyKnob, LPL_DYNAMIC_KNOBS, LPL_HELP, TDTM_KNOBS } from './knobs';
import { TECHNIQUE_NAMES } from './knobs';
import type { CidlKnobValues, KnobEntry, KnobSpec, TdtmOptions, TechniqueKey } from './knobs';
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
  return Object.entries(LPL_DYNAMIC_KNOBS as Record<string, KnobSpec>)
    .map(([field, k]) => {
      const key = dynamicKey(field, k);
      if (k.kind !== 'enum') return `${key}=${String(k.default)}`;
      const others = Object.keys(k.values).filter((v) => v !== k.default);
      return `${key}=${[k.default, ...others, ...Object.keys(k.aliases ?? {})].join('|')}`;
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
  const knobs = Object.entries(LPL_DYNAMIC_KNOBS as Record<string, KnobSpec>);
  const entry = knobs.find(([field, spec]) => dynamicKey(field, spec) === key);
  if (entry === undefined)
    throw new TechniqueFlagError(
      `--lpl dynamic: unknown key '${key}' (${knobs.map(([f, spec]) => dynamicKey(f, spec)).join(', ')})`,
    );
  const [field, spec] = entry;
  return [field as keyof LplDynamicSettings, parseKnobText(`--lpl dynamic: ${key}`, spec, text)];
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

/** `minimumSteps` → `minimum-steps`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The key of a dynamic LPL knob inside `--lpl dynamic:…`: its `cli`, else its field in kebab case. */
function dynamicKey(field: string, spec: KnobSpec): string {
  return spec.cli ?? kebab(field);
}

/**
 * The flag of a TDTM or CI-DL knob: its `cli`, else `--<technique>-<field>` (`--no-…` for a boolean that is on by
 * default, so giving the flag turns it off).
 */
function knobFlagName(technique: TechniqueKey, field: string, spec: KnobSpec): string {
  if (spec.cli !== undefined) return spec.cli;
  const name = `${technique}-${kebab(field)}`;
  return spec.kind === 'boolean' && spec.default ? `--no-${name}` : `--${name}`;
}

/** How a knob is given on the command line, for the docs and `--help`: `--tdtm`, `--lpl dynamic:min=…`. */
export function knobCli(entry: KnobEntry): string {
  const { technique, mode, field, spec } = entry;
  if (technique !== 'lpl') return knobFlagName(technique, field, spec);
  if (mode === 'fixed')
    return spec.kind === 'int' && spec.stepOfRun ? `--lpl fixed:N (N = ${field} + 1)` : '--lpl fixed';
  return `--lpl dynamic:${dynamicKey(field, spec)}=…`;
}

/** One knob's flag text into its value, or a {@link TechniqueFlagError} naming the flag and what it takes. */
export function parseKnobText(flag: string, spec: KnobSpec, text: string): unknown {
  let value: unknown = text;
  if (spec.kind === 'int' || spec.kind === 'number') value = text.trim() === '' ? Number.NaN : Number(text);
  else if (spec.kind === 'boolean') value = text === 'true' ? true : text === 'false' ? false : text;
  else if (spec.aliases !== undefined && Object.hasOwn(spec.aliases, text)) value = spec.aliases[text];
  const why = knobProblem(spec, value);
  if (why !== null) throw new TechniqueFlagError(`${flag} ${why.replace(/, got .*$/, '')}, got '${text}'`);
  return value;
}

/** A command-line flag of a technique knob (the host registers it with its parser). */
export interface TechniqueFlag {
  /** Commander-style flags: `--tdtm <n>`, `--no-prefetch`. */
  readonly flags: string;
  readonly help: string;
  /** The GenerateParams field it sets (`tdtm.mergeSteps`; `lpl` for the whole LPL options). */
  readonly field: string;
  /** Reads the flag's text (throws {@link TechniqueFlagError}); absent: a switch, its value a boolean. */
  readonly parse?: (text: string) => unknown;
}

function knobFlag(entry: KnobEntry): TechniqueFlag {
  const { technique, field, spec } = entry;
  const name = knobFlagName(technique, field, spec);
  const tech = TECHNIQUE_NAMES[technique];
  const label = spec.label.startsWith(tech) ? spec.label : `${tech} ${spec.label}`;
  if (spec.kind === 'boolean') {
    const help = spec.default
      ? `${label}: do not ${spec.help.replace(/^./, (c) => c.toLowerCase())}`
      : `${label}: ${spec.help}`;
    return { flags: name, help, field: entry.path };
  }
  const arg = spec.kind === 'enum' ? '<value>' : spec.kind === 'int' ? '<n>' : '<x>';
  const choices =
    spec.kind === 'enum' ? ` (${Object.keys(spec.values).join(' | ')}; default ${spec.default})` : '';
  return {
    flags: `${name} ${arg}`,
    help: spec.cli === undefined || spec.kind === 'enum' ? `${label}: ${spec.help}${choices}` : spec.help,
    field: entry.path,
    parse: (text) => parseKnobText(name, spec, text),
  };
}

/** Every technique flag `odsora generate` takes, in help order: `--lpl`, then one per TDTM / CI-DL knob. */
export function techniqueFlags(): readonly TechniqueFlag[] {
  const knobs = everyKnob().filter((k) => k.technique !== 'lpl');
  return [
    { flags: '--lpl <mode>', help: lplFlagHelp(), field: 'lpl', parse: parseLplFlag },
    ...knobs.filter((k) => k.technique === 'tdtm').map(knobFlag),
    {
      flags: `${CIDL_BUDGET.cli} <budget>`,
      help: `${CIDL_BUDGET.label} per stage: ${CIDL_BUDGET.grammar}. ${CIDL_BUDGET.help}`,
      field: 'cidl.budget',
      parse: (text) => {
        try {
          return parseBudget(text);
        } catch (e) {
          throw new TechniqueFlagError(`${CIDL_BUDGET.cli}: ${e instanceof Error ? e.message : String(e)}`);
        }
      },
    },
    ...knobs.filter((k) => k.technique === 'cidl').map(knobFlag),
  ];
}

/** The technique flag a GenerateParams field (`lpl.leapStep`, `tdtm.mergeSteps`) came from, or null. */
export function techniqueFlagOf(field: string): string | null {
  const root = field === 'lpl' || field.startsWith('lpl.') ? 'lpl' : field;
  const flag = techniqueFlags().find((f) => f.field === root);
  return flag === undefined ? null : flag.flags.split(' ')[0]!;
}

/** The technique settings of GenerateParams the flags make. */
export interface TechniqueSettings {
  lpl?: LplOptions;
  tdtm?: TdtmOptions;
  cidl: { budget?: RequestBudgetSpec } & Partial<CidlKnobValues>;
}

/**
 * GenerateParams' technique fields from the flags' values (`valueOf(flag)`: what the parser made of it, undefined
 * when not given): TDTM only when one of its flags was given (its other knobs then take their defaults), CI-DL's
 * knobs as given (the engine fills in the rest).
 */
export function techniqueSettings(valueOf: (flag: TechniqueFlag) => unknown): TechniqueSettings {
  const tdtm: Record<string, unknown> = {};
  const cidl: Record<string, unknown> = {};
  let lpl: LplOptions | undefined;
  for (const flag of techniqueFlags()) {
    const value = valueOf(flag);
    if (value === undefined) continue;
    const [technique, field] = flag.field.split('.');
    if (technique === 'lpl') lpl = value as LplOptions;
    else if (technique === 'tdtm') tdtm[field!] = value;
    else cidl[field!] = value;
  }
  return {
    ...(lpl === undefined ? {} : { lpl }),
    ...(Object.keys(tdtm).length === 0 ? {} : { tdtm: { ...defaultsOf(TDTM_KNOBS), ...tdtm } }),
    cidl,
  };
}
