// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import UPNG from 'upng-js';
import { afterEach, describe, expect, it } from 'vitest';
import { psnr, ssim } from '../../../../shared/metrics/quality';
import { temporalFlicker } from '../../../../shared/metrics/temporal';
import type { Video } from '../../../../shared/metrics/video';
import type { CompareResult } from '../../../../shared/protocol/studio-contract';
import { CompareScreen } from '../../../../src-renderer/compare/compare-screen';
import { FakeStudio, renderWithStudio } from '../helpers/fake-studio';
import { recordedRun, type RecordedRun } from '../helpers/recorded-runs';
import { testRunSummary } from '../../../helpers/studio-fixtures';

afterEach(cleanup);

function video(run: RecordedRun): Video {
  const frames = run.frames.map((b64) => {
    const bytes = Buffer.from(b64, 'base64');
    const img = UPNG.decode(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const rgba = new Uint8Array(UPNG.toRGBA8(img)[0] as ArrayBuffer);
    const rgb = new Uint8Array(img.width * img.height * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
    return rgb;
  });
  return { width: run.width, height: run.height, frames };
}

/** What main's runs.compare computes, done here with the same shared/metrics on the recorded frames. */
function compareRecorded(a: RecordedRun, b: RecordedRun): CompareResult {
  const va = video(a);
  const vb = video(b);
  const p = psnr(va, vb);
  const s = ssim(va, vb);
  const fa = temporalFlicker(va);
  const fb = temporalFlicker(vb);
  const flick = (pairs: number[], i: number) => (i === 0 ? null : (255 - (pairs[i - 1] ?? 0)) / 255);
  return {
    frames: va.frames.length,
    width: va.width,
    height: va.height,
    perFrame: va.frames.map((_, i) => ({
      index: i,
      psnr: p.perFrame[i] ?? 0,
      ssim: s.perFrame[i] ?? 0,
      flickerA: flick(fa.perPair, i),
      flickerB: flick(fb.perPair, i),
    })),
    clip: { psnr: p.clip, ssim: s.mean, flickerA: fa.score, flickerB: fb.score },
    timing: { wallMsA: a.wallMs, wallMsB: b.wallMs, speedup: b.wallMs / a.wallMs },
    memory: { peakA: 500, peakB: 1000, ratio: 0.5 },
  };
}

const paper = recordedRun('paper-defaults');
const baseline = recordedRun('baseline');

describe('Compare', () => {
  it('shows PSNR, SSIM, flicker, speedup and memory for a run and its baseline, with frame-locked playback', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-a', paper, undefined, { baselineRunId: 'run-b' });
    studio.addRun('run-b', baseline, undefined, { baselineOf: 'run-a' });
    const expected = compareRecorded(paper, baseline);
    studio.overrides['runs.compare'] = () => expected;
    renderWithStudio(<CompareScreen runA="run-a" runB={null} />, studio);
    const psnrBox = await screen.findByTestId('metric-psnr');
    expect(psnrBox.textContent).toContain(`${expected.clip.psnr.toFixed(2)} dB`);
    expect(screen.getByTestId('metric-ssim').textContent).toContain(expected.clip.ssim.toFixed(4));
    expect(screen.getByTestId('metric-flicker').textContent).toContain(expected.clip.flickerA.toFixed(4));
    expect(screen.getByTestId('metric-speedup').textContent).toContain(
      `${(expected.timing.speedup ?? 0).toFixed(2)}×`,
    );
    expect(screen.getByTestId('metric-memory').textContent).toContain('50 %');
    expect(studio.callsOf('runs.compare')).toEqual([{ runA: 'run-a', runB: 'run-b' }]);
    const a = await screen.findByTestId('frame-a');
    const b = screen.getByTestId('frame-b');
    expect(a.getAttribute('data-frame-index')).toBe('0');
    fireEvent.change(screen.getByTestId('frame-scrubber'), { target: { value: '7' } });
    expect(a.getAttribute('data-frame-index')).toBe('7');
    expect(b.getAttribute('data-frame-index')).toBe('7');
    expect(a.getAttribute('src')).toBe(`data:image/png;base64,${paper.frames[7]}`);
    expect(b.getAttribute('src')).toBe(`data:image/png;base64,${baseline.frames[7]}`);
    // The per-frame numbers follow the scrubber.
    expect(psnrBox.textContent).toContain(`frame: ${(expected.perFrame[7]?.psnr ?? 0).toFixed(2)} dB`);
    expect(screen.getByTestId('wipe-slider')).toBeTruthy();
    expect(screen.getByTestId('diff-heatmap')).toBeTruthy();
  });

  it('offers "run baseline" for a run without one and opens the comparison with the new run', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-a', paper);
    studio.overrides['runs.startBaseline'] = ({ runId }) => ({
      run: testRunSummary(`${runId}-baseline`, {
        deviceRunId: 'b1',
        deviceId: 'host',
        deviceName: 'Baseline host',
        state: 'queued',
        lastSeq: 0,
        stream: 'live',
        createdAtEpochMs: 2,
        params: paper.params,
      }),
    });
    renderWithStudio(<CompareScreen runA="run-a" runB={null} />, studio);
    const button = await screen.findByTestId('start-baseline');
    await act(async () => fireEvent.click(button));
    await waitFor(() => expect(window.location.hash).toBe('#/compare/run-a/run-a-baseline'));
    expect(studio.callsOf('runs.startBaseline')).toEqual([{ runId: 'run-a' }]);
  });

  it('names the mismatch when the studio refuses to compare', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-a', paper);
    studio.addRun('run-b', baseline);
    studio.overrides['runs.compare'] = () => {
      throw new (class extends Error {})('frame counts differ: run-a has 16 frames, run-b has 8');
    };
    renderWithStudio(<CompareScreen runA="run-a" runB="run-b" />, studio);
    expect((await screen.findByRole('alert')).textContent).toMatch(/frame counts differ/);
  });

  it('opened on a baseline run, compares the run it was made for against it', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-a', paper, undefined, { baselineRunId: 'run-b' });
    studio.addRun('run-b', baseline, undefined, { baselineOf: 'run-a' });
    studio.overrides['runs.compare'] = () => compareRecorded(paper, baseline);
    renderWithStudio(<CompareScreen runA="run-b" runB={null} />, studio);
    await screen.findByTestId('metric-psnr');
    expect(studio.callsOf('runs.compare')).toEqual([{ runA: 'run-a', runB: 'run-b' }]);
    expect(screen.queryByTestId('start-baseline')).toBeNull();
  });
});
