import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockSet } from '../../../shared/engine/blockset/load';
import { BudgetError, type BudgetSpec } from '../../../shared/engine/cidl/budget';
import { gaussianNoise } from '../../../shared/engine/noise/gaussian';
import {
  runDenoise,
  Stdit3ModelCache,
  type DenoiseResult,
} from '../../../shared/engine/stdit3/denoise-stage';
import type { DenoiseJob } from '../../../shared/engine/pipeline/denoise-job';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { overlappingLoads } from '../../../src-main/bench/trace-stats';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { syntheticBlockSet } from '../../helpers/synthetic-blockset';

let host: NodeEngineHost;
let blockSet: BlockSet;
let cleanup: () => Promise<void>;
const models = new Stdit3ModelCache();

beforeAll(async () => {
  host = await createNodeEngineHost({ placement: 'inline', threads: 1 });
  ({ blockSet, cleanup } = await syntheticBlockSet(host.fs, host.sha256));
});

afterAll(async () => {
  await models.clear();
  await host.close();
  await cleanup();
});

const mask = new Int32Array([1, 1, 1, 1, 1, 0, 0, 0]);
const job = (over: Partial<DenoiseJob> = {}): DenoiseJob => ({
  caption: { y: gaussianNoise(11, [1, 8, 32]), mask },
  latent: { frames: 4, height: 6, width: 6 },
  video: { heightPx: 48, widthPx: 48, numFrames: 17, fps: 24 },
  seed: 1234,
  steps: 5,
  cfgScale: 7,
  lpl: { mode: 'off' },
  tdtm: { mergeSteps: 0 },
  cidl: { budget: { kind: 'unlimited' } },
  ...over,
});

async function run(
  j: DenoiseJob,
  signal?: AbortSignal,
): Promise<{ r: DenoiseResult; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  const r = await runDenoise(
    { blockSet, backend: host.backend, clock: host.clock, emit: (e) => events.push(e), models, signal },
    j,
  );
  return { r, events };
}

/** Replays block events: the most bytes loaded or loading at once. */
function replayPeak(events: readonly EngineEvent[]): number {
  let peak = 0;
  for (const e of events) {
    if (e.type === 'block.load.start' || e.type === 'block.load.end' || e.type === 'block.release')
      peak = Math.max(peak, e.residentBytes);
  }
  return peak;
}

describe('the denoise stage under CI-DL', () => {
  let baseline: DenoiseResult;
  beforeAll(async () => {
    baseline = (await run(job())).r;
  });

  for (const share of [1, 0.5, 0.2]) {
    it(`gives bit-identical latents at a ${share * 100}% budget and never exceeds it`, async () => {
      const budget: BudgetSpec = share === 1 ? { kind: 'fraction', of: 1 } : { kind: 'fraction', of: share };
      const { r, events } = await run(job({ cidl: { budget } }));
      expect(Buffer.from(r.z.data.buffer).equals(Buffer.from(baseline.z.data.buffer))).toBe(true);
      const budgetBytes = r.plan.budgetBytes ?? Infinity;
      expect(r.peakResidentBytes).toBeLessThanOrEqual(budgetBytes);
      expect(replayPeak(events)).toBeLessThanOrEqual(budgetBytes);
      expect(replayPeak(events)).toBe(r.plan.predictedPeakBytes);
      if (share < 1) {
        expect(r.plan.mode).toBe('prefetch');
        expect(r.loads.count).toBeGreaterThan(blockSet.denoiserBlocks().length);
        expect(overlappingLoads(events)).toBeGreaterThan(0);
      }
      const releases = events.filter((e) => e.type === 'block.release');
      expect(releases.at(-1)).toMatchObject({ residentBytes: 0 });
      const endOfRun = releases.filter((e) => e.type === 'block.release' && e.reason === 'end-of-run');
      expect(endOfRun.length).toBe(r.plan.retained.length);
    });
  }

  it('reports one step event per model call, TDTM-merged steps marked, and a leap with LPL', async () => {
    const { r, events } = await run(job({ tdtm: { mergeSteps: 2 }, lpl: { mode: 'fixed', leapStep: 3 } }));
    const ends = events.filter((e) => e.type === 'step.end');
    expect(ends.map((e) => e.step)).toEqual([0, 1, 2, 3]);
    expect(ends.map((e) => e.merged)).toEqual([true, true, false, false]);
    expect(ends.map((e) => e.leapt)).toEqual([false, false, false, true]);
    expect(r.leapStep).toBe(3);
    expect(r.modelCalls).toBe(4);
    const computes = events.filter((e) => e.type === 'block.compute.start' && e.block.includes('pair'));
    expect(computes.some((e) => e.type === 'block.compute.start' && e.variant === 'tdtm')).toBe(true);
    const last = events.filter((e) => e.type === 'block.release').at(-1);
    expect(last).toMatchObject({ residentBytes: 0, reason: 'leap' });
  });

  it('makes the same latent from the same seed, and another from another seed', async () => {
    const again = (await run(job())).r;
    expect(Buffer.from(again.z.data.buffer).equals(Buffer.from(baseline.z.data.buffer))).toBe(true);
    const other = (await run(job({ seed: 99 }))).r;
    expect(Buffer.from(other.z.data.buffer).equals(Buffer.from(baseline.z.data.buffer))).toBe(false);
  });

  it('stops when cancelled and releases every block', async () => {
    const controller = new AbortController();
    const events: EngineEvent[] = [];
    const p = runDenoise(
      {
        blockSet,
        backend: host.backend,
        clock: host.clock,
        models,
        signal: controller.signal,
        emit: (e) => {
          events.push(e);
          if (e.type === 'step.end' && e.step === 1) controller.abort();
        },
      },
      job({ cidl: { budget: { kind: 'fraction', of: 0.5 } } }),
    );
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(events.filter((e) => e.type === 'step.end')).toHaveLength(2);
    const last = events.filter((e) => e.type === 'block.release').at(-1);
    expect(last?.type === 'block.release' && last.residentBytes).toBe(0);
  });

  it('refuses a budget smaller than the largest block before running, naming the block', async () => {
    const largest = Math.max(...blockSet.denoiserBlocks().map((b) => b.bytes));
    const p = run(job({ cidl: { budget: { kind: 'bytes', bytes: largest - 1 } } }));
    await expect(p).rejects.toThrow(/does not fit.*denoiser\/pair/);
    // typed, so a caller (the engine bench) can tell "too small a budget" from a failure
    await expect(p).rejects.toBeInstanceOf(BudgetError);
    await expect(p).rejects.toMatchObject({ stage: 'denoise' });
  });

  it('rejects a job with a bad field, naming it', async () => {
    await expect(run(job({ steps: 0 }))).rejects.toThrow(/steps must be a positive integer/);
    await expect(run(job({ lpl: { mode: 'fixed', leapStep: 9 } }))).rejects.toThrow(/leapStep 9/);
    await expect(run(job({ caption: { y: gaussianNoise(1, [1, 8, 31]), mask } }))).rejects.toThrow(/caption/);
  });
});
