// @vitest-environment happy-dom
// Parallel coordinates of the Sweeps screen: one line per point over the spec's axes and the metrics, the Pareto
// front highlighted, hover names a line, a click hands its point id to `onOpenPoint`.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AXES, front, stats } from '../../../helpers/sweep-point-stats';
import { ParallelCoordinates } from '../../../../src-renderer/sweeps/parallel-coordinates';

afterEach(cleanup);

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
