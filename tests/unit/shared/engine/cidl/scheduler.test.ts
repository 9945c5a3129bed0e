import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planResidency, type RetentionPolicy } from '../../../../../shared/engine/cidl/plan';
import { BlockScheduler } from '../../../../../shared/engine/cidl/scheduler';
import type { BlockSpec } from '../../../../../shared/engine/cidl/residency';
import type { EngineEvent } from '../../../../../shared/engine/telemetry';
import { fakeLoader, replay, sleep, stditLikeBlocks, tickingClock, totalBytes } from './helpers';

function setup(
  blocks: BlockSpec[],
  budgetBytes: number | null,
  options: {
    policy?: RetentionPolicy;
    prefetch?: boolean;
    delayMs?: number;
    failOn?: string;
    throwSyncOn?: string;
  } = {},
) {
  const plan = planResidency({
    blocks,
    budgetBytes,
    policy: options.policy ?? 'paper',
    prefetch: options.prefetch ?? true,
  });
  const loader = fakeLoader(blocks, options);
  const sink: EngineEvent[] = [];
  const scheduler = new BlockScheduler<string>({
    blocks,
    plan,
    load: loader,
    clock: tickingClock(),
    emit: (e) => sink.push(e),
    stage: 'denoise',
  });
  return { plan, loader, sink, scheduler };
}

/** A compute that records which block ran with which weights, after `delayMs` (0: a macrotask). */
function recordingCompute(delayMs = 0) {
  const ran: string[] = [];
  const compute = async (id: string, weights: string): Promise<void> => {
    expect(weights.startsWith(`weights:${id}#`)).toBe(true);
    ran.push(id);
    await sleep(delayMs);
  };
  return { ran, compute };
}

