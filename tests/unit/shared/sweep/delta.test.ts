// A sweep's progress as deltas: the studio's diff finds exactly the runs and fields a runner changed in place, and
// a client that applies the pushed deltas in order to its first `sweeps.get` holds the final journal; a missed
// event, `runs: null`, another sweep or another studio start make it re-read instead.
import { describe, expect, it } from 'vitest';
import {
  studioEventSchema,
  SWEEP_UPDATE_MAX_RUNS,
  type SweepDetail,
  type SweepUpdate,
} from '../../../../shared/protocol/studio-contract';
import type { SweepJournal } from '../../../../shared/sweep/journal';
import { applySweepDelta, SweepJournalDiff } from '../../../../shared/sweep/delta';
import { sweepPointStats } from '../../../../shared/sweep/stats';
import { tinySweepJournal, tinySweepSummary } from '../../../helpers/sweep-journal';

const EPOCH = '0123456789abcdef';

const copy = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** What the service does: a detail at a revision, and the next revision's event from the diff. */
class Pushes {
  revision = 0;
  readonly diff: SweepJournalDiff;
  constructor(private readonly j: SweepJournal) {
    this.diff = new SweepJournalDiff(j);
  }
  detail(): SweepDetail {
    return { sweep: tinySweepSummary(this.j), journal: copy(this.j), epoch: EPOCH, revision: this.revision };
  }
  push(): SweepUpdate {
    const changes = this.diff.take(this.j) ?? { journal: {}, runs: [] };
    this.revision += 1;
    const event = {
      type: 'sweep.updated' as const,
      sweep: tinySweepSummary(this.j),
      epoch: EPOCH,
      revision: this.revision,
      ...changes,
    };
    expect(studioEventSchema.parse(event)).toStrictEqual(event); // what the renderer validates on receipt
    return event;
  }
}

/** Runs every planned run of `j` as the runner does (in place), pushing after each change. */
function runAll(j: SweepJournal, pushes: Pushes): SweepUpdate[] {
  const events: SweepUpdate[] = [];
  j.runs.forEach((r, i) => {
    r.status = 'running';
    r.runFolder = `run-${i}`;
    r.attempts += 1;
    j.updatedAtEpochMs += 1;
    events.push(pushes.push());
    r.status = 'finished';
    r.result = {
      wallMs: 100 + i,
      loadMs: 1,
      textMs: 1,
      denoiseMs: 50,
      decodeMs: 1,
      stepsRun: 4,
      stepMs: 10,
      peakResidentBytes: null,
    };
    j.points = sweepPointStats(j);
    j.updatedAtEpochMs += 1;
    events.push(pushes.push());
  });
  j.state = 'finished';
  events.push(pushes.push());
  return events;
}

