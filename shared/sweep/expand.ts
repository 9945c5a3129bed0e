/**
 * A sweep spec → the ordered list of planned runs. Pure and deterministic: the same spec gives the same runs, in
 * the same order, with the same ids, on every host, so a resumed sweep recognises the runs it finished.
 *
 * Per device, in this order: `warmup` warm-up runs (the first point, prompt and seed); the baselines it runs (the
 * first device of each role runs that role's baseline, once per prompt × seed, techniques off); then every
 * measured run — points × prompts × seeds × repeats — in the spec's order:
 * - `grid`: prompt, then seed, then point (the axes' product, the last axis fastest), then repeat (innermost);
 * - `interleaved`: repeat outermost, so each pass visits every point once and drift spreads over all settings;
 * - `{ random: s }`: the grid shuffled by a seeded generator (the same seed, the same order).
 * Every device runs the same sequence of measured runs.
 */
import { mulberry32 } from '../seeded-random';
import { baselineParams } from '../protocol/baseline-choice';
import type { RunParams } from '../protocol/run';
import { applyAxes, type AxisValue } from './axes';
import { MAX_SWEEP_RUNS, SweepSpecError, type SweepSpec } from './spec';

/** What a planned run is for: warm-ups and baselines are kept out of the points' statistics. */
export type PlannedRunKind = 'warmup' | 'baseline' | 'measured';

/** One run of the plan. */
export interface PlannedRun {
  /** Stable: a hash of kind, device, point, prompt, seed and repeat (`r` + 16 hex digits). */
  id: string;
  kind: PlannedRunKind;
  /** The sweep device id that runs it. */
  device: string;
  /** The point's id (`p` + 16 hex digits; a hash of its axis values); null for warm-ups and baselines. */
  pointId: string | null;
  /** The axis values of the point ({} for a baseline). */
  point: Record<string, AxisValue>;
  /** Index into `spec.prompts`. */
  promptIndex: number;
  seed: number;
  /** 0-based repeat (the warm-up's index for a warm-up; 0 for a baseline). */
  repeat: number;
  /** What `run.start` sends. */
  params: RunParams;
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** FNV-1a, 64 bits, over the UTF-16 code units of `text`: 16 hex digits. Identifies, never authenticates. */
export function stableHash(text: string): string {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * FNV_PRIME) & MASK_64;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * What identifies a sweep for resuming: the spec with each device reduced to its id and role (a device found at
 * another address after a restart is the same sweep; another grid, prompt, seed, count or order is not).
 */
export function sweepFingerprint(spec: SweepSpec): string {
  // Neither where the devices are nor how long runs wait to cool changes what runs.
  const { thermal: _gate, ...what } = spec;
  return stableHash(
    canonicalJson({ ...what, devices: spec.devices.map((d) => ({ id: d.id, role: d.role })) }),
  );
}

/** The axes' product: every point, the last axis varying fastest ([{}] for a sweep with no axes). */
export function sweepPoints(spec: SweepSpec): Record<string, AxisValue>[] {
  let points: Record<string, AxisValue>[] = [{}];
  for (const [name, values] of Object.entries(spec.axes))
    points = points.flatMap((p) => values.map((v) => ({ ...p, [name]: v })));
  return points;
}

/** A point's id. */
export function pointIdOf(point: Readonly<Record<string, AxisValue>>): string {
  return `p${stableHash(canonicalJson(point))}`;
}

/** How many runs the spec plans, by kind (cheap: no expansion). */
export function countSweepRuns(spec: SweepSpec): Record<PlannedRunKind | 'total', number> {
  const points = Object.values(spec.axes).reduce((n, values) => n * values.length, 1);
  const ps = spec.prompts.length * spec.seeds.length;
  const measured = points * ps * spec.repeats * spec.devices.length;
  const roles = new Set(spec.devices.map((d) => d.role)).size;
  const baseline = spec.baseline ? roles * ps : 0;
  const warmup = spec.warmup * spec.devices.length;
  return { measured, baseline, warmup, total: measured + baseline + warmup };
}

interface Slot {
  point: Record<string, AxisValue>;
  promptIndex: number;
  seed: number;
  repeat: number;
}

/** The measured runs' sequence (device-independent) in the spec's order. */
function measuredSlots(spec: SweepSpec): Slot[] {
  const points = sweepPoints(spec);
  const slots: Slot[] = [];
  const pass = (repeats: readonly number[]): void => {
    for (let promptIndex = 0; promptIndex < spec.prompts.length; promptIndex++)
      for (const seed of spec.seeds)
        for (const point of points)
          for (const repeat of repeats) slots.push({ point, promptIndex, seed, repeat });
  };
  const all = Array.from({ length: spec.repeats }, (_, r) => r);
  if (spec.order === 'interleaved') for (const r of all) pass([r]);
  else pass(all);
  if (typeof spec.order === 'object') {
    const random = mulberry32(spec.order.random);
    for (let i = slots.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
  }
  return slots;
}

/** The stable id of a run. */
function runIdOf(kind: PlannedRunKind, device: string, slot: Slot, prompt: string): string {
  return `r${stableHash(canonicalJson({ kind, device, point: slot.point, prompt, seed: slot.seed, repeat: slot.repeat }))}`;
}

/** Expands a parsed spec into its planned runs (see the file comment for the order). */
export function expandSweep(spec: SweepSpec): PlannedRun[] {
  const count = countSweepRuns(spec).total;
  if (count > MAX_SWEEP_RUNS)
    throw new SweepSpecError(`the sweep plans ${count} runs; at most ${MAX_SWEEP_RUNS} are allowed`);
  const slots = measuredSlots(spec);
  const first = sweepPoints(spec)[0]!;
  const paramsOf = (slot: Slot): RunParams =>
    applyAxes({ ...spec.base, prompt: spec.prompts[slot.promptIndex]!, seed: slot.seed }, slot.point);
  const runOf = (kind: PlannedRunKind, device: string, slot: Slot): PlannedRun => {
    const params = paramsOf(slot);
    return {
      id: runIdOf(kind, device, slot, params.prompt),
      kind,
      device,
      pointId: kind === 'measured' ? pointIdOf(slot.point) : null,
      point: slot.point,
      promptIndex: slot.promptIndex,
      seed: slot.seed,
      repeat: slot.repeat,
      params: kind === 'baseline' ? baselineParams(params) : params,
    };
  };
  const baselineRunner = new Map<string, string>();
  for (const d of spec.devices) if (!baselineRunner.has(d.role)) baselineRunner.set(d.role, d.id);
  const plan: PlannedRun[] = [];
  for (const device of spec.devices) {
    for (let w = 0; w < spec.warmup; w++)
      plan.push(
        runOf('warmup', device.id, { point: first, promptIndex: 0, seed: spec.seeds[0]!, repeat: w }),
      );
    if (spec.baseline && baselineRunner.get(device.role) === device.id)
      for (let promptIndex = 0; promptIndex < spec.prompts.length; promptIndex++)
        for (const seed of spec.seeds)
          // The role, not the device, identifies a baseline: another device of the role may run it later.
          plan.push({
            ...runOf('baseline', `role:${device.role}`, { point: {}, promptIndex, seed, repeat: 0 }),
            device: device.id,
          });
    for (const slot of slots) plan.push(runOf('measured', device.id, slot));
  }
  return plan;
}
