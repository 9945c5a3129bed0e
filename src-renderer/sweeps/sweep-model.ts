// The Sweeps screen's form → a sweep spec (shared/sweep/spec.ts, the file `odsora sweep --spec` reads), checked by
// the same `parseSweepSpec` the runner uses, so the screen shows the runner's own messages. One text field per
// axis of shared/sweep/axes.ts (the technique registry's knobs and the CI-DL budget): a comma-separated list of
// values; a `stepOfRun` knob (the fixed leap) is counted from 1, as the composer shows it. The thermal gate's times
// are typed in seconds, bounded by `sweepThermalGateSchema`'s own limits.
import type { StudioDevice } from '../../shared/protocol/studio-contract';
import type { ThermalState } from '../../shared/protocol/thermal';
import { leapStepOfLplStep, lplStepOfLeapStep } from '../../shared/engine/techniques/knobs';
import { SWEEP_AXES, type AxisValue } from '../../shared/sweep/axes';
import { countSweepRuns } from '../../shared/sweep/expand';
import { parseSweepSpec, type SweepSpec } from '../../shared/sweep/spec';
import { sweepThermalGateSchema, type SweepThermalGate } from '../../shared/sweep/thermal-gate';

/** The thermal gate's time fields as the form shows them (seconds), each bounded by the spec schema's limits. */
export const THERMAL_TIME_FIELDS = (
  [
    ['coolDownMs', 'Cool-down (s)', 'A pause after each run on a device before its next one.'],
    ['pollMs', 'Poll every (s)', 'How often the device is asked for its thermal state while waiting.'],
    ['maxWaitMs', 'Longest wait (s)', 'Then the run starts anyway, marked expired.'],
  ] as const
).map(([key, label, help]) => {
  const n = sweepThermalGateSchema.shape[key].unwrap();
  return { key, label, help, minS: (n.minValue ?? 0) / 1000, maxS: (n.maxValue ?? Infinity) / 1000 };
});

/** A thermal time field's key. */
export type ThermalTimeKey = (typeof THERMAL_TIME_FIELDS)[number]['key'];

/** The thermal gate part of the form: off, or the spec's `thermal` with its times in seconds (text). */
export interface ThermalForm {
  on: boolean;
  maxState: ThermalState;
  /** Seconds as typed, by the spec field they fill. */
  seconds: Record<ThermalTimeKey, string>;
}

const GATE_DEFAULTS: SweepThermalGate = sweepThermalGateSchema.parse({});

/** The sweep form. Text fields hold what the user typed; {@link buildSweepSpec} reads them. */
export interface SweepForm {
  name: string;
  /** Axis name → comma-separated values ('' leaves the axis out). */
  axes: Record<string, string>;
  /** One prompt per line. */
  prompts: string;
  /** Comma-separated seeds. */
  seeds: string;
  /** The studio device entries the sweep runs on. */
  deviceIds: string[];
  steps: string;
  numFrames: string;
  heightPx: string;
  widthPx: string;
  repeats: string;
  warmup: string;
  order: 'grid' | 'interleaved' | 'random';
  randomSeed: string;
  baseline: boolean;
  thermal: ThermalForm;
}

/** A small first sweep. */
export const DEFAULT_SWEEP_FORM: SweepForm = {
  name: '',
  axes: {},
  prompts: 'a red circle moving right on a black background',
  seeds: '42',
  deviceIds: [],
  steps: '',
  numFrames: '',
  heightPx: '',
  widthPx: '',
  repeats: '1',
  warmup: '1',
  order: 'interleaved',
  randomSeed: '1',
  baseline: true,
  thermal: {
    on: false,
    maxState: GATE_DEFAULTS.maxState,
    seconds: Object.fromEntries(
      THERMAL_TIME_FIELDS.map((f) => [f.key, String(GATE_DEFAULTS[f.key] / 1000)]),
    ) as Record<ThermalTimeKey, string>,
  },
};

/** True when an axis's values are counted from 1 in the form (the fixed leap: `LPL 16/30`). */
export function countsFromOne(axis: string): boolean {
  const knob = SWEEP_AXES[axis]?.knob;
  return knob?.kind === 'int' && knob.stepOfRun !== undefined;
}

