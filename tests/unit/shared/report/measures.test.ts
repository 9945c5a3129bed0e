// Run measurements from an event log: what runs.get, runs.compare and every report format show.
import { describe, expect, it } from 'vitest';
import { measureRun, ratio } from '../../../../shared/report/measures';
import { sampleLog } from './fixtures';

describe('measureRun', () => {
  it('finds the steps, the leap, merged steps, phases, wall time and the resident peak', () => {
    const m = measureRun(sampleLog({ latencyMs: 100, peak: 300 }));
    expect(m.steps.map((s) => s.step)).toEqual([0, 1, 2, 3]);
    expect(m.steps.map((s) => s.latencyMs)).toEqual([100, 50, 100, 100]);
    expect(m.leapStep).toBe(2);
    expect(m.mergedSteps).toEqual([1]);
    expect(m.phases).toEqual([
      { stage: 'load', durationMs: 50 },
      { stage: 'denoise', durationMs: 400 },
      { stage: 'decode', durationMs: 20 },
    ]);
    expect(m.wallMs).toBe(521);
    expect(m.peakResidentBytes).toBe(300);
    expect(m.budgetBytes).toBe(400);
    expect(m.output).toEqual({ frames: 2, width: 2, height: 2, fps: 8, stepsRun: 3 });
    expect(m.terminal).toBe('run.finished');
    // Times are relative to the run's first event.
    expect(m.residency[0]).toEqual({ atMs: 60, residentBytes: 200, budgetBytes: 400 });
  });

  it('totals each block’s loads, computes and releases', () => {
    const m = measureRun(sampleLog());
    const part1 = m.blocks.find((b) => b.block === 'denoiser/part1')!;
    expect(part1).toEqual({
      block: 'denoiser/part1',
      bytes: 200,
      loads: 1,
      loadMs: 10,
      computes: 1,
      computeMs: 20,
      releases: 1,
      // The sample log predates protocol 3: its blocks do not say where they ran.
      placement: null,
    });
    expect(m.blocks.find((b) => b.block === 'denoiser/part2')).toMatchObject({ loads: 0, bytes: 100 });
  });

  it('leaves wall time and peak null for a run that has not finished or streamed no blocks', () => {
    const m = measureRun(
      sampleLog().filter((e) => !e.event.type.startsWith('block.') && e.event.type !== 'run.finished'),
    );
    expect(m.wallMs).toBeNull();
    expect(m.peakResidentBytes).toBeNull();
    expect(m.terminal).toBeNull();
    expect(measureRun([])).toMatchObject({ steps: [], wallMs: null, leapStep: null });
  });

  it('ratio is b / a, and null when either side is missing or a is zero', () => {
    expect(ratio(100, 250)).toBe(2.5);
    expect(ratio(null, 1)).toBeNull();
    expect(ratio(0, 1)).toBeNull();
  });
});
