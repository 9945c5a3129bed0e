import { describe, expect, it } from 'vitest';
import {
  achievedRate,
  frameIntervals,
  longTaskStats,
  matchLatencies,
  median,
  summarize,
} from '../../../../src-main/bench/studio-stats';

describe('studio bench statistics', () => {
  it('summarizes a sample with interpolated percentiles, max and mean', () => {
    const xs = Array.from({ length: 101 }, (_, i) => 100 - i); // 100..0, unsorted input
    expect(summarize(xs)).toEqual({ n: 101, p50: 50, p95: 95, p99: 99, max: 100, mean: 50 });
    expect(summarize([10, 20])).toMatchObject({ p50: 15, p95: 19.5, max: 20 });
  });

  it('reports an empty sample as NaN rather than zero latency', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    expect(s.p95).toBeNaN();
  });

  it('matches renderer samples to emit times by seq and splits transport from rendering', () => {
    const emitted = new Map([
      [1, 1000],
      [2, 1005],
      [3, 1010],
    ]);
    const spans = matchLatencies(emitted, [
      { seq: 1, receivedAtMs: 1004, paintedAtMs: 1016 },
      { seq: 2, receivedAtMs: 1008, paintedAtMs: 1016 },
      { seq: 2, receivedAtMs: 1030, paintedAtMs: 1040 }, // a resend: the first arrival counts
      { seq: 99, receivedAtMs: 1, paintedAtMs: 2 }, // another run's event
    ]);
    expect(spans.eventToScreen).toEqual([16, 11]);
    expect(spans.transport).toEqual([4, 3]);
    expect(spans.render).toEqual([12, 8]);
    expect(spans.missing).toEqual([3]);
  });

  it('turns animation-frame times into intervals and long tasks into totals', () => {
    const intervals = frameIntervals([0, 16.7, 33.4, 83.4]);
    expect(intervals.map((x) => Math.round(x * 10) / 10)).toEqual([16.7, 16.7, 50]);
    expect(frameIntervals([5])).toEqual([]);
    expect(longTaskStats([60, 120.04, 51])).toEqual({ count: 3, totalMs: 231, maxMs: 120 });
    expect(longTaskStats([])).toEqual({ count: 0, totalMs: 0, maxMs: 0 });
  });

  it('measures the achieved event rate between the first and last emit', () => {
    // 201 events 5 ms apart: exactly 200 events per second, whatever the order.
    const times = Array.from({ length: 201 }, (_, i) => 1000 + i * 5).reverse();
    expect(achievedRate(times)).toBe(200);
    expect(achievedRate([1])).toBeNaN();
  });

  it('takes the median of repeated runs, ignoring runs without a number', () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([40, NaN, 10, 20])).toBe(20);
    expect(median([])).toBeNaN();
  });
});
