/**
 * The sweep spec (docs/sweeps.md): `{ format: 'odsora-sweep', version: 1, … }` — base run parameters (the wire's
 * run params minus prompt and seed), axes over technique knobs (axes.ts: names and bounds from the technique
 * registry), prompts, seeds, devices, repeats per point, warm-up runs per device, the order and whether the
 * baseline (techniques off) runs, and the optional thermal gate before each run. Parsing checks everything a run would refuse that can be known before a device
 * is asked: an unknown axis, a value out of its knob's bounds, an LPL leap past the last step, TDTM merging more
 * steps than there are; each error names the field and the value.
 */
import { z } from 'zod';
import { validateLplOptions, tdtmProblem } from '../engine/techniques/validate';
import { MAX_PROMPT_CHARS } from '../protocol/limits';
import { runParamsSchema } from '../protocol/run';
import { axisValueProblem, SWEEP_AXES, type AxisValue } from './axes';
import { sweepThermalGateSchema } from './thermal-gate';

/** The `format` tag of a sweep spec. */
export const SWEEP_FORMAT = 'odsora-sweep';
/** The spec version this code reads and writes. */
export const SWEEP_VERSION = 1;
/** Most runs one sweep may plan (a typo in an axis should not queue a week of work). */
export const MAX_SWEEP_RUNS = 10_000;

/** A device's id inside a sweep: what run ids, the journal and the CSV call it. */
export const sweepDeviceIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1-32 of [a-z0-9-], starting with a letter or digit');

/**
 * A device of the sweep: its sweep id, the role it is expected to present (`target` or `baseline`: baselines are
 * shared per role), and where to find it — exactly one of the studio's built-in device, a `host:port` address
 * (an `odsora companion` or a phone), or the name a device announces over mDNS.
 */
export const sweepDeviceSchema = z
  .strictObject({
    id: sweepDeviceIdSchema,
    role: z.enum(['target', 'baseline']).default('target'),
    builtin: z.literal(true).optional(),
    address: z
      .string()
      .regex(/^[^\s:/]+:[0-9]{1,5}$/, 'must be host:port')
      .optional(),
    name: z.string().min(1).max(128).optional(),
  })
  .refine((d) => [d.builtin, d.address, d.name].filter((x) => x !== undefined).length === 1, {
    message: 'needs exactly one of builtin: true, address ("host:port") or name (announced over mDNS)',
  });

/** A device of the sweep. */
export type SweepDevice = z.infer<typeof sweepDeviceSchema>;

/** Run order: `grid`, `interleaved` (repeat-major), or `{ random: seed }`. */
export const sweepOrderSchema = z.union([
  z.literal('grid'),
  z.literal('interleaved'),
  z.strictObject({ random: z.number().int().nonnegative().max(0xffff_ffff) }),
]);

/** Run order. */
export type SweepOrder = z.infer<typeof sweepOrderSchema>;

const axisValueSchema = z.union([z.number(), z.string().min(1).max(64), z.boolean()]);

/** The sweep spec as written (before the cross-field checks of {@link parseSweepSpec}). */
export const sweepSpecSchema = z.strictObject({
  format: z.literal(SWEEP_FORMAT),
  version: z.literal(SWEEP_VERSION),
  name: z.string().min(1).max(128).optional(),
  /** Parameters every run shares (prompt and seed come from `prompts` × `seeds`). */
  base: runParamsSchema.omit({ prompt: true, seed: true }).default({}),
  /** Axis name (axes.ts) → the values it takes; the grid is their product. */
  axes: z.record(z.string(), z.array(axisValueSchema).min(1).max(64)).default({}),
  prompts: z.array(z.string().min(1).max(MAX_PROMPT_CHARS)).min(1).max(256),
  seeds: z.array(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)).min(1).max(256),
  devices: z.array(sweepDeviceSchema).min(1).max(16),
  /** Measured runs per point, prompt, seed and device. */
  repeats: z.number().int().min(1).max(100).default(1),
  /** Runs each device makes first, left out of every statistic. */
  warmup: z.number().int().min(0).max(20).default(0),
  order: sweepOrderSchema.default('grid'),
  /** Run the baseline (techniques off) once per prompt × seed per device role. */
  baseline: z.boolean().default(true),
  /** Wait before each run until its device is cool enough (thermal-gate.ts); absent: no waiting. */
  thermal: sweepThermalGateSchema.optional(),
});

