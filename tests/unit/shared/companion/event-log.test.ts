import { describe, expect, it } from 'vitest';
import {
  EventLog,
  EventLogError,
  type EventLogStore,
  type LogEntry,
} from '../../../../shared/companion/event-log';
import { isTerminalRunEvent, runEventSchema, type RunEvent } from '../../../../shared/protocol/run';

const step = (i: number): RunEvent => ({ type: 'step.start', atMs: i, step: i, t: 1000 - i, merged: false });
const finished: RunEvent = {
  type: 'run.finished',
  atMs: 99,
  frames: 1,
  width: 8,
  height: 8,
  fps: 24,
  stepsRun: 3,
  timings: { loadMs: 0, textMs: 0, denoiseMs: 0, decodeMs: 0, totalMs: 0 },
};
const parseEvent = (json: unknown): RunEvent | null => {
  const r = runEventSchema.safeParse(json);
  return r.success ? r.data : null;
};

/** An in-memory store whose writes resolve when the test says so. */
class ManualStore implements EventLogStore {
  readonly lines = new Map<string, string[]>();
  private pending: {
    runId: string;
    lines: readonly string[];
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  appendLines(runId: string, lines: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ runId, lines, resolve, reject }));
  }
  async readAll(runId: string): Promise<string[]> {
    return [...(this.lines.get(runId) ?? [])];
  }
  /** Completes every pending write (durably). */
  async settle(): Promise<void> {
    while (this.pending.length > 0) {
      for (const w of this.pending.splice(0)) {
        this.lines.set(w.runId, [...(this.lines.get(w.runId) ?? []), ...w.lines]);
        w.resolve();
      }
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  failNext(): void {
    for (const w of this.pending.splice(0)) w.reject(new Error('disk full'));
  }
  get pendingWrites(): number {
    return this.pending.length;
  }
}

const seqs = (entries: LogEntry<RunEvent>[]) => entries.map((e) => e.seq);

describe('event log', () => {
  it('gives gapless sequence numbers from 1', () => {
    const log = new EventLog<RunEvent>('r-1');
    expect(log.headSeq).toBe(0);
    expect([1, 2, 3, 4, 5].map((i) => log.append(step(i)))).toEqual([1, 2, 3, 4, 5]);
    expect(seqs(log.read(1))).toEqual([1, 2, 3, 4, 5]);
    expect(log.read(1).map((e) => e.event)).toEqual([1, 2, 3, 4, 5].map(step));
  });

  it('reads from any seq with a limit', () => {
    const log = new EventLog<RunEvent>('r-1');
    for (let i = 0; i < 10; i++) log.append(step(i));
    for (let from = 1; from <= 11; from++) expect(seqs(log.read(from))).toEqual(range(from, 10));
    expect(seqs(log.read(4, 3))).toEqual([4, 5, 6]);
    expect(log.read(11)).toEqual([]);
    expect(() => log.read(0)).toThrow(EventLogError);
    expect(() => log.read(12)).toThrow(/past the log's last event/);
  });

  it('replays then goes live for a subscriber from any seq', () => {
    for (let from = 1; from <= 6; from++) {
      const log = new EventLog<RunEvent>('r-1');
      for (let i = 0; i < 5; i++) log.append(step(i));
      const got: number[] = [];
      log.subscribe(from, (e) => got.push(e.seq));
      for (let i = 5; i < 8; i++) log.append(step(i));
      expect(got).toEqual(range(from, 8));
    }
  });

  it('serves two subscribers the same stream', () => {
    const log = new EventLog<RunEvent>('r-1');
    log.append(step(0));
    const a: number[] = [];
    const b: number[] = [];
    log.subscribe(1, (e) => a.push(e.seq));
    log.append(step(1));
    log.subscribe(1, (e) => b.push(e.seq));
    log.append(step(2));
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([1, 2, 3]);
    expect(log.subscriberCount).toBe(2);
  });

  it('a subscriber that drops and resubscribes from its next seq gets every event exactly once', () => {
    const log = new EventLog<RunEvent>('r-1');
    const received: number[] = [];
    let sub = log.subscribe(1, (e) => received.push(e.seq));
    for (let i = 0; i < 4; i++) log.append(step(i));
    sub.close();
    sub.close();
    for (let i = 4; i < 9; i++) log.append(step(i)); // missed while disconnected
    const last = received[received.length - 1]!;
    sub = log.subscribe(last + 1, (e) => received.push(e.seq));
    for (let i = 9; i < 12; i++) log.append(step(i));
    expect(received).toEqual(range(1, 12));
    expect(sub.lastDeliveredSeq).toBe(12);
  });

  it('refuses a subscription from a seq the device never showed', () => {
    const log = new EventLog<RunEvent>('r-1');
    log.append(step(0));
    expect(() => log.subscribe(3, () => {})).toThrow(expect.objectContaining({ code: 'seq-ahead' }));
    expect(() => log.subscribe(0.5, () => {})).toThrow(expect.objectContaining({ code: 'bad-seq' }));
  });

  it('is sealed by the terminal event', () => {
    const log = new EventLog<RunEvent>('r-1', { isTerminal: isTerminalRunEvent });
    log.append(step(0));
    expect(log.append(finished)).toBe(2);
    expect(log.sealed).toBe(true);
    expect(() => log.append(step(1))).toThrow(expect.objectContaining({ code: 'sealed' }));
  });

  it('a listener that throws is dropped without disturbing the others', () => {
    const errors: unknown[] = [];
    const log = new EventLog<RunEvent>('r-1', { onError: (e) => errors.push(e) });
    const good: number[] = [];
    log.subscribe(1, () => {
      throw new Error('socket gone');
    });
    log.subscribe(1, (e) => good.push(e.seq));
    log.append(step(0));
    log.append(step(1));
    expect(good).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
    expect(log.subscriberCount).toBe(1);
  });

  it('writes an event appended while the previous write settles (it used to wait for the next append)', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store });
    // The append lands after the write loop has ended but before the writer is marked idle.
    log.subscribe(1, (e) => {
      if (e.seq === 1) queueMicrotask(() => log.append(step(2)));
    });
    log.append(step(1));
    await store.settle();
    await new Promise((r) => setTimeout(r, 0));
    await store.settle();
    expect(log.visibleSeq).toBe(2);
    expect(store.lines.get('r-1')).toHaveLength(2);
  });

  it('a listener that appends during delivery still sees every event once, in order', () => {
    const log = new EventLog<RunEvent>('r-1');
    const got: number[] = [];
    log.subscribe(1, (e) => {
      got.push(e.seq);
      if (e.seq === 1) log.append(step(99));
    });
    log.append(step(0));
    log.append(step(1));
    expect(got).toEqual([1, 2, 3]);
  });
});

