// @vitest-environment happy-dom
// The Sweeps screen's Pareto plot: every device × point drawn with the front marked, metrics switched from its
// selects, a point's settings on hover, and a clicked point's id handed to `onOpenPoint`.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AXES, front, stats } from '../../../helpers/sweep-point-stats';
import { ParetoPlot } from '../../../../src-renderer/sweeps/pareto-plot';

afterEach(cleanup);

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
