// The sweep figures' data: one figure point per device × point, the Pareto front in each metric's own direction
// (ties, dominated points, one point, all equal, missing values), and the layouts both the report and the studio draw.
import { describe, expect, it } from 'vitest';
import type { SweepPointStat } from '../../../../shared/sweep/journal';
import {
  defaultParetoMetrics,
  figurePoints,
  formatMetricValue,
  frontKeys,
  metricAxisTitle,
  paretoFront,
  paretoLayout,
  parallelLayout,
  PARALLEL_DEFAULT_METRICS,
  type FigurePoint,
  type ParallelDimension,
} from '../../../../shared/report/sweep-figures';
import { niceTicks } from '../../../../shared/report/axes';
import { SWEEP_METRICS } from '../../../../shared/sweep/metrics';

/** A figure point `id` on device `d` with the given medians. */
function pt(id: string, median: FigurePoint['median'], device = 'phone', point = {}): FigurePoint {
  return { key: `${device}/${id}`, device, pointId: id, point, median, spread: {} };
}

const keys = (ps: readonly FigurePoint[]): string[] => ps.map((p) => p.pointId);

describe('paretoFront', () => {
  it('keeps the points nothing beats on speed-up and PSNR (both higher-better), in ascending x', () => {
    const ps = [
      pt('a', { speedup_wall: 1.0, psnr_vs_baseline: 40 }),
      pt('b', { speedup_wall: 2.0, psnr_vs_baseline: 30 }),
      pt('c', { speedup_wall: 1.5, psnr_vs_baseline: 25 }), // dominated by b
      pt('d', { speedup_wall: 3.0, psnr_vs_baseline: 20 }),
      pt('e', { speedup_wall: 0.9, psnr_vs_baseline: 39 }), // dominated by a
    ];
    expect(keys(paretoFront(ps, 'speedup_wall', 'psnr_vs_baseline'))).toEqual(['a', 'b', 'd']);
  });

  it('takes each metric’s direction: lower wall time and lower peak memory are better', () => {
    const ps = [
      pt('fast-big', { wall: 100, peak_resident: 900 }),
      pt('slow-small', { wall: 300, peak_resident: 100 }),
      pt('slow-big', { wall: 300, peak_resident: 900 }),
      pt('mid', { wall: 200, peak_resident: 500 }),
    ];
    expect(keys(paretoFront(ps, 'wall', 'peak_resident'))).toEqual(['fast-big', 'mid', 'slow-small']);
    // Mixed directions: higher speed-up, lower memory.
    const mixed = [
      pt('a', { speedup_wall: 2, peak_resident: 500 }),
      pt('b', { speedup_wall: 1, peak_resident: 500 }), // same memory, slower: dominated
      pt('c', { speedup_wall: 1, peak_resident: 100 }),
    ];
    expect(keys(paretoFront(mixed, 'speedup_wall', 'peak_resident'))).toEqual(['c', 'a']);
  });

  it('ties: equal on both metrics are all on the front; equal on one and worse on the other is dominated', () => {
    const ps = [
      pt('a', { speedup_wall: 2, psnr_vs_baseline: 30 }),
      pt('a2', { speedup_wall: 2, psnr_vs_baseline: 30 }),
      pt('same-x-worse-y', { speedup_wall: 2, psnr_vs_baseline: 29 }),
      pt('same-y-worse-x', { speedup_wall: 1.5, psnr_vs_baseline: 30 }),
    ];
    expect(keys(paretoFront(ps, 'speedup_wall', 'psnr_vs_baseline')).sort()).toEqual(['a', 'a2']);
  });

  it('one point is its own front; all equal points are all on it; none gives none', () => {
    expect(keys(paretoFront([pt('only', { wall: 5, step: 1 })], 'wall', 'step'))).toEqual(['only']);
    const same = ['a', 'b', 'c'].map((id) => pt(id, { wall: 5, step: 1 }));
    expect(keys(paretoFront(same, 'wall', 'step'))).toEqual(['a', 'b', 'c']);
    expect(paretoFront([], 'wall', 'step')).toEqual([]);
  });

  it('a point missing either metric is neither on the front nor dominates anything', () => {
    const ps = [
      pt('no-quality', { speedup_wall: 9 }), // would dominate everything on speed-up alone
      pt('no-speed', { psnr_vs_baseline: 99 }),
      pt('a', { speedup_wall: 1, psnr_vs_baseline: 30 }),
      pt('b', { speedup_wall: 2, psnr_vs_baseline: 20 }),
    ];
    expect(keys(paretoFront(ps, 'speedup_wall', 'psnr_vs_baseline'))).toEqual(['a', 'b']);
  });
});

