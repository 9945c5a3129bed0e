import { describe, expect, it } from 'vitest';
import {
  endRunView,
  noteRunThermal,
  placementLine,
  reduceRunView,
  startRunView,
  thermalLine,
  withPreview,
  type RunView,
} from '../../../../../ios-companion/src/host/run-view';
import type { BlockPlacement } from '../../../../../shared/engine/execution-provider';
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

  it("counts the blocks per placement in the studio's words, a block with two placements as mixed", () => {
    const computeEnd = (block: string, placement?: BlockPlacement): EngineEvent => ({
      type: 'block.compute.end',
      atMs: 1,
      block,
      step: 0,
      variant: 'plain',
      ...(placement === undefined ? {} : { placement }),
    });
    let v = startRunView('r-3', 2);
    expect(placementLine(v)).toBe('blocks ran on: none yet');
    const events: EngineEvent[] = [
      computeEnd('text/embed'), // no session, says nothing
      ...Array.from({ length: 8 }, (_, i) => computeEnd(`denoiser/pair.${i}`, 'coreml')),
      ...Array.from({ length: 5 }, (_, i) => computeEnd(`vae/block.${i}`, 'cpu')),
      computeEnd('denoiser/part1', 'coreml'),
      computeEnd('denoiser/part1', 'cpu'), // the TDTM graph refused by Core ML
      computeEnd('denoiser/pair.0', 'coreml'), // the same placement again: still Core ML
    ];
    for (const e of events) v = reduceRunView(v, e);
    expect(placementLine(v)).toBe('blocks ran on CPU 5 blocks · Core ML 8 blocks · mixed 1 block');
  });

  it('shows the thermal state the run queue recorded at the start, then now, then at the end', () => {
    // The queue reads before the run (its run.started), the host has no view yet: held for the next start.
    const first = noteRunThermal(null, 'nominal');
    expect(first).toEqual({ nextStart: 'nominal' });
    let v: RunView = startRunView('r-4', 3, 'nominal');
    expect(thermalLine(v, 'fair')).toBe('thermal: nominal → fair now');
    v = endRunView(v, 'finished', null);
    expect(thermalLine(v, 'fair')).toBe('thermal: nominal'); // the end's reading not made yet
    // The reading after the engine returned is this run's end.
    const end = noteRunThermal(v, 'serious');
    expect('end' in end).toBe(true);
    v = (end as { end: RunView }).end;
    expect(v.thermal).toEqual({ start: 'nominal', end: 'serious' });
    expect(thermalLine(v, 'critical')).toBe('thermal: nominal → serious');
    // The next reading belongs to the next run (also for a run cancelled before its engine started).
    expect(noteRunThermal(v, 'fair')).toEqual({ nextStart: 'fair' });
    // A device that cannot tell reads as unknown, as in the studio.
    const unknown = (
      noteRunThermal(endRunView(startRunView('r-5', 1, null), 'failed', 'x'), null) as {
        end: RunView;
      }
    ).end;
    expect(thermalLine(unknown, null)).toBe('thermal: unknown → unknown');
    expect(thermalLine(startRunView('r-6', 1), 'fair')).toBe('thermal: fair now');
  });
});
