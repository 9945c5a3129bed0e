import { describe, expect, it } from 'vitest';
import {
  EventLog,
  EventLogError,
  type EventLogStore,
  type LogEntry,
} from '../../../../shared/companion/event-log';
import { needsRewrite } from '../../../../shared/companion/event-log-recovery';
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
  readonly text = new Map<string, string>();
  readonly replaced: string[] = [];
  failReplace = false;
  private pending: {
    runId: string;
    lines: readonly string[];
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  appendLines(runId: string, lines: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ runId, lines, resolve, reject }));
  }
  async readText(runId: string): Promise<string> {
    return this.text.get(runId) ?? '';
  }
  async replaceLines(runId: string, lines: readonly string[]): Promise<void> {
    if (this.failReplace) throw new Error('read-only file system');
    this.replaced.push(runId);
    this.text.set(runId, lines.map((l) => `${l}\n`).join(''));
  }
  /** The complete stored lines of a run. */
  lines(runId: string): string[] {
    return (this.text.get(runId) ?? '').split('\n').slice(0, -1);
  }
  /** Completes every pending write (durably). */
  async settle(): Promise<void> {
    while (this.pending.length > 0) {
      for (const w of this.pending.splice(0)) {
        this.text.set(w.runId, (this.text.get(w.runId) ?? '') + w.lines.map((l) => `${l}\n`).join(''));
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

const lostEntry = (_seq: number, previous: RunEvent | null): RunEvent => ({
  type: 'event.lost',
  atMs: previous?.atMs ?? 0,
});

/** Restores a run's log from `store` as the companion does after a restart. */
const restore = (store: EventLogStore, runId: string) =>
  EventLog.restore<RunEvent>(runId, { store, isTerminal: isTerminalRunEvent }, parseEvent, lostEntry);

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
    expect(store.lines('r-1')).toHaveLength(2);
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
    expect(store.lines('r-1').map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
  });

  it('restores a stored log after a restart, cutting a torn last line so the next entry starts a line', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store, isTerminal: isTerminalRunEvent });
    for (let i = 0; i < 4; i++) log.append(step(i));
    await store.settle();
    store.text.set('r-1', store.text.get('r-1')! + '{"seq":5,"event":{"type":"st'); // the process died mid-write
    const { log: restored, report } = await restore(store, 'r-1');
    expect(report).toMatchObject({ entries: 4, tornTailChars: 28, lostSeqs: [], unreadableLines: 0 });
    expect(restored.read(1).map((e) => e.event)).toEqual(log.read(1).map((e) => e.event));
    expect(store.text.get('r-1')!.endsWith('\n')).toBe(true);
    // The host marks the run interrupted: it gets the next seq, never one a client already saw.
    const interrupted: RunEvent = { type: 'run.interrupted', atMs: 7, reason: 'device-restarted' };
    expect(restored.append(interrupted)).toBe(5);
    await store.settle();
    expect(restored.sealed).toBe(true);
    // The next restart reads the same five entries (the interrupted event was not glued onto the torn line).
    const again = await restore(store, 'r-1');
    expect(again.log.read(1)).toEqual(restored.read(1));
    expect(again.log.read(5)[0]!.event).toEqual(interrupted);
    expect(again.log.sealed).toBe(true);
    expect(store.replaced).toEqual(['r-1']);
  });

  it('keeps every readable entry after an unreadable middle line, and its seq as event.lost', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store, isTerminal: isTerminalRunEvent });
    for (let i = 0; i < 5; i++) log.append(step(i));
    log.append(finished);
    await store.settle();
    const lines = store.lines('r-1');
    lines[2] = lines[2]!.replace('"type"', '"ty\u0000e'); // damage on disk
    store.text.set('r-1', lines.map((l) => `${l}\n`).join(''));
    const { log: restored, report } = await restore(store, 'r-1');
    expect(report).toMatchObject({ entries: 6, lostSeqs: [3], unreadableLines: 1 });
    expect(restored.sealed).toBe(true);
    const entries = restored.read(1);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entries[2]!.event).toEqual({ type: 'event.lost', atMs: 1 });
    expect(entries.filter((e) => e.seq !== 3)).toEqual(log.read(1).filter((e) => e.seq !== 3));
    expect(() => restored.append(step(9))).toThrow(EventLogError);
    // Restarting again changes nothing: the stand-in was written where the damaged line was.
    const again = await restore(store, 'r-1');
    expect(again.log.read(1)).toEqual(entries);
    expect(needsRewrite(again.report)).toBe(false);
  });

  it('gives unreadable last lines their own seqs, so the next event never reuses one', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store, isTerminal: isTerminalRunEvent });
    for (let i = 0; i < 4; i++) log.append(step(i));
    await store.settle();
    const lines = store.lines('r-1');
    // Seq 3 and 4 were shown to clients; then the disk damaged the newline between them and their text.
    lines.splice(2, 2, `${lines[2]!.slice(0, -3)}###${lines[3]!}`.replace('"step"', '"st#p"'));
    store.text.set('r-1', lines.map((l) => `${l}\n`).join(''));
    const { log: restored, report } = await restore(store, 'r-1');
    expect(report).toMatchObject({ entries: 4, lostSeqs: [3, 4], unreadableLines: 1 });
    expect(restored.append({ type: 'run.interrupted', atMs: 0, reason: 'device-restarted' })).toBe(5);
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
    store.text.set('r-1', store.text.get('r-1')!.repeat(2)); // a partial first attempt that did land
    const { report, log: restored } = await restore(store, 'r-1');
    expect(report).toMatchObject({ entries: 1, duplicateLines: 1, lostSeqs: [] });
    expect(restored.headSeq).toBe(1);
  });

  it('does not restore a log it cannot repair (the next append would land after a torn line)', async () => {
    const store = new ManualStore();
    store.text.set('r-1', `${JSON.stringify({ seq: 1, event: step(1) })}\n{"seq":2,"ev`);
    store.failReplace = true;
    await expect(restore(store, 'r-1')).rejects.toThrow(/read-only/);
  });

  it('flush rejects with a typed error while the store keeps failing', async () => {
    const store = new ManualStore();
    const log = new EventLog<RunEvent>('r-1', { store });
    log.append(step(0));
    const flushing = log.flush();
    store.failNext();
    await expect(flushing).rejects.toMatchObject({ code: 'persist-failed' });
  });

  it('keeps entries after lines that were cut out, marking the missing seqs lost', async () => {
    const store = new ManualStore();
    store.text.set(
      'r-2',
      [1, 2, 4, 5].map((seq) => `${JSON.stringify({ seq, event: step(seq) })}\n`).join(''),
    );
    const { log, report } = await restore(store, 'r-2');
    expect(report).toMatchObject({ entries: 5, lostSeqs: [3, 4] });
    expect(log.read(5)[0]!.event).toEqual(step(5));
  });
});

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
