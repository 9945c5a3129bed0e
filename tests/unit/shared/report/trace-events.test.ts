import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../../shared/protocol/run';
import { buildChromeTrace, TRACE_THREADS, type ChromeTrace } from '../../../../shared/report/trace-events';
import { checkChromeTrace, expectedTraceCounts } from '../../../helpers/trace-check';
import { recordedRun } from '../../src-renderer/helpers/recorded-runs';

const info = { name: 'run r1 · test device', metadata: { runId: 'r1' } };

/** The trace as a viewer reads it: through JSON text. */
function roundTrip(trace: ChromeTrace) {
  return checkChromeTrace(JSON.parse(JSON.stringify(trace)));
}

describe('Chrome trace of a recorded paper-defaults run (LPL 15/30, TDTM 15, CI-DL 50 %)', () => {
  const run = recordedRun('paper-defaults');
  const events = run.events.map((e) => e.event);
  const trace = buildChromeTrace(events, info);
  const read = roundTrip(trace);
  const want = expectedTraceCounts(events);

  it('has one complete event per stage, step, block compute and block load', () => {
    expect(read.complete).toEqual({
      stage: want.stages,
      step: want.steps,
      compute: want.computes,
      load: want.loads,
    });
    expect(want.steps).toBe(16); // 15 steps, then the leap at step 15
    expect(want.stages).toBe(4);
  });

  it('has an instant per release, plan and the LPL leap and TDTM boundaries', () => {
    expect(read.instants['release']).toBe(want.releases);
    expect(read.instants['plan']).toBe(events.filter((e) => e.type === 'plan').length);
    const names = (cat: string) =>
      read.events.filter((e) => e.cat === cat).map((e) => [e.name, e.args?.['step']]);
    expect(names('lpl')).toEqual([['LPL leap', 15]]);
    expect(names('tdtm')).toEqual([
      ['TDTM merge', 0],
      ['TDTM unmerge', 15],
    ]);
  });

  it('counts resident bytes at every block event that carries them, and the budget', () => {
    expect(read.counters['resident']).toBe(want.resident);
    const resident = read.events.filter((e) => e.name === 'resident').map((e) => e.args?.['bytes']);
    const carried = events.flatMap((e) =>
      e.type === 'block.load.start' || e.type === 'block.load.end' || e.type === 'block.release'
        ? [e.residentBytes]
        : [],
    );
    expect(resident).toEqual(carried);
    // Three stages, three budgets (text, denoise, decode each have their own).
    const budgets = read.events.filter((e) => e.name === 'budget').map((e) => e.args?.['bytes']);
    expect(budgets.length).toBeGreaterThanOrEqual(2);
    expect(budgets.every((b) => typeof b === 'number' && b > 0)).toBe(true);
  });

  it('names the process and its three threads, with nothing on an overflow thread', () => {
    expect(read.processName).toBe('run r1 · test device');
    expect([...read.threads.entries()]).toEqual(Object.values(TRACE_THREADS).map((t) => [t.tid, t.name]));
    const tids = new Set(read.events.filter((e) => e.ph === 'X').map((e) => e.tid));
    expect([...tids].sort()).toEqual([1, 2, 3]);
  });

  it('puts block computes inside their step, loads on the loader and stages on stages, in µs', () => {
    const steps = read.events.filter((e) => e.cat === 'step');
    const denoiseComputes = read.events.filter((e) => e.cat === 'compute' && e.name.startsWith('denoiser/'));
    for (const c of denoiseComputes) {
      const step = steps.find((s) => s.args?.['step'] === c.args?.['step'])!;
      expect(c.tid).toBe(step.tid);
      expect(c.ts).toBeGreaterThanOrEqual(step.ts);
      expect(c.ts + c.dur!).toBeLessThanOrEqual(step.ts + step.dur!);
    }
    expect(read.events.filter((e) => e.cat === 'load').every((e) => e.tid === TRACE_THREADS.loader.tid)).toBe(
      true,
    );
    expect(read.events.filter((e) => e.cat === 'stage').map((e) => e.name)).toEqual([
      'text',
      'load',
      'denoise',
      'decode',
    ]);
    // µs: the first step's dur is its latency (ms) × 1000, to the microsecond.
    const end = events.find((e) => e.type === 'step.end' && e.step === 0);
    expect(end?.type === 'step.end' && Math.abs(steps[0]!.dur! - end.latencyMs * 1000)).toBeLessThan(1000);
    expect(read.events.filter((e) => e.ph !== 'M').every((e) => Number.isInteger(e.ts))).toBe(true);
    expect(trace.displayTimeUnit).toBe('ms');
  });

  it('carries the engine event fields in args, and the run outcome in metadata', () => {
    const compute = read.events.find((e) => e.cat === 'compute' && e.args?.['variant'] === 'tdtm');
    expect(compute?.args).toMatchObject({
      block: expect.stringMatching(/^denoiser\//),
      step: 0,
      variant: 'tdtm',
    });
    const load = read.events.find((e) => e.cat === 'load');
    expect(load?.args).toMatchObject({
      block: load?.name,
      bytes: expect.any(Number),
      budgetBytes: expect.any(Number),
    });
    expect(read.metadata).toMatchObject({
      format: 'odsora-trace',
      version: 1,
      runId: 'r1',
      outcomeType: 'run.finished',
    });
  });
});

/** A few events of a hand-made run, `atMs` in ms. */
function ev(...list: RunEvent[]): RunEvent[] {
  return list;
}

const residency = { bytes: 10, residentBytes: 10, budgetBytes: null };

describe('Chrome trace edge cases', () => {
  it('moves loads that overlap without nesting to an overflow thread, and closes what a cancel left open', () => {
    const events = ev(
      { type: 'stage.start', atMs: 100, stage: 'denoise' },
      { type: 'step.start', atMs: 100, step: 0, t: 1000, merged: false },
      { type: 'block.load.start', atMs: 101, block: 'a', ...residency },
      { type: 'block.load.start', atMs: 102, block: 'b', ...residency },
      { type: 'block.load.end', atMs: 103, block: 'a', ...residency },
      { type: 'block.load.end', atMs: 104, block: 'b', ...residency },
      { type: 'block.compute.start', atMs: 104.5, block: 'a', step: 0, variant: 'plain' },
      { type: 'run.cancelled', atMs: 9_999_999, byClientId: null },
    );
    const read = roundTrip(buildChromeTrace(events, info));
    expect(read.complete).toEqual({ load: 2, stage: 1, step: 1, compute: 1 });
    expect(read.threads.get(100)).toBe('loader (overlap 2)');
    const open = read.events
      .filter((e) => e.args?.['unfinished'] === true)
      .map((e) => [e.cat, e.ts + e.dur!]);
    // Closed at the last engine time (104.5 ms after a 100 ms origin), not at the device-clock cancel.
    expect(open).toEqual([
      ['stage', 4500],
      ['step', 4500],
      ['compute', 4500],
    ]);
    expect(read.metadata['outcomeType']).toBe('run.cancelled');
  });

  it('draws a budget of 0 where an unlimited stage follows a budgeted one, and no budget for a baseline', () => {
    const budgeted = ev(
      { type: 'block.load.start', atMs: 1, block: 'a', bytes: 5, residentBytes: 5, budgetBytes: 8 },
      {
        type: 'block.release',
        atMs: 2,
        block: 'a',
        bytes: 5,
        residentBytes: 0,
        budgetBytes: 8,
        reason: 'not-retained',
      },
      { type: 'block.load.start', atMs: 3, block: 'b', bytes: 5, residentBytes: 5, budgetBytes: null },
    );
    const read = roundTrip(buildChromeTrace(budgeted, info));
    expect(read.events.filter((e) => e.name === 'budget').map((e) => e.args?.['bytes'])).toEqual([8, 0]);
    const baseline = recordedRun('baseline').events.map((e) => e.event);
    expect(roundTrip(buildChromeTrace(baseline, info)).counters['budget']).toBeUndefined();
  });

  it('gives an empty run a valid trace with its names', () => {
    const read = roundTrip(buildChromeTrace([], info));
    expect(read.processName).toBe(info.name);
    expect(read.events.filter((e) => e.ph !== 'M')).toEqual([]);
  });

  it('keeps fields a newer engine adds to an event (a placement) in args', () => {
    const compute = {
      type: 'block.compute.end',
      atMs: 2,
      block: 'a',
      step: 0,
      variant: 'plain',
      placement: 'cpu',
    };
    const events = ev(
      { type: 'block.compute.start', atMs: 1, block: 'a', step: 0, variant: 'plain' },
      compute as RunEvent,
    );
    const read = roundTrip(buildChromeTrace(events, info));
    expect(read.events.find((e) => e.cat === 'compute')?.args).toMatchObject({ placement: 'cpu' });
  });
});