describe('frontKeys', () => {
  it('each device has its own front: a faster desktop does not push every phone setting off it', () => {
    const ps = [
      pt('a', { speedup_wall: 1.0, psnr_vs_baseline: 40 }, 'phone'),
      pt('b', { speedup_wall: 2.0, psnr_vs_baseline: 30 }, 'phone'),
      pt('c', { speedup_wall: 1.5, psnr_vs_baseline: 25 }, 'phone'),
      pt('a', { speedup_wall: 5.0, psnr_vs_baseline: 41 }, 'desk'),
      pt('b', { speedup_wall: 4.0, psnr_vs_baseline: 30 }, 'desk'),
    ];
    expect(keys(paretoFront(ps, 'speedup_wall', 'psnr_vs_baseline'))).toEqual(['a']);
    expect([...frontKeys(ps, 'speedup_wall', 'psnr_vs_baseline')].sort()).toEqual([
      'desk/a',
      'phone/a',
      'phone/b',
    ]);
  });
});

describe('figurePoints', () => {
  const stat = (device: string, pointId: string, metric: string, median: number): SweepPointStat => ({
    device,
    pointId,
    point: { 'lpl.leapStep': pointId === 'p1' ? 4 : 6 },
    metric,
    unit: 'x',
    n: 2,
    median,
    p25: median - 1,
    p75: median + 1,
    min: median - 2,
    max: median + 2,
  });

  it('gathers one point per device × point with each metric’s median and spread; unknown metrics are left out', () => {
    const ps = figurePoints([
      stat('phone', 'p1', 'wall', 100),
      stat('phone', 'p1', 'speedup_wall', 2),
      stat('desk', 'p1', 'wall', 50),
      stat('phone', 'p2', 'wall', 80),
      stat('phone', 'p2', 'thermal_whatever', 3),
    ]);
    expect(ps.map((p) => p.key)).toEqual(['phone/p1', 'desk/p1', 'phone/p2']);
    expect(ps[0]!.median).toEqual({ wall: 100, speedup_wall: 2 });
    expect(ps[0]!.spread.wall).toEqual({ p25: 99, p75: 101, n: 2 });
    expect(ps[2]!.median).toEqual({ wall: 80 });
  });
});

describe('the metric list', () => {
  it('says which way is better, with units the axes name', () => {
    expect(SWEEP_METRICS.speedup_wall.better).toBe('higher');
    expect(SWEEP_METRICS.peak_resident.better).toBe('lower');
    expect(metricAxisTitle('psnr_vs_baseline')).toBe('PSNR vs baseline [dB] ↑ better');
    expect(metricAxisTitle('wall')).toBe('wall time [ms] ↓ better');
    expect(formatMetricValue('speedup_wall', 1.825)).toBe('1.82×');
    expect(formatMetricValue('peak_resident', 9.5 * 1024 ** 2)).toBe('9.5 MiB');
    expect(formatMetricValue('wall', undefined)).toBe('—');
    expect(formatMetricValue('wall', 1234.4)).toBe('1234 ms');
    expect(formatMetricValue('flicker', 0.97123)).toBe('0.9712');
    // A difference shows its sign either way; the report and the studio's table use this one function.
    expect(formatMetricValue('flicker_vs_baseline', 0.0123)).toBe('+0.0123');
    expect(formatMetricValue('flicker_vs_baseline', -0.05)).toBe('-0.0500');
    expect(formatMetricValue('adherence', 0.75)).toBe('0.7500');
  });

  it('the default plot is speed-up against quality when the sweep has them, else time against memory', () => {
    expect(defaultParetoMetrics([pt('a', { speedup_wall: 1, psnr_vs_baseline: 3, wall: 1 })])).toEqual({
      x: 'speedup_wall',
      y: 'psnr_vs_baseline',
    });
    expect(defaultParetoMetrics([pt('a', { wall: 1, peak_resident: 3 })])).toEqual({
      x: 'wall',
      y: 'peak_resident',
    });
  });
});