/** A parsed sweep spec (defaults filled in). */
export type SweepSpec = z.infer<typeof sweepSpecSchema>;

/** A spec that cannot be used; `message` names each bad field and value. */
export class SweepSpecError extends Error {
  override readonly name = 'SweepSpecError';
}

/** `axes["lpl.leapStep"][1]`: a path as a person reads it. */
export function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p))) out += out === '' ? String(p) : `.${String(p)}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out === '' ? '(spec)' : out;
}

function duplicates<T>(xs: readonly T[], key: (x: T) => string = (x) => JSON.stringify(x)): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  xs.forEach((x, i) => {
    const k = key(x);
    if (seen.has(k)) out.push(i);
    seen.add(k);
  });
  return out;
}

/** The problems of a schema-valid spec that the schema cannot see: `[path, why]` each. */
function crossFieldProblems(spec: SweepSpec): [PropertyKey[], string][] {
  const problems: [PropertyKey[], string][] = [];
  const steps = spec.base.steps;
  const lplModes = new Set<string>();
  for (const [name, values] of Object.entries(spec.axes)) {
    const axis = SWEEP_AXES[name];
    if (axis === undefined) {
      problems.push([['axes', name], axisValueProblem(name, 0) ?? 'unknown axis']);
      continue;
    }
    if (axis.lplMode) lplModes.add(axis.lplMode);
    for (const i of duplicates(values))
      problems.push([['axes', name, i], `repeats ${JSON.stringify(values[i])}`]);
    values.forEach((value: AxisValue, i) => {
      let why = axisValueProblem(name, value);
      if (why === null && name === 'lpl.leapStep' && steps !== undefined) {
        try {
          validateLplOptions({ mode: 'fixed', leapStep: value as number }, steps);
        } catch (e) {
          why = (e as Error).message;
        }
      }
      if (why === null && name === 'tdtm.mergeSteps') {
        const t = tdtmProblem(value, steps === undefined ? {} : { steps });
        if (t !== null) why = `TDTM merge steps ${t}`;
      }
      if (why !== null) problems.push([['axes', name, i], `${JSON.stringify(value)}: ${why}`]);
    });
  }
  if (lplModes.size > 1)
    problems.push([['axes'], 'mixes fixed-leap (lpl.leapStep) and dynamic LPL axes: one LPL mode per sweep']);
  for (const i of duplicates(spec.prompts)) problems.push([['prompts', i], 'repeats an earlier prompt']);
  for (const i of duplicates(spec.seeds)) problems.push([['seeds', i], `repeats seed ${spec.seeds[i]}`]);
  for (const i of duplicates(spec.devices, (d) => d.id))
    problems.push([['devices', i, 'id'], `repeats device id ${spec.devices[i]!.id}`]);
  for (const i of duplicates(spec.devices, (d) => JSON.stringify([d.builtin, d.address, d.name])))
    problems.push([['devices', i], 'names the same device as an earlier entry']);
  return problems;
}

/** Parses and checks a sweep spec (already JSON-decoded); throws {@link SweepSpecError} naming every problem. */
export function parseSweepSpec(raw: unknown): SweepSpec {
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== SWEEP_FORMAT)
    throw new SweepSpecError(`not a sweep spec: "format" must be "${SWEEP_FORMAT}"`);
  if (head.version !== SWEEP_VERSION)
    throw new SweepSpecError(
      `sweep spec version ${JSON.stringify(head.version)}: this odsora reads version ${SWEEP_VERSION}`,
    );
  const parsed = sweepSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = describePath(issue.path);
      if (issue.code === 'unrecognized_keys')
        return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
      return `${path}: ${issue.message}`;
    });
    throw new SweepSpecError(`invalid sweep spec: ${lines.join('; ')}`);
  }
  const problems = crossFieldProblems(parsed.data);
  if (problems.length > 0)
    throw new SweepSpecError(
      `invalid sweep spec: ${problems.map(([path, why]) => `${describePath(path)}: ${why}`).join('; ')}`,
    );
  return parsed.data;
}
