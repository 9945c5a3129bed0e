/**
 * A sweep's numbers: each finished run's metrics (with its speed-up over the baseline of its prompt × seed and
 * device role, its frames' PSNR / SSIM against the baseline's, its clip's flicker (also minus the baseline's) and
 * prompt adherence), the points' medians and spreads over their measured runs (warm-ups and baselines excluded), and
 * the two long-format CSV files (docs/sweeps.md): `sweep.csv`, one row per run × metric with every parameter as a
 * column, and `sweep-points.csv`, one row per device × point × metric.
 */
import { percentile } from '../metrics/percentile';
import { thermalLabel } from '../protocol/thermal';
import { ratio } from '../report/measures';
import type { SweepJournal, SweepPointStat, SweepRunEntry } from './journal';
import { SWEEP_METRICS, type SweepMetricName } from './metrics';

/** One measured number of a run. */
export interface RunMetric {
  metric: string;
  value: number;
  unit: string;
}

/** One metric's value, with its unit from {@link SWEEP_METRICS}. */
const metric = (name: SweepMetricName, value: number): RunMetric => ({
  metric: name,
  value,
  unit: SWEEP_METRICS[name].unit,
});

const baselineKey = (role: string, r: Pick<SweepRunEntry, 'promptIndex' | 'seed'>): string =>
  `${role}/${r.promptIndex}/${r.seed}`;

/** The baseline entry of each run that has one (the same device role, prompt and seed), by run id. */
export function sweepBaselines(journal: SweepJournal): Map<string, SweepRunEntry> {
  const roleOf = new Map(journal.spec.devices.map((d) => [d.id, d.role]));
  const byKey = new Map<string, SweepRunEntry>();
  for (const r of journal.runs)
    if (r.kind === 'baseline') byKey.set(baselineKey(roleOf.get(r.device) ?? '', r), r);
  const out = new Map<string, SweepRunEntry>();
  for (const r of journal.runs) {
    const b = r.kind === 'measured' ? byKey.get(baselineKey(roleOf.get(r.device) ?? '', r)) : undefined;
    if (b !== undefined) out.set(r.id, b);
  }
  return out;
}

/** Each run's metrics by run id (finished runs only). */
export function sweepRunMetrics(journal: SweepJournal): Map<string, RunMetric[]> {
  const baselines = sweepBaselines(journal);
  const out = new Map<string, RunMetric[]>();
  for (const r of journal.runs) {
    const res = r.result;
    if (r.status !== 'finished' || res === null) continue;
    const m: RunMetric[] = [
      metric('wall', res.wallMs),
      metric('load', res.loadMs),
      metric('text', res.textMs),
      metric('denoise', res.denoiseMs),
      metric('decode', res.decodeMs),
      metric('steps_run', res.stepsRun),
    ];
    if (res.stepMs !== null) m.push(metric('step', res.stepMs));
    if (res.peakResidentBytes !== null) m.push(metric('peak_resident', res.peakResidentBytes));
    const base = baselines.get(r.id)?.result;
    if (base) {
      const wall = ratio(res.wallMs, base.wallMs);
      const denoise = ratio(res.denoiseMs, base.denoiseMs);
      if (wall !== null) m.push(metric('speedup_wall', wall));
      if (denoise !== null) m.push(metric('speedup_denoise', denoise));
    }
    if (r.quality !== null) {
      m.push(metric('psnr_vs_baseline', r.quality.psnrDb));
      m.push(metric('ssim_vs_baseline', r.quality.ssim));
    }
    if (r.clip !== null) {
      m.push(metric('flicker', r.clip.flicker));
      const baseClip = baselines.get(r.id)?.clip;
      if (baseClip) m.push(metric('flicker_vs_baseline', r.clip.flicker - baseClip.flicker));
      if (r.clip.adherence !== null) m.push(metric('adherence', r.clip.adherence));
    }
    out.set(r.id, m);
  }
  return out;
}