describe('layouts', () => {
  it('niceTicks covers the range with round steps, and widens a single value', () => {
    expect(niceTicks(0.93, 2.07)).toEqual([0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(0, 100, 4)).toEqual([0, 50, 100]);
    const one = niceTicks(5, 5);
    expect(one[0]).toBeLessThan(5);
    expect(one.at(-1)).toBeGreaterThan(5);
  });

  it('the Pareto layout puts better-right-and-up front points on a line in x order, inside the box', () => {
    const ps = [
      pt('a', { speedup_wall: 1, psnr_vs_baseline: 40 }),
      pt('b', { speedup_wall: 2, psnr_vs_baseline: 30 }),
      pt('c', { speedup_wall: 1.5, psnr_vs_baseline: 25 }),
      pt('none', { wall: 3 }),
    ];
    const L = paretoLayout(ps, 'speedup_wall', 'psnr_vs_baseline');
    expect(L.marks.map((m) => [m.point.pointId, m.front])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
    expect(L.missing).toBe(1);
    expect(L.frontLines).toHaveLength(1);
    const line = L.frontLines[0]!.points;
    expect(line).toHaveLength(2);
    expect(line[0]![0]).toBeLessThan(line[1]![0]);
    for (const m of L.marks) {
      expect(m.cx).toBeGreaterThanOrEqual(L.box.left);
      expect(m.cx).toBeLessThanOrEqual(L.box.width - L.box.right);
      expect(m.cy).toBeGreaterThanOrEqual(L.box.top);
      expect(m.cy).toBeLessThanOrEqual(L.box.height - L.box.bottom);
    }
    // Higher PSNR is drawn higher (smaller y).
    expect(L.marks[0]!.cy).toBeLessThan(L.marks[1]!.cy);
    expect(L.xTicks.length).toBeGreaterThan(1);
  });

  it('parallel coordinates: one dimension per spec axis then per metric present; a missing value breaks the line', () => {
    const axes = { 'lpl.leapStep': [4, 6], 'cidl.budget': ['all', '50%'] };
    const ps = [
      pt('p1', { speedup_wall: 1.2, wall: 100 }, 'phone', { 'lpl.leapStep': 4, 'cidl.budget': 'all' }),
      pt('p2', { wall: 80 }, 'phone', { 'lpl.leapStep': 6, 'cidl.budget': '50%' }),
    ];
    const L = parallelLayout(ps, axes, ['speedup_wall', 'psnr_vs_baseline', 'wall']);
    expect(L.dimensions.map((d) => `${d.kind}:${d.name}`)).toEqual([
      'axis:lpl.leapStep',
      'axis:cidl.budget',
      'metric:speedup_wall',
      'metric:wall',
    ]);
    expect(L.dimensions[0]!.ticks.map((t) => t.text)).toEqual(['4', '6']);
    expect(L.lines[0]!.segments).toHaveLength(1);
    expect(L.lines[0]!.segments[0]).toHaveLength(4);
    // p2 has no speed-up: its line stops before that axis and starts again after it.
    expect(L.lines[1]!.segments.map((s) => s.length)).toEqual([2, 1]);
  });

  it('parallel coordinates: three axes and every default metric, no two titles overlap and none leaves the figure', () => {
    const axes = { 'lpl.leapStep': [28, 15], 'tdtm.mergeSteps': [0, 7], 'cidl.budget': ['all', '50%'] };
    const every = Object.fromEntries(PARALLEL_DEFAULT_METRICS.map((m) => [m, 1])) as FigurePoint['median'];
    const L = parallelLayout([pt('p1', every, 'phone', { 'lpl.leapStep': 28 })], axes);
    expect(L.dimensions).toHaveLength(3 + PARALLEL_DEFAULT_METRICS.length);
    // A line's extent at 11 px, taking 6.5 px per character (wider than the average of a sans-serif face).
    const extent = (l: ParallelDimension['titleLines'][number]): [number, number] => [
      l.x - (l.text.length * 6.5) / 2,
      l.x + (l.text.length * 6.5) / 2,
    ];
    const lines = L.dimensions.flatMap((d) => d.titleLines);
    expect(L.dimensions.find((d) => d.name === 'peak_resident')!.titleLines.map((l) => l.text)).toEqual([
      'peak resident blocks',
      '[bytes] ↓ better',
    ]);
    for (const l of lines) {
      const [from, to] = extent(l);
      expect(from, l.text).toBeGreaterThanOrEqual(0);
      expect(to, l.text).toBeLessThanOrEqual(L.box.width);
      expect(l.y, l.text).toBeGreaterThanOrEqual(11);
      expect(l.y, l.text).toBeLessThan(L.box.top);
    }
    for (const a of lines)
      for (const b of lines) {
        if (a === b || Math.abs(a.y - b.y) >= 12) continue; // different rows
        const [a0, a1] = extent(a);
        const [b0, b1] = extent(b);
        expect(a1 <= b0 || b1 <= a0, `"${a.text}" and "${b.text}" overlap`).toBe(true);
      }
  });
});