describe('SweepJournalDiff', () => {
  it('finds exactly the runs and top-level fields changed in place, and nothing when nothing changed', () => {
    const j = tinySweepJournal({ warmup: 1 });
    const diff = new SweepJournalDiff(j);
    expect(diff.take(j)).toBeNull();
    j.runs[1]!.status = 'running';
    j.runs[1]!.runFolder = 'run-1';
    j.updatedAtEpochMs = 5;
    expect(diff.take(j)).toStrictEqual({ journal: { updatedAtEpochMs: 5 }, runs: [copy(j.runs[1]!)] });
    expect(diff.take(j)).toBeNull();
    j.state = 'stopped';
    expect(diff.take(j)).toStrictEqual({ journal: { state: 'stopped' }, runs: [] });
  });

  it('does not count a run or field read back with its keys in another order as changed', () => {
    const j = tinySweepJournal({ warmup: 1 });
    const diff = new SweepJournalDiff(j);
    const reordered = (x: object): object => Object.fromEntries(Object.entries(x).reverse());
    const back = { ...j, spec: reordered(j.spec), runs: j.runs.map(reordered) } as SweepJournal;
    expect(diff.take(back)).toBeNull();
  });

  it('hands out copies: a run changed after the push does not change the pushed entry', () => {
    const j = tinySweepJournal({ warmup: 1 });
    const diff = new SweepJournalDiff(j);
    j.runs[0]!.status = 'running';
    const pushed = diff.take(j)!.runs![0]!;
    j.runs[0]!.status = 'finished';
    expect(pushed.status).toBe('running');
  });

  it('sends runs: null (re-read) when the run list changed or too many runs changed at once', () => {
    const j = tinySweepJournal({ seeds: SWEEP_UPDATE_MAX_RUNS, warmup: 1 });
    const diff = new SweepJournalDiff({ ...j, runs: [] }); // the studio's placeholder before the first journal
    expect(diff.take(j)).toStrictEqual({ journal: {}, runs: null });
    expect(j.runs.length).toBeGreaterThan(SWEEP_UPDATE_MAX_RUNS);
    for (const r of j.runs.slice(0, SWEEP_UPDATE_MAX_RUNS)) r.attempts = 1;
    expect(diff.take(j)!.runs).toHaveLength(SWEEP_UPDATE_MAX_RUNS); // the most one event carries
    for (const r of j.runs.slice(0, SWEEP_UPDATE_MAX_RUNS + 1)) r.attempts = 2;
    expect(diff.take(j)).toStrictEqual({ journal: {}, runs: null });
  });
});

describe('applySweepDelta', () => {
  it('applied in order to the first sweeps.get, the pushed deltas give the final journal', () => {
    const j = tinySweepJournal({ warmup: 1 });
    const pushes = new Pushes(j);
    const first = pushes.detail();
    const events = runAll(j, pushes);
    expect(events.map((e) => e.revision)).toStrictEqual(events.map((_, i) => i + 1));
    // Each event carries only what changed: one run per run event, none for the final state change.
    expect(events.map((e) => e.runs?.length)).toStrictEqual([...j.runs.flatMap(() => [1, 1]), 0]);
    expect(events.at(-1)!.journal).toStrictEqual({ state: 'finished' });
    let detail: SweepDetail | null = first;
    for (const e of events) detail = applySweepDelta(detail!, e);
    expect(detail).toStrictEqual(pushes.detail());
  });

  it('keeps the unchanged parts of the detail: a summary-only event keeps the journal object', () => {
    const j = tinySweepJournal({ warmup: 1 });
    const pushes = new Pushes(j);
    const first = pushes.detail();
    const next = applySweepDelta(first, pushes.push())!;
    expect(next.revision).toBe(1);
    expect(next.journal).toBe(first.journal);
    j.runs[2]!.status = 'running';
    const after = applySweepDelta(next, pushes.push())!;
    expect(after.journal.runs[0]).toBe(first.journal.runs[0]);
    expect(after.journal.runs[2]!.status).toBe('running');
    expect(after.journal.spec).toBe(first.journal.spec);
  });

  it('returns null on a revision gap, on runs: null, for another epoch or sweep; the detail itself when it is newer', () => {
    const j = tinySweepJournal({ warmup: 1 });
    const pushes = new Pushes(j);
    const first = pushes.detail();
    j.runs[0]!.status = 'running';
    const e1 = pushes.push();
    j.runs[0]!.status = 'finished';
    const e2 = pushes.push();
    expect(applySweepDelta(first, e2)).toBeNull(); // e1 was missed
    expect(applySweepDelta(first, { ...e1, runs: null, journal: {} })).toBeNull();
    expect(applySweepDelta(first, { ...e1, epoch: 'fedcba9876543210' })).toBeNull();
    expect(applySweepDelta(first, { ...e1, sweep: { ...e1.sweep, sweepId: 's2' } })).toBeNull();
    const at1 = applySweepDelta(first, e1)!;
    expect(applySweepDelta(at1, e1)).toBe(at1); // already applied (a get that answered after the event)
    expect(applySweepDelta(at1, e2)!.journal.runs[0]!.status).toBe('finished');
  });
});
