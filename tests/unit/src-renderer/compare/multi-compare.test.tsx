// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompareResult } from '../../../../shared/protocol/studio-contract';
import { CompareScreen } from '../../../../src-renderer/compare/compare-screen';
import { FakeStudio, renderWithStudio } from '../helpers/fake-studio';
import { recordedRun } from '../helpers/recorded-runs';

afterEach(cleanup);

const paper = recordedRun('paper-defaults');
const baseline = recordedRun('baseline');

function result(psnr: number): CompareResult {
  return {
    frames: paper.frames.length,
    width: paper.width,
    height: paper.height,
    perFrame: [],
    clip: { psnr, ssim: 0.9, flickerA: 0.99, flickerB: 0.98 },
    timing: { wallMsA: 100, wallMsB: 200, speedup: 2 },
    memory: { peakA: 1, peakB: 2, ratio: 0.5 },
  };
}

describe('Compare, 3 runs', () => {
  it('shows a frame pane and a latency curve per run, one slider moving every pane, and each run against the first', async () => {
    const studio = new FakeStudio();
    const frames = paper.frames.length;
    for (const [id, rec] of [
      ['r1', paper],
      ['r2', baseline],
      ['r3', paper],
    ] as const) {
      studio.addRun(id, rec);
      studio.runs.get(id)!.summary.metrics = {
        wallMs: rec.wallMs,
        denoiseMs: null,
        medianStepMs: null,
        peakResidentBytes: null,
        frames,
      };
    }
    studio.overrides['runs.compare'] = ({ runA }) => result(runA === 'r2' ? 31.5 : 99);
    renderWithStudio(<CompareScreen runA="r1" runB="r2" more={['r3']} />, studio);
    await waitFor(() => expect(screen.getAllByTestId('multi-frame')).toHaveLength(3));
    await waitFor(() => expect(screen.getAllByTestId('overlay-latency-curve')).toHaveLength(3));
    expect(screen.getAllByTestId('overlay-memory-curve')).toHaveLength(3);
    // The paper-defaults runs leap once each and merge their first steps; the baseline does neither.
    expect(screen.getAllByTestId('overlay-leap')).toHaveLength(2);
    expect(screen.getAllByTestId('overlay-merge').length).toBeGreaterThan(0);

    fireEvent.change(screen.getByTestId('multi-frame-scrubber'), { target: { value: '7' } });
    await waitFor(() =>
      expect(screen.getAllByTestId('multi-frame').map((f) => f.getAttribute('data-frame-index'))).toEqual([
        '7',
        '7',
        '7',
      ]),
    );
    expect(screen.getAllByTestId('multi-frame')[1]!.getAttribute('src')).toBe(
      `data:image/png;base64,${baseline.frames[7]}`,
    );
    await waitFor(() =>
      expect(screen.getAllByTestId('multi-psnr').map((c) => c.textContent)).toEqual(['31.50 dB', '99.00 dB']),
    );
    expect(studio.callsOf('runs.compare')).toEqual(
      expect.arrayContaining([
        { runA: 'r2', runB: 'r1' },
        { runA: 'r3', runB: 'r1' },
      ]),
    );
  });
});