/** Each device × point × metric over the point's finished measured runs: n, median, quartiles, min, max. */
export function sweepPointStats(journal: SweepJournal): SweepPointStat[] {
  const metrics = sweepRunMetrics(journal);
  const groups = new Map<
    string,
    { run: SweepRunEntry; values: Map<string, { unit: string; xs: number[] }> }
  >();
  for (const r of journal.runs) {
    const m = metrics.get(r.id);
    if (r.kind !== 'measured' || r.pointId === null || m === undefined) continue;
    const key = `${r.device}/${r.pointId}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { run: r, values: new Map() }));
    for (const { metric, value, unit } of m) {
      const v = g.values.get(metric) ?? { unit, xs: [] };
      v.xs.push(value);
      g.values.set(metric, v);
    }
  }
  const out: SweepPointStat[] = [];
  for (const { run, values } of groups.values())
    for (const [metric, { unit, xs }] of values)
      out.push({
        device: run.device,
        pointId: run.pointId!,
        point: run.point,
        metric,
        unit,
        n: xs.length,
        median: percentile(xs, 50),
        p25: percentile(xs, 25),
        p75: percentile(xs, 75),
        min: Math.min(...xs),
        max: Math.max(...xs),
      });
  return out;
}

/** One CSV field: as is, or quoted when it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

/** `{ lpl: { mode: 'fixed' } }` → `{ 'lpl.mode': 'fixed' }`. */
function flatten(
  value: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/**
 * `sweep.csv`: one row per finished run × metric. Columns: `run_id, kind, device, role, point_id, repeat`, then
 * `axis.<name>` per axis, then `param.<path>` for every run parameter any run has (`param.prompt`,
 * `param.lpl.leapStep`, `param.cidl.budget.kind`, …), then `thermal_start, thermal_end` (the device's state, `unknown`
 * when it cannot tell), `thermal_gate, thermal_wait_ms` (journal.ts `sweepRunThermalSchema`), then `metric, value,
 * unit`.
 */
export function sweepRunsCsv(journal: SweepJournal): string {
  const metrics = sweepRunMetrics(journal);
  const roleOf = new Map(journal.spec.devices.map((d) => [d.id, d.role]));
  const axes = Object.keys(journal.spec.axes);
  const flat = new Map(journal.runs.map((r) => [r.id, flatten(r.params)]));
  const paramCols = [...new Set(journal.runs.flatMap((r) => Object.keys(flat.get(r.id)!)))].sort();
  const rows: unknown[][] = [];
  for (const r of journal.runs)
    for (const m of metrics.get(r.id) ?? [])
      rows.push([
        r.id,
        r.kind,
        r.device,
        roleOf.get(r.device),
        r.pointId,
        r.repeat,
        ...axes.map((a) => r.point[a]),
        ...paramCols.map((c) => flat.get(r.id)![c]),
        thermalLabel(r.thermal?.start),
        thermalLabel(r.thermal?.end),
        r.thermal?.gate ?? 'off',
        r.thermal?.waitedMs ?? 0,
        m.metric,
        m.value,
        m.unit,
      ]);
  return csv(
    [
      'run_id',
      'kind',
      'device',
      'role',
      'point_id',
      'repeat',
      ...axes.map((a) => `axis.${a}`),
      ...paramCols.map((c) => `param.${c}`),
      'thermal_start',
      'thermal_end',
      'thermal_gate',
      'thermal_wait_ms',
      'metric',
      'value',
      'unit',
    ],
    rows,
  );
}

/**
 * `sweep-points.csv`: one row per device × point × metric over the point's measured runs. Columns: `device,
 * role, point_id`, `axis.<name>` per axis, then `metric, unit, n, median, p25, p75, min, max`.
 */
export function sweepPointsCsv(journal: SweepJournal, stats: readonly SweepPointStat[]): string {
  const roleOf = new Map(journal.spec.devices.map((d) => [d.id, d.role]));
  const axes = Object.keys(journal.spec.axes);
  return csv(
    [
      'device',
      'role',
      'point_id',
      ...axes.map((a) => `axis.${a}`),
      'metric',
      'unit',
      'n',
      'median',
      'p25',
      'p75',
      'min',
      'max',
    ],
    stats.map((s) => [
      s.device,
      roleOf.get(s.device),
      s.pointId,
      ...axes.map((a) => s.point[a]),
      s.metric,
      s.unit,
      s.n,
      s.median,
      s.p25,
      s.p75,
      s.min,
      s.max,
    ]),
  );
}
