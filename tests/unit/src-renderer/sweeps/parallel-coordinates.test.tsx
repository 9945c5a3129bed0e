// @vitest-environment happy-dom
// Parallel coordinates of the Sweeps screen: one line per point over the spec's axes and the metrics, the Pareto
// front highlighted, hover names a line, a click hands its point id to `onOpenPoint`.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SweepPointStat } from '../../../../shared/sweep/journal';
import { ParallelCoordinates } from '../../../../src-renderer/sweeps/parallel-coordinates';

afterEach(cleanup);

const AXES = { 'lpl.leapStep': [4, 6], 'tdtm.mergeSteps': [0, 4] };

/** Point statistics of a 2 × 2 grid on one device: `values[pointId] = [speed-up, PSNR, wall ms, peak bytes]`. */
function stats(): SweepPointStat[] {
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

const front = (testId: string): string[] =>
  screen
    .getAllByTestId(testId)
    .filter((el) => el.getAttribute('data-front') === 'true')
    .map((el) => el.getAttribute('data-point-id')!)
    .sort();

describe('ParallelCoordinates', () => {
  it('one axis per spec axis and metric, one line per point, the front highlighted; a click opens the point', () => {
    const onOpenPoint = vi.fn();
    render(<ParallelCoordinates stats={stats()} axes={AXES} onOpenPoint={onOpenPoint} />);
    expect(screen.getAllByTestId('parallel-dimension').map((d) => d.getAttribute('data-name'))).toEqual([
      'lpl.leapStep',
      'tdtm.mergeSteps',
      'speedup_wall',
      'psnr_vs_baseline',
      'wall',
      'peak_resident',
    ]);
    expect(screen.getAllByTestId('parallel-line')).toHaveLength(4);
    expect(front('parallel-line')).toEqual(['pa', 'pb', 'pc']);
    const pd = screen.getAllByTestId('parallel-line').find((l) => l.getAttribute('data-point-id') === 'pd')!;
    act(() => {
      fireEvent.mouseEnter(pd);
    });
    expect(screen.getByTestId('parallel-hover').textContent).toBe(
      'phone · lpl.leapStep=6, tdtm.mergeSteps=4',
    );
    fireEvent.click(pd);
    expect(onOpenPoint).toHaveBeenCalledWith('pd', 'phone');
  });
});
