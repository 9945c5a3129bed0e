import { describe, expect, it } from 'vitest';
import type { BlockEntry } from '../../../../../shared/engine/blockset/block-entry';
import type { BlockSet, LoadBlockOptions } from '../../../../../shared/engine/blockset/load';
import { BudgetError } from '../../../../../shared/engine/cidl/budget';
import type { StageSessions } from '../../../../../shared/engine/cidl/memory-limit';
import { openStage, stagePorts, type StageContext } from '../../../../../shared/engine/cidl/stage-scheduler';
import type { InferenceBackend } from '../../../../../shared/engine/ports';
import type { EngineEvent } from '../../../../../shared/engine/telemetry';
import { tickingClock } from './helpers';

const entry = (id: string, bytes: number): BlockEntry => ({
  id,
  file: `text/${id}.safetensors`,
  bytes,
  sha256: '0'.repeat(64),
  tensors: ['w'],
  variants: ['plain'],
  flops: { reference: { frames: 1, height: 1, width: 1, captionLength: 1 }, plain: 0 },
});
const ENTRIES = [entry('embed', 40), entry('block.0', 100), entry('final', 10)];
const NO_SESSIONS: StageSessions = { heldBytes: 0, sessionOf: () => null };

/** A block set that records its loads (with the options it got) and hands back empty weights. */
function fakeStage() {
  const loads: { id: string; opts: LoadBlockOptions }[] = [];
  const caps: number[] = [];
  const events: EngineEvent[] = [];
  const blockSet = {
    isVerified: () => false,
    loadBlock: (b: BlockEntry, opts: LoadBlockOptions) => {
      loads.push({ id: b.id, opts });
      return Promise.resolve({ id: b.id, bytes: b.bytes, weights: new Map(), release: () => undefined });
    },
  } as unknown as BlockSet;
  const memory = { setCap: (n: number) => void caps.push(n), trim: () => undefined };
  const ctx = {
    blockSet,
    backend: {} as InferenceBackend,
    clock: tickingClock(),
    emit: (e: EngineEvent) => void events.push(e),
    memory,
  } as unknown as StageContext;
  return { ctx, loads, caps, events, memory };
}

describe('the stage scheduler', () => {
  it('plans a phase under the resolved budget, loads through the block set and caps the pool at the peak', async () => {
    const { ctx, loads, caps, events, memory } = fakeStage();
    const opened = await openStage(ctx, {
      stage: 'text',
      prefix: 'text/',
      entries: ENTRIES,
      sessions: NO_SESSIONS,
      budget: { kind: 'bytes', bytes: 200 },
      verify: 'every-load',
    });
    expect(opened.budgetBytes).toBe(200);
    const { blocks, plan, scheduler } = opened.schedule(ENTRIES, { passes: 1, wrapPrefetch: false });
    expect(blocks.map((b) => b.id)).toEqual(['text/embed', 'text/block.0', 'text/final']);
    expect(plan.fits).toBe(true);
    expect(caps).toEqual([plan.predictedPeakBytes]);
    expect(events.filter((e) => e.type === 'plan')).toHaveLength(1);
    const ran: string[] = [];
    await scheduler.runPass(0, (id) => Promise.resolve(void ran.push(id)), { isLastPass: true });
    expect(ran).toEqual(['text/embed', 'text/block.0', 'text/final']);
    expect(loads.map((l) => l.id)).toEqual(['embed', 'block.0', 'final']);
    expect(loads.every((l) => l.opts.verify === 'every-load' && l.opts.memory === memory)).toBe(true);
  });

  it('refuses a phase whose largest block exceeds the budget with a BudgetError naming the stage', async () => {
    const { ctx, events } = fakeStage();
    const opened = await openStage(ctx, {
      stage: 'decode',
      prefix: 'decode/',
      entries: ENTRIES,
      sessions: NO_SESSIONS,
      budget: { kind: 'bytes', bytes: 50 },
    });
    let error: unknown;
    try {
      opened.schedule(ENTRIES, { passes: 2 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BudgetError);
    expect((error as BudgetError).stage).toBe('decode');
    expect((error as BudgetError).message).toMatch(
      /^CI-DL: the decode stage does not fit its memory budget: /,
    );
    expect(events).toEqual([]);
  });

  it('keeps only the host ports of a context', () => {
    const { ctx } = fakeStage();
    expect(Object.keys(stagePorts(ctx)).sort()).toEqual([
      'backend',
      'blockSet',
      'clock',
      'emit',
      'probe',
      'signal',
    ]);
  });
});