async function runPasses(
  scheduler: BlockScheduler<string>,
  passes: number,
  compute: (id: string, w: string) => Promise<void>,
) {
  for (let step = 0; step < passes; step++) {
    await scheduler.runPass(step, compute, { isLastPass: step === passes - 1 });
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  await sleep(5);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('BlockScheduler', () => {
  it('with a 100% budget loads every block once in the first pass and never again', async () => {
    const blocks = stditLikeBlocks();
    const { plan, loader, scheduler } = setup(blocks, totalBytes(blocks));
    expect(plan.mode).toBe('all-resident');
    const { ran, compute } = recordingCompute();
    await runPasses(scheduler, 5, compute);
    expect(loader.calls).toEqual(blocks.map((b) => b.id));
    expect(ran).toHaveLength(5 * blocks.length);
    expect(scheduler.residentBytes).toBe(totalBytes(blocks));
    expect(scheduler.peakResidentBytes).toBe(plan.predictedPeakBytes);
    expect(scheduler.trace.filter((e) => e.type === 'block.release')).toEqual([]);
    await scheduler.releaseAll('end-of-run');
    expect(scheduler.residentBytes).toBe(0);
    const r = replay(scheduler.trace, totalBytes(blocks));
    expect(r.releases.every((x) => x.reason === 'end-of-run')).toBe(true);
    expect(r.residentAtEnd.size).toBe(0);
  });

  for (const policy of ['paper', 'largest-first', 'none'] as const) {
    for (const share of [0.5, 0.2]) {
      it(`keeps a ${share * 100}% budget at every event over 5 passes and matches the plan (${policy})`, async () => {
        const blocks = stditLikeBlocks();
        const budget = Math.floor(share * totalBytes(blocks));
        const { plan, loader, sink, scheduler } = setup(blocks, budget, { policy });
        expect(plan.fits).toBe(true);
        const { ran, compute } = recordingCompute();
        await runPasses(scheduler, 5, compute);

        const r = replay(sink, budget);
        expect(r.peakBytes).toBeLessThanOrEqual(budget);
        expect(scheduler.peakResidentBytes).toBe(r.peakBytes);
        expect(plan.predictedPeakBytes).toBe(r.peakBytes);
        // What stays resident after the last pass is exactly the retained set.
        expect([...r.residentAtEnd].sort()).toEqual([...plan.retained].sort());
        for (const b of blocks) expect(r.loadsById.get(b.id)).toBe(plan.retained.includes(b.id) ? 1 : 5);
        expect(loader.calls).toHaveLength(sink.filter((e) => e.type === 'block.load.start').length);
        // Same work in the same order as all-resident: CI-DL changes memory and time, never numbers.
        expect(ran).toEqual(Array.from({ length: 5 }, () => blocks.map((b) => b.id)).flat());
        await scheduler.releaseAll('end-of-run');
        expect(replay(sink, budget).residentAtEnd.size).toBe(0);
      });
    }
  }

  it('starts block i+1 loading before block i finishes computing (real timers)', async () => {
    const blocks = stditLikeBlocks(4);
    const { plan, scheduler } = setup(blocks, Math.floor(0.7 * totalBytes(blocks)), { delayMs: 20 });
    expect(plan.prefetch).toBe(true);
    const { compute } = recordingCompute(20);
    await runPasses(scheduler, 2, compute);
    const index = (type: string, block: string, nth = 0) =>
      scheduler.trace
        .map((e, i) => ({ e, i }))
        .filter(({ e }) => e.type === type && 'block' in e && e.block === block)[nth]?.i ?? -1;
    for (let i = 0; i + 1 < blocks.length; i++) {
      const current = (blocks[i] as BlockSpec).id;
      const next = (blocks[i + 1] as BlockSpec).id;
      if (plan.retained.includes(next)) continue;
      expect(index('block.load.start', next)).toBeGreaterThan(-1);
      expect(index('block.load.start', next)).toBeLessThan(index('block.compute.end', current));
    }
    // Wrap-around: the next pass's first non-retained block starts loading during the last block of pass 0.
    const firstLoaded = blocks.find((b) => !plan.retained.includes(b.id)) as BlockSpec;
    const last = (blocks[blocks.length - 1] as BlockSpec).id;
    expect(index('block.load.start', firstLoaded.id, 1)).toBeLessThan(index('block.compute.end', last, 0));
  });

  it('with a budget of exactly the largest block runs sequentially and still computes everything', async () => {
    const blocks: BlockSpec[] = Array.from({ length: 6 }, (_, i) => ({
      id: `denoiser/pair.${i}`,
      bytes: 100,
    }));
    const { plan, scheduler } = setup(blocks, 100);
    expect(plan).toMatchObject({
      fits: true,
      prefetch: false,
      mode: 'sequential',
      retained: [],
      predictedPeakBytes: 100,
    });
    expect(plan.reason).toMatch(/prefetch off/);
    const { ran, compute } = recordingCompute();
    await runPasses(scheduler, 3, compute);
    expect(ran).toHaveLength(18);
    let computing = false;
    for (const e of scheduler.trace) {
      if (e.type === 'block.compute.start') computing = true;
      if (e.type === 'block.compute.end') computing = false;
      if (e.type === 'block.load.start') expect(computing).toBe(false);
    }
    expect(replay(scheduler.trace, 100).peakBytes).toBe(100);
  });

  it('refuses a plan whose largest block exceeds the budget', () => {
    const blocks = stditLikeBlocks();
    const plan = planResidency({ blocks, budgetBytes: 99, policy: 'paper', prefetch: true });
    expect(plan.fits).toBe(false);
    expect(
      () =>
        new BlockScheduler({
          blocks,
          plan,
          load: fakeLoader(blocks),
          clock: tickingClock(),
          emit: () => {},
          stage: 'denoise',
        }),
    ).toThrow(/denoiser\/pair\.\d+ needs 1\d\d B but the budget is 99 B/);
  });

  it('releases everything with reason leap, including a wrap-around prefetch still in flight', async () => {
    const blocks = stditLikeBlocks();
    const budget = Math.floor(0.5 * totalBytes(blocks));
    const { plan, scheduler } = setup(blocks, budget, { delayMs: 10 });
    const { compute } = recordingCompute();
    await scheduler.runPass(0, compute);
    await scheduler.runPass(1, compute); // not the last pass: the first non-retained block is loading now
    expect(scheduler.residentBytes).toBeGreaterThan(plan.retainedBytes);
    const before = scheduler.trace.length;
    await scheduler.releaseAll('leap');
    const released = scheduler.trace.slice(before);
    expect(released.length).toBeGreaterThan(plan.retained.length);
    expect(released.every((e) => e.type === 'block.release' && e.reason === 'leap')).toBe(true);
    expect(scheduler.residentBytes).toBe(0);
    expect(replay(scheduler.trace, budget).residentAtEnd.size).toBe(0);
  });

  it('on abort mid-pass releases everything and rejects with an AbortError', async () => {
    const blocks = stditLikeBlocks();
    const budget = Math.floor(0.5 * totalBytes(blocks));
    const { scheduler } = setup(blocks, budget, { delayMs: 5 });
    const controller = new AbortController();
    let step = 0;
    const compute = async (id: string): Promise<void> => {
      if (step === 1 && id === 'denoiser/pair.4') controller.abort();
    };
    await scheduler.runPass(0, compute);
    step = 1;
    const pass = scheduler.runPass(1, compute, { signal: controller.signal });
    const error = await pass.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('AbortError');
    expect((error as Error).message).toBe('CI-DL: denoise pass 1 cancelled before block denoiser/pair.5');
    expect(scheduler.residentBytes).toBe(0);
    const r = replay(scheduler.trace, budget);
    expect(r.residentAtEnd.size).toBe(0);
    expect(r.releases.filter((x) => x.reason === 'cancelled').length).toBeGreaterThan(0);
  });

  it('on abort while waiting for a slow load stops at once and cancels the load', async () => {
    const blocks = stditLikeBlocks(3);
    const { scheduler } = setup(blocks, null, { delayMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);
    const started = Date.now();
    await expect(scheduler.runPass(0, async () => {}, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(scheduler.residentBytes).toBe(0);
    const release = scheduler.trace.find((e) => e.type === 'block.release');
    expect(release).toMatchObject({ block: 'denoiser/part1', reason: 'cancelled' });
  });

  it('propagates a load error naming the block, after releasing everything', async () => {
    const blocks = stditLikeBlocks();
    const budget = Math.floor(0.5 * totalBytes(blocks));
    const { scheduler } = setup(blocks, budget, { failOn: 'denoiser/pair.3' });
    await expect(scheduler.runPass(0, async () => {})).rejects.toThrow(
      /loading block denoiser\/pair\.3 failed: checksum mismatch/,
    );
    expect(scheduler.residentBytes).toBe(0);
    const r = replay(scheduler.trace, budget);
    expect(r.residentAtEnd.size).toBe(0);
    expect(r.releases.some((x) => x.block === 'denoiser/pair.3' && x.reason === 'error')).toBe(true);
    expect(
      scheduler.trace.some((e) => e.type === 'block.compute.start' && e.block === 'denoiser/pair.3'),
    ).toBe(false);
  });

  it('propagates a synchronous loader throw and a compute error the same way', async () => {
    const blocks = stditLikeBlocks();
    const sync = setup(blocks, null, { throwSyncOn: 'denoiser/pair.1' });
    await expect(sync.scheduler.runPass(0, async () => {})).rejects.toThrow(
      /denoiser\/pair\.1.*disk on fire/,
    );
    expect(sync.scheduler.residentBytes).toBe(0);

    const failing = setup(blocks, Math.floor(0.5 * totalBytes(blocks)));
    const boom = new Error('session run failed');
    await expect(
      failing.scheduler.runPass(0, async (id) => {
        if (id === 'denoiser/pair.2') throw boom;
      }),
    ).rejects.toBe(boom);
    expect(failing.scheduler.residentBytes).toBe(0);
    const failedAt = failing.sink.findIndex(
      (e) => e.type === 'block.compute.start' && e.block === 'denoiser/pair.2',
    );
    const reasons = failing.sink
      .slice(failedAt)
      .flatMap((e) => (e.type === 'block.release' ? [e.reason] : []));
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.every((reason) => reason === 'error')).toBe(true);
    expect(replay(failing.sink, null).residentAtEnd.size).toBe(0);
  });

  it('rejects a load whose size differs from the plan', async () => {
    const blocks = stditLikeBlocks(2);
    const plan = planResidency({ blocks, budgetBytes: null });
    const scheduler = new BlockScheduler<string>({
      blocks,
      plan,
      load: async () => ({ weights: 'w', bytes: 1 }),
      clock: tickingClock(),
      emit: () => {},
      stage: 'text',
    });
    await expect(scheduler.runPass(0, async () => {})).rejects.toThrow(
      /denoiser\/part1 loaded 1 B but was planned as 30 B/,
    );
  });

  it('emits the plan event and compute variants', async () => {
    const blocks = stditLikeBlocks(2);
    const { sink, scheduler } = setup(blocks, null);
    await scheduler.runPass(7, async () => {}, {
      variant: (id) => (id.startsWith('denoiser/pair') ? 'tdtm' : 'plain'),
    });
    expect(sink[0]).toMatchObject({ type: 'plan', stage: 'denoise', fits: true, prefetch: true });
    const computes = sink.filter((e) => e.type === 'block.compute.start');
    expect(computes.map((e) => e.type === 'block.compute.start' && [e.block, e.step, e.variant])).toEqual([
      ['denoiser/part1', 7, 'plain'],
      ['denoiser/pair.0', 7, 'tdtm'],
      ['denoiser/pair.1', 7, 'tdtm'],
      ['denoiser/part2', 7, 'plain'],
    ]);
  });

  it("puts the placement a block's compute reports into its block.compute.end, and nothing when it reports none", async () => {
    const blocks = stditLikeBlocks(2);
    const { sink, scheduler } = setup(blocks, null);
    await scheduler.runPass(0, async (id) => {
      if (id === 'denoiser/part1') return { placement: 'cpu' };
      if (id.startsWith('denoiser/pair')) return { placement: 'coreml' };
      return undefined;
    });
    const ends = sink.filter((e) => e.type === 'block.compute.end');
    expect(ends.map((e) => [e.block, 'placement' in e ? e.placement : 'absent'])).toEqual([
      ['denoiser/part1', 'cpu'],
      ['denoiser/pair.0', 'coreml'],
      ['denoiser/pair.1', 'coreml'],
      ['denoiser/part2', 'absent'],
    ]);
  });
});
