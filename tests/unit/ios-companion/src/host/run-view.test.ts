import { describe, expect, it } from 'vitest';
import {
  endRunView,
  reduceRunView,
  startRunView,
  withPreview,
} from '../../../../../ios-companion/src/host/run-view';
import type { EngineEvent } from '../../../../../shared/engine/telemetry';

describe('the run screen state', () => {
  it('follows stage, steps, residency against the budget, and ends with the outcome', () => {
    const events: EngineEvent[] = [
      { type: 'stage.start', atMs: 0, stage: 'denoise' },
      {
        type: 'plan',
        atMs: 1,
        stage: 'denoise',
        budgetBytes: 500,
        totalBlockBytes: 900,
        predictedPeakBytes: 450,
        retained: [],
        prefetch: true,
        fits: true,
      },
      {
        type: 'block.load.end',
        atMs: 2,
        block: 'denoiser/pair.0',
        bytes: 300,
        residentBytes: 300,
        budgetBytes: 500,
      },
      {
        type: 'block.load.end',
        atMs: 3,
        block: 'denoiser/pair.1',
        bytes: 150,
        residentBytes: 450,
        budgetBytes: 500,
      },
      {
        type: 'block.release',
        atMs: 4,
        block: 'denoiser/pair.0',
        bytes: 300,
        residentBytes: 150,
        budgetBytes: 500,
        reason: 'not-retained',
      },
      {
        type: 'step.end',
        atMs: 5,
        step: 0,
        t: 1000,
        latencyMs: 123.4,
        cosine: null,
        merged: false,
        leapt: false,
      },
    ];
    let v = startRunView('r-1', 30);
    for (const e of events) v = reduceRunView(v, e);
    expect(v).toMatchObject({
      stage: 'denoise',
      stepsDone: 1,
      stepsRequested: 30,
      lastStepMs: 123.4,
      residentBytes: 150,
      peakResidentBytes: 450,
      budgetBytes: 500,
    });
    v = endRunView(v, 'cancelled', 'cancelled by the studio');
    expect(v).toMatchObject({ status: 'cancelled', message: 'cancelled by the studio', stage: null });
  });

  it('keeps the first frame of raw RGB previews and ignores PNG ones', () => {
    const v = startRunView('r-2', null);
    const rgb = new Uint8Array(2 * 2 * 3).fill(7);
    const a = withPreview(v, 3, { width: 2, height: 2, format: 'image-rgb8', frames: [rgb, rgb] });
    expect(a.preview).toEqual({ step: 3, width: 2, height: 2, rgb });
    const b = withPreview(a, 4, { width: 2, height: 2, format: 'png', frames: [Uint8Array.of(137, 80)] });
    expect(b.preview?.step).toBe(3);
  });
});
