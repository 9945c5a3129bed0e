// A tiny sweep (a 2-point TDTM grid, one prompt, one device) as its journal and the summary the studio would give
// of it: the fixtures of the delta tests (shared/sweep/delta.ts) and the page's patching of them
// (src-renderer/studio/sweep-updates.ts).
import type { SweepSummary } from '../../shared/protocol/studio-contract';
import { expandSweep, sweepFingerprint } from '../../shared/sweep/expand';
import { newSweepJournal, type SweepJournal } from '../../shared/sweep/journal';
import { parseSweepSpec } from '../../shared/sweep/spec';

/** The journal of a fresh 2-point sweep with `seeds` seeds (1, 2, …) and `warmup` warm-up runs, created at 0. */
export function tinySweepJournal({
  seeds = 1,
  warmup = 0,
}: { seeds?: number; warmup?: number } = {}): SweepJournal {
  const spec = parseSweepSpec({
    format: 'odsora-sweep',
    version: 1,
    base: { steps: 4 },
    axes: { 'tdtm.mergeSteps': [0, 2] },
    prompts: ['a red ball'],
    seeds: Array.from({ length: seeds }, (_, i) => i + 1),
    devices: [{ id: 'phone', builtin: true }],
    warmup,
  });
  return newSweepJournal(spec, sweepFingerprint(spec), expandSweep(spec), 0);
}

/** The studio's summary of sweep `s1` with journal `j` (runs counted from it). */
export function tinySweepSummary(j: SweepJournal): SweepSummary {
  return {
    sweepId: 's1',
    name: null,
    state: j.state,
    activity: j.state === 'running' ? 'running' : 'idle',
    createdAtEpochMs: j.createdAtEpochMs,
    updatedAtEpochMs: j.updatedAtEpochMs,
    total: j.runs.length,
    finished: j.runs.filter((r) => r.status === 'finished').length,
    failed: 0,
    devices: [],
    error: null,
  };
}
