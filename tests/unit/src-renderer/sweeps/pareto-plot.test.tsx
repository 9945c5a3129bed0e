// @vitest-environment happy-dom
// The Sweeps screen's Pareto plot: every device × point drawn with the front marked, metrics switched from its
// selects, a point's settings on hover, and a clicked point's id handed to `onOpenPoint`.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SweepPointStat } from '../../../../shared/sweep/journal';
import { ParetoPlot } from '../../../../src-renderer/sweeps/pareto-plot';

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

describe('ParetoPlot', () => {
  it('draws every point, speed-up against PSNR by default, the front marked and joined', () => {
    render(<ParetoPlot stats={stats()} axes={AXES} onOpenPoint={() => {}} />);
    expect(screen.getAllByTestId('pareto-point')).toHaveLength(4);
    expect(front('pareto-point')).toEqual(['pa', 'pb', 'pc']);
    expect(screen.getByTestId('pareto-front-line').getAttribute('points')!.split(' ')).toHaveLength(3);
    expect((screen.getByTestId('pareto-x') as HTMLSelectElement).value).toBe('speedup_wall');
    expect((screen.getByTestId('pareto-y') as HTMLSelectElement).value).toBe('psnr_vs_baseline');
    expect(screen.getByText('speed-up (wall) [×] ↑ better')).toBeTruthy();
  });

  it('clicking a point calls onOpenPoint with its id (and device); Enter on a focused point does the same', () => {
    const onOpenPoint = vi.fn();
    render(<ParetoPlot stats={stats()} axes={AXES} onOpenPoint={onOpenPoint} />);
    const pc = screen.getAllByTestId('pareto-point').find((c) => c.getAttribute('data-point-id') === 'pc')!;
    fireEvent.click(pc);
    expect(onOpenPoint).toHaveBeenCalledWith('pc', 'phone');
    const pd = screen.getAllByTestId('pareto-point').find((c) => c.getAttribute('data-point-id') === 'pd')!;
    fireEvent.keyDown(pd, { key: 'Enter' });
    expect(onOpenPoint).toHaveBeenLastCalledWith('pd', 'phone');
  });

  it('hovering a point shows its settings and values', () => {
    render(<ParetoPlot stats={stats()} axes={AXES} onOpenPoint={() => {}} />);
    const pb = screen.getAllByTestId('pareto-point').find((c) => c.getAttribute('data-point-id') === 'pb')!;
    act(() => {
      fireEvent.mouseEnter(pb);
    });
    const hover = screen.getByTestId('pareto-hover');
    expect(hover.getAttribute('data-point-id')).toBe('pb');
    expect(hover.textContent).toContain('lpl.leapStep = 4 · tdtm.mergeSteps = 4');
    expect(hover.textContent).toContain('1.50×');
    expect(hover.textContent).toContain('35.0 dB');
    act(() => {
      fireEvent.mouseLeave(pb);
    });
    expect(screen.queryByTestId('pareto-hover')).toBeNull();
  });

  it('choosing other metrics redraws the front in their directions (lower wall time and memory are better)', () => {
    render(<ParetoPlot stats={stats()} axes={AXES} onOpenPoint={() => {}} />);
    fireEvent.change(screen.getByTestId('pareto-x'), { target: { value: 'wall' } });
    fireEvent.change(screen.getByTestId('pareto-y'), { target: { value: 'peak_resident' } });
    // pc: fastest (150 ms) and smallest (500 B): it beats everything.
    expect(front('pareto-point')).toEqual(['pc']);
    expect(screen.getByText('wall time [ms] ↓ better')).toBeTruthy();
  });

  it('with no statistics yet it says there is nothing to draw', () => {
    render(<ParetoPlot stats={[]} onOpenPoint={() => {}} />);
    expect(screen.queryAllByTestId('pareto-point')).toHaveLength(0);
    expect(screen.getByRole('img').textContent).toContain('no point has both');
  });
});
