// The sweep table's rows: one per device × point, from the journal's point statistics (shared/sweep/stats.ts
// `sweepPointStats`: medians and spreads over the measured runs, warm-ups and baselines excluded), sorted and
// filtered as the user asks, and the thermal gate and each run's thermal record in words. Pure, so the tests check
// it without a DOM.
import { thermalLabel } from '../../shared/protocol/thermal';
import type { SweepJournal, SweepPointStat, SweepRunThermal } from '../../shared/sweep/journal';
import type { SweepSpec } from '../../shared/sweep/spec';
import type { SweepMetricName } from '../../shared/sweep/metrics';

/** The metrics the table shows, in column order, with their headers. */
export const TABLE_METRICS = [
  { metric: 'wall', header: 'Wall' },
  { metric: 'denoise', header: 'Denoise' },
  { metric: 'step', header: 'Step' },
  { metric: 'peak_resident', header: 'Peak memory' },
  { metric: 'speedup_wall', header: 'Speed-up' },
  { metric: 'psnr_vs_baseline', header: 'PSNR' },
  { metric: 'ssim_vs_baseline', header: 'SSIM' },
  { metric: 'flicker', header: 'Flicker' },
  { metric: 'flicker_vs_baseline', header: 'Flicker Δ' },
  { metric: 'adherence', header: 'Adherence' },
] as const satisfies readonly { metric: SweepMetricName; header: string }[];

/** One row: a point on a device and its statistics by metric. */
export interface SweepTableRow {
  key: string;
  device: string;
  pointId: string;
  point: SweepPointStat['point'];
  /** Measured runs that finished (the statistics' n). */
  n: number;
  stats: Record<string, SweepPointStat>;
}

/** What the table sorts by: an axis (`axis:lpl.leapStep`), `device`, or a metric's median (`metric:wall`). */
export type SortKey = string;

/** Rows of a journal: every device × point with at least one finished measured run, in plan order. */
export function sweepTableRows(journal: SweepJournal): SweepTableRow[] {
  const rows = new Map<string, SweepTableRow>();
  for (const s of journal.points) {
    const key = `${s.device}/${s.pointId}`;
    let row = rows.get(key);
    if (row === undefined)
      rows.set(key, (row = { key, device: s.device, pointId: s.pointId, point: s.point, n: 0, stats: {} }));
    row.stats[s.metric] = s;
    row.n = Math.max(row.n, s.n);
  }
  return [...rows.values()];
}

function sortValue(row: SweepTableRow, key: SortKey): number | string | boolean | null {
  if (key === 'device') return row.device;
  if (key.startsWith('axis:')) return row.point[key.slice(5)] ?? null;
  if (key.startsWith('metric:')) return row.stats[key.slice(7)]?.median ?? null;
  return null;
}

/** Rows whose device, point id or axis values contain `filter` (case-insensitive), sorted by `key`. */
export function sortAndFilter(
  rows: readonly SweepTableRow[],
  key: SortKey | null,
  descending: boolean,
  filter: string,
): SweepTableRow[] {
  const f = filter.trim().toLowerCase();
  const kept =
    f === ''
      ? [...rows]
      : rows.filter((r) =>
          [r.device, r.pointId, ...Object.entries(r.point).map(([a, v]) => `${a}=${String(v)}`)].some((t) =>
            t.toLowerCase().includes(f),
          ),
        );
  if (key === null) return kept;
  return kept.sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1; // missing values last
    const c =
      typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return descending ? -c : c;
  });
}

const seconds = (ms: number): string => `${ms / 1000} s`;

/** The spec's thermal gate in words (the sweep view shows it above the table). */
export function thermalGateText(gate: SweepSpec['thermal']): string {
  if (gate === undefined) return 'No thermal gate: each run starts whatever its device’s thermal state.';
  return (
    `Thermal gate: each run starts at ${gate.maxState} or cooler` +
    (gate.coolDownMs > 0 ? `, at least ${seconds(gate.coolDownMs)} after its device’s previous run` : '') +
    `; the state is asked every ${seconds(gate.pollMs)}, and after ${seconds(gate.maxWaitMs)} the run starts ` +
    'anyway, marked expired.'
  );
}

/** A run's thermal record in words: `thermal nominal → fair · gate passed after 12 s`. */
export function runThermalText(t: SweepRunThermal): string {
  const waited = Math.round(t.waitedMs / 100) * 100;
  const gate = t.gate === 'off' ? '' : ` · gate ${t.gate}${waited > 0 ? ` after ${seconds(waited)}` : ''}`;
  return `thermal ${thermalLabel(t.start)} → ${thermalLabel(t.end)}${gate}`;
}
