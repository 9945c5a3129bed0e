// History's replay: a stored run's events folded again into a fresh store at their recorded pace (or faster), so
// the timeline and the lanes play back exactly as they arrived. Purely local: nothing is sent to main but reads.
import { useMutation } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { RunEvent } from '../../shared/protocol/run';
import type { StudioApi } from '../../shared/protocol/studio-contract';
import { CATCH_UP_PAGE, RunStore } from './run-store';

/** Reads a run's whole stored log. */
async function readRunLog(
  api: Pick<StudioApi, 'getRunEvents'>,
  runId: string,
): Promise<{ seq: number; event: RunEvent }[]> {
  const out: { seq: number; event: RunEvent }[] = [];
  for (let after = 0; ;) {
    const page = await api.getRunEvents({ runId, afterSeq: after, limit: CATCH_UP_PAGE });
    out.push(...page.events);
    const last = page.events[page.events.length - 1];
    if (last === undefined || last.seq >= page.lastSeq) break;
    after = last.seq;
  }
  return out;
}

function isEngineEvent(event: RunEvent): boolean {
  return !event.type.startsWith('run.') && event.type !== 'preview.ready';
}

/**
 * Plays `log` into a new store: each frame applies every event whose engine time has come (`speed`× real time);
 * run-level events follow in log order. Returns the store and a stop function.
 */
function startReplay(
  runId: string,
  log: readonly { seq: number; event: RunEvent }[],
  speed: number,
  onDone: () => void,
): { store: RunStore; stop: () => void } {
  const store = new RunStore(runId, {
    api: { getRunEvents: async () => ({ events: [], lastSeq: 0 }) },
    onEvent: () => () => undefined,
  });
  const first = log.find((e) => isEngineEvent(e.event))?.event.atMs ?? 0;
  let next = 0;
  let startedAt: number | null = null;
  let handle = 0;
  const tick = (now: number): void => {
    startedAt ??= now;
    const until = first + (now - startedAt) * speed;
    while (next < log.length) {
      const item = log[next];
      if (item === undefined) break;
      if (isEngineEvent(item.event) && item.event.atMs > until) break;
      store.apply(item.seq, item.event);
      next++;
    }
    if (next < log.length) handle = requestAnimationFrame(tick);
    else onDone();
  };
  handle = requestAnimationFrame(tick);
  return { store, stop: () => cancelAnimationFrame(handle) };
}

/** Replay state for the Live run screen: `store` is null while not replaying. */
export function useReplay(
  api: Pick<StudioApi, 'getRunEvents'>,
  runId: string,
): {
  store: RunStore | null;
  playing: boolean;
  error: string | null;
  play: (speed: number) => void;
  stop: () => void;
} {
  const [state, setState] = useState<{ store: RunStore; stop: () => void; playing: boolean } | null>(null);
  useEffect(() => () => state?.stop(), [state]);
  // The stored log is read through React Query like every other call (a mutation: it is read once per replay).
  const load = useMutation({
    mutationFn: ({ speed }: { speed: number }) => readRunLog(api, runId).then((log) => ({ log, speed })),
    onSuccess: ({ log, speed }) => {
      const r = startReplay(runId, log, speed, () =>
        setState((s) => (s !== null && s.store === r.store ? { ...s, playing: false } : s)),
      );
      setState({ ...r, playing: true });
    },
  });
  return {
    store: state?.store ?? null,
    playing: state?.playing ?? false,
    error: load.isError ? load.error.message : null,
    play: (speed) => {
      state?.stop();
      load.mutate({ speed });
    },
    stop: () => {
      state?.stop();
      setState(null);
    },
  };
}
