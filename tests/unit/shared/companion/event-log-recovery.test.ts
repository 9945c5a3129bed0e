import { describe, expect, it } from 'vitest';
import { describeRecovery, needsRewrite, recoverLog } from '../../../../shared/companion/event-log-recovery';
import { isTerminalRunEvent, runEventSchema, type RunEvent } from '../../../../shared/protocol/run';

const step = (i: number): RunEvent => ({ type: 'step.start', atMs: i, step: i, t: 1000 - i, merged: false });
const cancelled: RunEvent = { type: 'run.cancelled', atMs: 50, byClientId: null };
const line = (seq: number, event: RunEvent = step(seq)): string => JSON.stringify({ seq, event });
const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');

const recover = (stored: string) =>
  recoverLog<RunEvent>(
    stored,
    (json) => {
      const r = runEventSchema.safeParse(json);
      return r.success ? r.data : null;
    },
    isTerminalRunEvent,
    (_seq, previous) => ({ type: 'event.lost', atMs: previous?.atMs ?? 0 }),
  );

describe('event log recovery', () => {
  it('reads an intact log as it is, with nothing to rewrite', () => {
    const { entries, report } = recover(text([1, 2, 3].map((s) => line(s))));
    expect(entries.map((e) => e.event)).toEqual([step(1), step(2), step(3)]);
    expect(needsRewrite(report)).toBe(false);
    expect(describeRecovery(report)).toBe('');
  });

  it('takes a seq whose digit changed on disk for damage, not for a jump', () => {
    // seq 3 stored as 7: the entries around it are intact, so only seq 3 is lost.
    const lines = [1, 2, 3, 4, 5].map((s) => line(s));
    lines[2] = lines[2]!.replace('"seq":3', '"seq":7');
    const { entries, report } = recover(text(lines));
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[2]!.event).toEqual({ type: 'event.lost', atMs: 2 });
    expect(entries[3]!.event).toEqual(step(4));
    expect(report.lostSeqs).toEqual([3]);
  });

  it('does not believe a huge seq after one damaged line (no allocation from a corrupt number)', () => {
    const { entries, report } = recover(text([line(1), 'garbage', line(9_000_000_000)]));
    expect(entries.length).toBeLessThan(100);
    expect(report.unreadableLines).toBe(2);
    expect(entries[0]!.event).toEqual(step(1));
  });

  it('drops lines after the terminal event and says so', () => {
    const { entries, report } = recover(text([line(1), line(2, cancelled), line(3), '']));
    expect(entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(report.strayLines).toBe(2);
    expect(describeRecovery(report)).toMatch(/dropped 2 lines after the terminal event or empty/);
  });

  it('keeps junk between two consecutive entries out of the log without losing a seq', () => {
    const { entries, report } = recover(text([line(1), '{"seq":2,"ev', line(2), line(3)]));
    expect(entries.map((e) => e.event)).toEqual([step(1), step(2), step(3)]);
    expect(report).toMatchObject({ lostSeqs: [], unreadableLines: 1 });
    expect(describeRecovery(report)).toMatch(/dropped 1 unreadable line that held no entry/);
  });
});
