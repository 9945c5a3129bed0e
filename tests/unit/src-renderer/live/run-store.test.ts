import { describe, expect, it } from 'vitest';
import type { StudioEvent } from '../../../../shared/protocol/studio-contract';
import { PerfRecorder } from '../../../../src-renderer/live/perf-probe';
import { RunStore, RunStoreRegistry } from '../../../../src-renderer/live/run-store';
import { recordedRun } from '../helpers/recorded-runs';

const paper = recordedRun('paper-defaults');

/** A manual animation-frame queue: `frame()` runs what was scheduled, like one vsync. */
function frames() {
  let queue: (() => void)[] = [];
  return {
    schedule: (cb: () => void) => void queue.push(cb),
    frame: () => {
      const now = queue;
      queue = [];
      for (const cb of now) cb();
    },
    get waiting() {
      return queue.length;
    },
  };
}

function harness(stored: number) {
  const listeners = new Set<(e: StudioEvent) => void>();
  const pages: number[] = [];
  const f = frames();
  const perf = new PerfRecorder();
  const store = new RunStore('run-1', {
    api: {
      getRunEvents: async ({ afterSeq, limit }) => {
        pages.push(afterSeq);
        const events = paper.events
          .filter((e) => e.seq > afterSeq && e.seq <= stored)
          .slice(0, Math.min(limit, 100));
        return { events, lastSeq: stored };
      },
    },
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    scheduleFrame: f.schedule,
    perf,
  });
  const push = (seq: number) => {
    const e = paper.events[seq - 1];
    if (e === undefined) throw new Error(`no event ${seq}`);
    for (const l of listeners) l({ type: 'run.event', runId: 'run-1', seq, event: e.event });
  };
  return { store, push, frames: f, perf, pages, setStored: (n: number) => (stored = n) };
}

describe('RunStore', () => {
  it('catches up page by page with runs.events, then tells its views once per frame however many events came', async () => {
    const h = harness(250);
    let notified = 0;
    h.store.subscribe(() => notified++);
    await h.store.start();
    expect(h.store.view.lastSeq).toBe(250);
    expect(h.pages).toEqual([0, 100, 200]);
    for (let seq = 251; seq <= 400; seq++) h.push(seq);
    expect(notified).toBe(0); // nothing is drawn between frames
    h.frames.frame();
    expect(notified).toBe(1);
    expect(h.store.view.lastSeq).toBe(400);
    h.frames.frame();
    expect(notified).toBe(1); // no change, no redraw
  });

  it('holds events that arrive after a gap (a reconnect) until runs.events fills it', async () => {
    const h = harness(10);
    await h.store.start();
    h.setStored(60);
    h.push(55); // 11..54 were missed while the socket was down
    expect(h.store.view.lastSeq).toBe(10);
    await h.store.catchUp();
    expect(h.store.view.lastSeq).toBe(60);
    expect(h.store.view.eventCount).toBe(60);
  });

  it('records when each pushed event arrived and the frame after the views consumed it', async () => {
    const h = harness(0);
    h.store.subscribe(() => undefined);
    await h.store.start();
    for (let seq = 1; seq <= 5; seq++) h.push(seq);
    h.frames.frame(); // views draw
    expect(h.perf.samples()).toEqual([]);
    h.frames.frame(); // the next frame: painted
    const samples = h.perf.samples();
    expect(samples.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const s of samples) expect(s.paintedAtMs).toBeGreaterThanOrEqual(s.receivedAtMs);
    expect(Math.abs((samples[0]?.receivedAtMs ?? 0) - Date.now())).toBeLessThan(5_000); // epoch ms
    h.perf.reset();
    expect(h.perf.samples()).toEqual([]);
  });
});

describe('RunStoreRegistry', () => {
  /** A registry whose studio stores `stored` events per run and records every events.follow and catch-up call. */
  function registry(stored: number) {
    const follows: string[][] = [];
    const reads: string[] = [];
    let current = stored;
    const reg = new RunStoreRegistry({
      api: {
        getRunEvents: async ({ runId, afterSeq, limit }) => {
          reads.push(runId);
          const events = paper.events.filter((e) => e.seq > afterSeq && e.seq <= current).slice(0, limit);
          return { events, lastSeq: current };
        },
      },
      onEvent: () => () => undefined,
      scheduleFrame: () => undefined,
      follow: async (runIds) => {
        follows.push(runIds);
      },
    });
    return { reg, follows, reads, store: (n: number) => (current = n) };
  }
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('follows no run from the start: a page that shows none is pushed no run’s events', async () => {
    const { follows } = registry(3);
    await settle();
    expect(follows).toEqual([[]]);
  });

  it('tells the studio the runs its views hold, and nothing more, as views come and go', async () => {
    const { reg, follows } = registry(3);
    const a = reg.acquire('run-a');
    const a2 = reg.acquire('run-a'); // a second view of the same run: one store, no new follow
    const b = reg.acquire('run-b');
    await settle();
    expect(follows).toEqual([[], ['run-a'], ['run-a', 'run-b']]);
    a.release();
    await settle();
    expect(follows).toHaveLength(3); // run-a still has a view
    a2.release();
    b.release();
    await settle();
    expect(follows.slice(3)).toEqual([['run-b'], []]);
  });

  it('reads what was stored before the studio followed the run (those events were not pushed)', async () => {
    const { reg, reads, store } = registry(2);
    const { store: s } = reg.acquire('run-a');
    // Events 3-5 are stored while the follow is on its way: pushed to nobody; the catch-up after it reads them.
    store(5);
    await settle();
    await settle();
    expect(reads.filter((r) => r === 'run-a').length).toBeGreaterThanOrEqual(2);
    expect(s.view.lastSeq).toBe(5);
  });

  it('follows again after a reconnect (a new connection follows nothing yet), then catches every store up', async () => {
    const { reg, follows, reads } = registry(1);
    reg.acquire('run-a');
    await settle();
    const before = reads.length;
    reg.catchUpAll();
    await settle();
    expect(follows.at(-1)).toEqual(['run-a']);
    expect(follows).toHaveLength(3); // none, run-a, run-a again
    expect(reads.length).toBeGreaterThan(before);
  });
});
