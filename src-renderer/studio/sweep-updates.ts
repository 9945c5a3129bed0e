// Pushed `sweep.updated` events into React Query's cache without re-reading the journal: the list's entry takes
// the event's summary, and a loaded sweep detail (`['sweeps', id]`, `sweeps.get`) is patched with the event's delta
// (shared/sweep/delta.ts). A detail the delta does not apply to (a missed event, `runs: null`, another
// studio start) is re-read. Events that arrive while a detail is being read wait for its answer and are applied
// to it, so a read that started before a change cannot leave the screen behind.
import type { QueryClient } from '@tanstack/react-query';
import type { SweepDetail, SweepSummary, SweepUpdate } from '../../shared/protocol/studio-contract';
import { applySweepDelta } from '../../shared/sweep/delta';
import { studioKeys } from './queries';

const LIST_KEY = studioKeys.sweeps;
const detailKey = studioKeys.sweep;
/** Events held for one detail read; beyond this the read's answer is simply read again. */
const MAX_HELD = 1_000;

/** Follows `sweep.updated` for `client`'s cache: `update` takes each event, `dispose` stops listening. */
export function followSweeps(client: QueryClient): {
  update: (event: SweepUpdate) => void;
  dispose: () => void;
} {
  /** Events that came while the detail was being read, per sweep ('reread': too many: read it again). */
  const held = new Map<string, SweepUpdate[] | 'reread'>();

  const patch = (sweepId: string, events: readonly SweepUpdate[]): void => {
    let detail = client.getQueryData<SweepDetail>(detailKey(sweepId));
    if (detail === undefined) return;
    for (const event of events) {
      const next = applySweepDelta(detail, event);
      if (next === null) {
        void client.invalidateQueries({ queryKey: detailKey(sweepId), exact: true });
        return;
      }
      detail = next;
    }
    client.setQueryData(detailKey(sweepId), detail);
  };

  const unsubscribe = client.getQueryCache().subscribe((e) => {
    if (e.type !== 'updated' || (e.action.type !== 'success' && e.action.type !== 'error')) return;
    if (e.action.type === 'success' && e.action.manual === true) return;
    const [root, sweepId, ...rest] = e.query.queryKey;
    if (root !== LIST_KEY[0] || typeof sweepId !== 'string' || rest.length > 0) return;
    const events = held.get(sweepId);
    if (events === undefined) return;
    held.delete(sweepId);
    if (e.action.type === 'error') return;
    if (events === 'reread') void client.invalidateQueries({ queryKey: detailKey(sweepId), exact: true });
    else patch(sweepId, events);
  });

  const update = (event: SweepUpdate): void => {
    const { sweepId } = event.sweep;
    const list = client.getQueryState<{ sweeps: SweepSummary[] }>(LIST_KEY);
    if (list?.data?.sweeps.some((s) => s.sweepId === sweepId) === true && list.fetchStatus !== 'fetching')
      client.setQueryData<{ sweeps: SweepSummary[] }>(LIST_KEY, {
        sweeps: list.data.sweeps.map((s) => (s.sweepId === sweepId ? event.sweep : s)),
      });
    else if (list !== undefined) void client.invalidateQueries({ queryKey: LIST_KEY, exact: true });

    const detail = client.getQueryState<SweepDetail>(detailKey(sweepId));
    if (detail === undefined) return; // never read: whoever reads it gets it whole
    if (detail.fetchStatus === 'fetching') {
      const events = held.get(sweepId) ?? [];
      if (events !== 'reread') events.push(event);
      held.set(sweepId, events !== 'reread' && events.length > MAX_HELD ? 'reread' : events);
      return;
    }
    patch(sweepId, [event]);
  };

  return { update, dispose: unsubscribe };
}
