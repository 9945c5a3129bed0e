// The point statistics of a small sweep for the plot tests: a 2 × 2 grid (LPL leap × TDTM merges) on one device,
// with a known Pareto front of speed-up against PSNR (pd is dominated by pb), and the `front()` reader of the
// points or lines a plot marks as on it.
import { screen } from '@testing-library/react';
import type { SweepPointStat } from '../../shared/sweep/journal';

export const AXES = { 'lpl.leapStep': [4, 6], 'tdtm.mergeSteps': [0, 4] };

/** Point statistics of a 2 × 2 grid on one device: `values[pointId] = [speed-up, PSNR, wall ms, peak bytes]`. */
export function stats(): SweepPointStat[] {
  const values: Record<string, [number, number, number, number, number, number]> = {
    pa: [4, 0, 1.0, 40, 300, 900],
    pb: [4, 4, 1.5, 35, 200, 500],
    pc: [6, 0, 2.0, 20, 150, 500],
    pd: [6, 4, 1.2, 25, 250, 950], // dominated by pb on speed-up and PSNR
  };
  const out: SweepPointStat[] = [];
  for (const [pointId, [leap, merge, speedup, psnr, wall, peak]] of Object.entries(values)) {
    const point = { 'lpl.leapStep': leap, 'tdtm.mergeSteps': merge };
    const add = (metric: string, unit: string, v: number): void => {
      out.push({
        device: 'phone',
        pointId,
        point,
        metric,
        unit,
        n: 2,
        median: v,
        p25: v,
        p75: v,
        min: v,
        max: v,
      });
    };
    add('speedup_wall', 'x', speedup);
    add('psnr_vs_baseline', 'dB', psnr);
    add('wall', 'ms', wall);
    add('peak_resident', 'bytes', peak);
  }
  return out;
}

export const front = (testId: string): string[] =>
  screen
    .getAllByTestId(testId)
    .filter((el) => el.getAttribute('data-front') === 'true')
    .map((el) => el.getAttribute('data-point-id')!)
    .sort();
