/**
 * A sweep's journal as deltas (`sweep.updated`, studio contract 5): the studio remembers each run entry and
 * top-level field as it last pushed them ({@link SweepJournalDiff}) and pushes only what changed since; a client
 * patches the detail `sweeps.get` gave it ({@link applySweepDelta}) instead of re-reading the whole journal.
 */
import {
  SWEEP_UPDATE_MAX_RUNS,
  type SweepDetail,
  type SweepUpdate,
} from '../protocol/studio-contract-sweeps';
import { canonicalJson } from './expand';
import type { SweepJournal, SweepRunEntry } from './journal';

/** What changed in a journal between two revisions (see `sweepUpdateFields`: `runs` null = re-read). */
export type SweepJournalChanges = Pick<SweepUpdate, 'journal' | 'runs'>;

type Fields = SweepJournalChanges['journal'];

/**
 * Whether two serializations differ in value, not only in key order (a journal read back from disk has its keys in
 * the schema's order, the runner's own objects in the order it built them).
 */
const differ = (before: string | undefined, now: string): boolean =>
  before !== now &&
  (before === undefined || canonicalJson(JSON.parse(before)) !== canonicalJson(JSON.parse(now)));

/**
 * What a journal was at the last revision, one serialization per run entry and per top-level field, so a change
 * is found by comparing strings (the runner edits its journal in place: there is no old object to compare with;
 * only strings that differ are compared again key-order-free).
 */
export class SweepJournalDiff {
  private ids: readonly string[] = [];
  private runs = new Map<string, string>();
  private readonly fields = new Map<string, string>();

  /** Starts from `journal` as it is now (the revision a client may hold). */
  constructor(journal: SweepJournal) {
    this.take(journal);
  }

  /**
   * What changed in `journal` since the last call (or the constructor), which it then remembers; null when nothing
   * did. The entries and fields returned are copies: the caller's journal may change after.
   */
  take(journal: SweepJournal): SweepJournalChanges | null {
    const fields: Fields = {};
    let changed = false;
    for (const [key, value] of Object.entries(journal)) {
      if (key === 'runs') continue;
      const text = JSON.stringify(value);
      const before = this.fields.get(key);
      this.fields.set(key, text);
      if (!differ(before, text)) continue;
      (fields as Record<string, unknown>)[key] = JSON.parse(text);
      changed = true;
    }
    const sameList =
      journal.runs.length === this.ids.length && journal.runs.every((r, i) => r.id === this.ids[i]);
    const texts = new Map<string, string>();
    const runs: SweepRunEntry[] = [];
    for (const run of journal.runs) {
      const text = JSON.stringify(run);
      texts.set(run.id, text);
      if (runs.length <= SWEEP_UPDATE_MAX_RUNS && differ(this.runs.get(run.id), text))
        runs.push(JSON.parse(text) as SweepRunEntry);
    }
    this.runs = texts;
    this.ids = journal.runs.map((r) => r.id);
    if (!sameList || runs.length > SWEEP_UPDATE_MAX_RUNS) return { journal: {}, runs: null };
    return changed || runs.length > 0 ? { journal: fields, runs } : null;
  }
}

/**
 * `detail` with the delta of `update` applied: its summary, changed top-level fields and run entries (replaced by
 * id); unchanged parts keep their objects, so what is derived from them can stay memoized. Returns `detail` itself
 * when it is already at `update`'s revision or newer, and null when the delta does not apply and the client must
 * re-read the sweep (`sweeps.get`): another sweep or epoch, a revision gap (a missed event), `runs: null`, or a run
 * the detail does not hold.
 */
export function applySweepDelta(detail: SweepDetail, update: SweepUpdate): SweepDetail | null {
  if (update.sweep.sweepId !== detail.sweep.sweepId || update.epoch !== detail.epoch) return null;
  if (update.revision <= detail.revision) return detail;
  if (update.revision !== detail.revision + 1 || update.runs === null) return null;
  const changed = new Map(update.runs.map((r) => [r.id, r]));
  let found = 0;
  const runs = detail.journal.runs.map((r) => {
    const next = changed.get(r.id);
    if (next === undefined) return r;
    found += 1;
    return next;
  });
  if (found !== changed.size) return null;
  const same = changed.size === 0 && Object.keys(update.journal).length === 0;
  return {
    sweep: update.sweep,
    journal: same
      ? detail.journal
      : { ...detail.journal, ...update.journal, runs: changed.size > 0 ? runs : detail.journal.runs },
    epoch: detail.epoch,
    revision: update.revision,
  };
}
