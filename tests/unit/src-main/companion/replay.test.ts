import { describe, expect, it } from 'vitest';
import type { EngineJob } from '../../../../shared/companion/server-ports';
import type { EngineEvent } from '../../../../shared/engine/telemetry';
import { parseReplayLog, ReplayEngineRunner } from '../../../../src-main/companion/replay';

const stepEnd = (step: number): EngineEvent => ({
  type: 'step.end',
  atMs: 1,
  step,
  t: 1 - step / 10,
  latencyMs: 5,
  cosine: null,
  merged: false,
  leapt: false,
});
const stageStart: EngineEvent = { type: 'stage.start', atMs: 0, stage: 'denoise' };

/** A fake clock whose sleeps advance it, optionally oversleeping like a late timer. */
function fakeTime(lateByMs = 0) {
  let now = 1000;
  return {
    clock: { nowMs: () => now },
    sleep: async (ms: number) => {
      now += ms + lateByMs;
    },
  };
}

function job(signal: EngineJob['signal'] = new AbortController().signal) {
  const emitted: EngineEvent[] = [];
  const j: EngineJob = {
    runId: 'r1',
    params: { prompt: 'p', seed: 1 },
    preview: null,
    signal,
    emit: (e) => emitted.push(e),
    emitPreview: () => undefined,
  };
  return { j, emitted };
}

describe('replay log parsing', () => {
  it('reads run-folder lines and bare events, leaving run-level events to the companion', () => {
    const text = [
      JSON.stringify({ seq: 1, event: { type: 'run.queued', atMs: 0, position: 0 } }),
      JSON.stringify({ seq: 2, event: stageStart }),
      JSON.stringify(stepEnd(0)),
      JSON.stringify({
        seq: 4,
        event: { type: 'preview.ready', atMs: 3, step: 0, frames: 1, width: 8, height: 8, format: 'png' },
      }),
      '',
    ].join('\n');
    const log = parseReplayLog(text);
    expect(log.events.map((e) => e.type)).toEqual(['stage.start', 'step.end']);
    expect(log.skipped).toBe(2);
  });

  it('names the line of a malformed or unknown event', () => {
    expect(() => parseReplayLog(`${JSON.stringify(stageStart)}\n{oops`)).toThrow(/line 2: not JSON/);
    expect(() => parseReplayLog(JSON.stringify({ type: 'step.end', atMs: 1 }))).toThrow(
      /line 1: not an engine event/,
    );
    expect(() => parseReplayLog(JSON.stringify({ seq: 1, event: { type: 'run.started', atMs: 0 } }))).toThrow(
      /no engine events/,
    );
  });
});

describe('ReplayEngineRunner', () => {
  it('emits each event on its schedule with atMs restamped at emission', async () => {
    const t = fakeTime();
    const runner = new ReplayEngineRunner({
      events: [stageStart, stepEnd(0), stepEnd(1)],
      ratePerSecond: 200,
      ...t,
    });
    const { j, emitted } = job();
    const result = await runner.run(j);
    expect(emitted.map((e) => e.atMs)).toEqual([1000, 1005, 1010]);
    expect(emitted.map((e) => e.type)).toEqual(['stage.start', 'step.end', 'step.end']);
    expect(result.stepsRun).toBe(2);
    expect(result.frames.length).toBeGreaterThan(0);
    expect(result.frames[0]!.length).toBe(result.width * result.height * 3);
  });

  it('repeats a short log up to the requested count and catches up after late timers', async () => {
    const t = fakeTime(12); // every sleep overshoots by 12 ms: more than two intervals at 200/s
    const runner = new ReplayEngineRunner({
      events: [stepEnd(0), stepEnd(1)],
      ratePerSecond: 200,
      count: 9,
      ...t,
    });
    const { j, emitted } = job();
    await runner.run(j);
    expect(emitted).toHaveLength(9);
    expect(emitted.map((e) => (e as { step: number }).step)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0]);
    // Late timers batch the overdue events instead of stretching the run: the last is due at 1040 ms.
    expect(emitted[8]!.atMs - 1000).toBeLessThan(40 + 17);
  });

  it('stops with an AbortError when the run is cancelled', async () => {
    const t = fakeTime();
    const controller = new AbortController();
    const { j, emitted } = job(controller.signal);
    const runner = new ReplayEngineRunner({
      events: [stepEnd(0)],
      ratePerSecond: 100,
      count: 50,
      clock: t.clock,
      sleep: async (ms) => {
        if (emitted.length >= 3) controller.abort('user');
        await t.sleep(ms);
      },
    });
    await expect(runner.run(j)).rejects.toMatchObject({ name: 'AbortError' });
    expect(emitted).toHaveLength(3);
  });

  it('refuses a rate or count that cannot be replayed', () => {
    const t = fakeTime();
    expect(() => new ReplayEngineRunner({ events: [stageStart], ratePerSecond: 0, ...t })).toThrow(/rate/);
    expect(
      () => new ReplayEngineRunner({ events: [stageStart], ratePerSecond: 10, count: 1.5, ...t }),
    ).toThrow(/count/);
    expect(() => new ReplayEngineRunner({ events: [], ratePerSecond: 10, ...t })).toThrow(/at least one/);
  });
});
