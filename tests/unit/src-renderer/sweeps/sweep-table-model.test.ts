// The sweep table's rows: one per device × point from the journal's statistics, sorted by an axis or a metric's
// median (missing values last), filtered by device, point or axis=value.
import { describe, expect, it } from 'vitest';
import type { SweepJournal, SweepPointStat } from '../../../../shared/sweep/journal';
import {
  runThermalText,
  sortAndFilter,
  sweepTableRows,
  TABLE_METRICS,
  thermalGateText,
} from '../../../../src-renderer/sweeps/sweep-table-model';

const stat = (
  pointId: string,
  leap: number,
  metric: string,
  median: number,
  device = 'phone',
): SweepPointStat => ({
  device,
  pointId,
  point: { 'lpl.leapStep': leap },
  metric,
  unit: 'ms',
  n: 2,
  median,
  p25: median - 1,
  p75: median + 1,
  min: median - 2,
  max: median + 2,
});

const journal = {
  points: [
    stat('pa', 2, 'wall', 300),
    stat('pa', 2, 'speedup_wall', 1.5),
    stat('pb', 4, 'wall', 200),
    stat('pc', 6, 'wall', 250, 'desk'),
    stat('pc', 6, 'speedup_wall', 1.2, 'desk'),
  ],
} as unknown as SweepJournal;

describe('sweep table rows', () => {
  it('groups the statistics into one row per device × point', () => {
    const rows = sweepTableRows(journal);
    expect(rows.map((r) => [r.device, r.pointId, Object.keys(r.stats)])).toEqual([
      ['phone', 'pa', ['wall', 'speedup_wall']],
      ['phone', 'pb', ['wall']],
      ['desk', 'pc', ['wall', 'speedup_wall']],
    ]);
  });

  it('sorts by a metric, both ways, missing values last', () => {
    const rows = sweepTableRows(journal);
    expect(sortAndFilter(rows, 'metric:wall', false, '').map((r) => r.pointId)).toEqual(['pb', 'pc', 'pa']);
    expect(sortAndFilter(rows, 'metric:wall', true, '').map((r) => r.pointId)).toEqual(['pa', 'pc', 'pb']);
    expect(sortAndFilter(rows, 'metric:speedup_wall', true, '').map((r) => r.pointId)).toEqual([
      'pa',
      'pc',
      'pb',
    ]);
    expect(sortAndFilter(rows, 'axis:lpl.leapStep', true, '').map((r) => r.pointId)).toEqual([
      'pc',
      'pb',
      'pa',
    ]);
  });

  it('filters by device or axis=value', () => {
    const rows = sweepTableRows(journal);
    expect(sortAndFilter(rows, null, false, 'DESK').map((r) => r.pointId)).toEqual(['pc']);
    expect(sortAndFilter(rows, null, false, 'leapStep=4').map((r) => r.pointId)).toEqual(['pb']);
  });

  it('has Flicker, Flicker Δ and Adherence columns after the quality ones', () => {
    expect(TABLE_METRICS.map((m) => m.header).slice(-4)).toEqual([
      'SSIM',
      'Flicker',
      'Flicker Δ',
      'Adherence',
    ]);
    expect(TABLE_METRICS.slice(-3).map((m) => m.metric)).toEqual([
      'flicker',
      'flicker_vs_baseline',
      'adherence',
    ]);
  });

  it('says what the thermal gate does, and each run’s thermal states and gate outcome', () => {
    expect(thermalGateText(undefined)).toMatch(/^No thermal gate/);
    expect(thermalGateText({ maxState: 'fair', coolDownMs: 30_000, pollMs: 5000, maxWaitMs: 600_000 })).toBe(
      'Thermal gate: each run starts at fair or cooler, at least 30 s after its device’s previous run; the state ' +
        'is asked every 5 s, and after 600 s the run starts anyway, marked expired.',
    );
    expect(runThermalText({ start: 'serious', end: 'critical', waitedMs: 12_345, gate: 'expired' })).toBe(
      'thermal serious → critical · gate expired after 12.3 s',
    );
    expect(runThermalText({ start: 'nominal', end: 'fair', waitedMs: 30, gate: 'passed' })).toBe(
      'thermal nominal → fair · gate passed',
    );
    expect(runThermalText({ start: null, end: null, waitedMs: 0, gate: 'off' })).toBe(
      'thermal unknown → unknown',
    );
  });
});