/** One typed token → the axis value it means (a number, a boolean for a boolean knob, else the text). */
function axisToken(axis: string, token: string): AxisValue {
  const knob = SWEEP_AXES[axis]?.knob ?? null;
  if (knob?.kind === 'boolean' && (token === 'true' || token === 'false')) return token === 'true';
  if (knob?.kind === 'enum') return token;
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(token)) {
    const n = Number(token);
    return countsFromOne(axis) ? leapStepOfLplStep(n) : n;
  }
  return token;
}

/** The form text of an axis's values (the inverse of the form's reading). */
export function axisText(axis: string, values: readonly AxisValue[]): string {
  return values
    .map((v) => (countsFromOne(axis) && typeof v === 'number' ? lplStepOfLeapStep(v) : v))
    .map(String)
    .join(', ');
}

const list = (text: string, sep: RegExp): string[] =>
  text
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** A sweep device id from a studio device entry: `builtin`, else its name in [a-z0-9-] (unique in the sweep). */
export function sweepDeviceId(device: StudioDevice, taken: ReadonlySet<string>): string {
  const base = device.sources.builtin
    ? 'builtin'
    : device.name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 28) || 'device';
  let id = base;
  for (let i = 2; taken.has(id); i++) id = `${base}-${i}`;
  return id;
}

/** The form as a spec, or the problems that stop it (the runner's own messages). */
export function buildSweepSpec(
  form: SweepForm,
  devices: readonly StudioDevice[],
):
  { ok: true; spec: SweepSpec; runs: ReturnType<typeof countSweepRuns> } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const int = (label: string, text: string): number | undefined => {
    if (text.trim() === '') return undefined;
    const n = Number(text);
    if (!Number.isInteger(n)) problems.push(`${label}: must be a whole number, got "${text}"`);
    return n;
  };
  const base: Record<string, number> = {};
  for (const [key, label] of [
    ['steps', 'Steps'],
    ['numFrames', 'Frames'],
    ['heightPx', 'Height'],
    ['widthPx', 'Width'],
  ] as const) {
    const n = int(label, form[key]);
    if (n !== undefined) base[key] = n;
  }
  const axes: Record<string, AxisValue[]> = {};
  for (const [axis, text] of Object.entries(form.axes)) {
    const tokens = list(text, /,/);
    if (tokens.length > 0) axes[axis] = tokens.map((t) => axisToken(axis, t));
  }
  const seeds = list(form.seeds, /[,\s]+/).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n)) problems.push(`Seeds: "${s}" is not a whole number`);
    return n;
  });
  const taken = new Set<string>();
  const specDevices: SweepSpec['devices'] = [];
  for (const id of form.deviceIds) {
    const d = devices.find((x) => x.id === id);
    if (d === undefined) continue;
    const sid = sweepDeviceId(d, taken);
    taken.add(sid);
    specDevices.push(
      d.sources.builtin
        ? { id: sid, role: d.role, builtin: true }
        : { id: sid, role: d.role, address: `${d.host}:${d.port}` },
    );
  }
  if (specDevices.length === 0) problems.push('Devices: choose at least one paired device');
  let thermal: SweepThermalGate | undefined;
  if (form.thermal.on) {
    thermal = { ...GATE_DEFAULTS, maxState: form.thermal.maxState };
    for (const f of THERMAL_TIME_FIELDS) {
      const text = form.thermal.seconds[f.key].trim();
      const n = Number(text);
      if (text === '' || !Number.isFinite(n) || n < f.minS || n > f.maxS)
        problems.push(
          `Thermal gate · ${f.label}: must be a number of seconds from ${f.minS} to ${f.maxS}, got "${text}"`,
        );
      else thermal[f.key] = Math.round(n * 1000);
    }
  }
  const raw = {
    format: 'odsora-sweep',
    version: 1,
    ...(form.name.trim() !== '' ? { name: form.name.trim() } : {}),
    base,
    axes,
    prompts: list(form.prompts, /\n/),
    seeds,
    devices: specDevices,
    repeats: int('Repeats', form.repeats) ?? 1,
    warmup: int('Warm-up', form.warmup) ?? 0,
    order: form.order === 'random' ? { random: int('Random order seed', form.randomSeed) ?? 0 } : form.order,
    baseline: form.baseline,
    ...(thermal !== undefined ? { thermal } : {}),
  };
  if (problems.length > 0) return { ok: false, problems };
  try {
    const spec = parseSweepSpec(raw);
    return { ok: true, spec, runs: countSweepRuns(spec) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, problems: message.replace(/^invalid sweep spec: /, '').split('; ') };
  }
}