describe('event log persistence', () => {
  it('shows an event to readers and subscribers only once the store has it', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store });
    const got: number[] = [];
    log.subscribe(1, (e) => got.push(e.seq));
    log.append(step(0));
    log.append(step(1));
    expect(log.headSeq).toBe(2);
    expect(log.visibleSeq).toBe(0);
    expect(got).toEqual([]);
    expect(log.read(1)).toEqual([]);
    await store.settle();
    expect(got).toEqual([1, 2]);
    log.append(step(2));
    await store.settle();
    await log.flush();
    expect(got).toEqual([1, 2, 3]);
    expect(store.lines.get('r-1')!.map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
  });

  it('restores a stored log after a restart, skipping a torn last line', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store, isTerminal: isTerminalRunEvent });
    for (let i = 0; i < 4; i++) log.append(step(i));
    await store.settle();
    store.lines.get('r-1')!.push('{"seq":5,"event":{"type":"st'); // the process died mid-write
    const { log: restored, report } = await EventLog.restore(
      'r-1',
      { store, isTerminal: isTerminalRunEvent },
      parseEvent,
    );
    expect(report).toEqual({ entries: 4, skippedLines: 1, gap: false });
    expect(restored.read(1).map((e) => e.event)).toEqual(log.read(1).map((e) => e.event));
    // The host marks the run interrupted: it gets the next seq, never one a client already saw.
    const next = restored.append({ type: 'run.interrupted', atMs: 0, reason: 'device-restarted' });
    expect(next).toBe(5);
    await store.settle();
    expect(restored.sealed).toBe(true);
  });

  it('retries after a failed write, and restore drops the duplicated lines', async () => {
    const store = new ManualStore();
    const errors: unknown[] = [];
    const log = new EventLog<RunEvent>('r-1', { store, onError: (e) => errors.push(e) });
    log.append(step(0));
    store.failNext();
    await new Promise((r) => setTimeout(r, 0));
    expect(errors).toHaveLength(1);
    const flushing = log.flush();
    await store.settle();
    await flushing;
    expect(log.visibleSeq).toBe(1);
    store.lines.get('r-1')!.unshift(store.lines.get('r-1')![0]!); // a partial first attempt that did land
    const { report, log: restored } = await EventLog.restore('r-1', { store }, parseEvent);
    expect(report).toMatchObject({ entries: 1, skippedLines: 1 });
    expect(restored.headSeq).toBe(1);
  });

  it('flush rejects with a typed error while the store keeps failing', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store });
    log.append(step(0));
    const flushing = log.flush();
    store.failNext();
    await expect(flushing).rejects.toMatchObject({ code: 'persist-failed' });
  });

  it('stops a restore at a gap in the stored seqs', async () => {
    const store = new ManualStore();
    store.lines.set(
      'r-2',
      [1, 2, 4].map((seq) => JSON.stringify({ seq, event: step(seq) })),
    );
    const { log, report } = await EventLog.restore('r-2', { store }, parseEvent);
    expect(report).toEqual({ entries: 2, skippedLines: 0, gap: true });
    expect(log.headSeq).toBe(2);
  });
});

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
