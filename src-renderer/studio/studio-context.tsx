// What every screen needs from the page: the typed API, pushed events, whether this page may change anything
// (a mirror may not), and the shared run stores. Pushed events keep React Query's cache current.
import { QueryClientProvider, type QueryClient, useQueryClient } from '@tanstack/react-query';
import {
  createContext,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { StudioApi } from '../../shared/protocol/studio-contract';
import type { StudioEventSource } from '../api';
import { perfRecorder } from '../live/perf-probe';
import { RunStoreRegistry, type RunStore } from '../live/run-store';
import { studioKeys } from './queries';
import { followSweeps } from './sweep-updates';

/** The page's studio: API, events, role and run stores. */
export interface Studio {
  api: StudioApi;
  onEvent: StudioEventSource;
  /** True on the read-only mirror: controls are hidden and mutating calls fail. */
  readOnly: boolean;
  runs: RunStoreRegistry;
}

const StudioContext = createContext<Studio | null>(null);

/** The page's studio (inside {@link StudioProvider}). */
export function useStudio(): Studio {
  const studio = useContext(StudioContext);
  if (studio === null) throw new Error('useStudio outside <StudioProvider>');
  return studio;
}

/** What {@link StudioProvider} is built from. */
export interface StudioProviderProps {
  api: StudioApi;
  onEvent: StudioEventSource;
  onStatus?: (listener: (status: 'connecting' | 'open' | 'closed') => void) => () => void;
  readOnly: boolean;
  queryClient: QueryClient;
  /** Frame scheduler for the run stores (tests pass a synchronous one). */
  scheduleFrame?: (callback: () => void) => void;
  children: ReactNode;
}

function EventBridge({ studio, onStatus }: { studio: Studio; onStatus: StudioProviderProps['onStatus'] }) {
  const client = useQueryClient();
  useEffect(() => {
    const sweeps = followSweeps(client);
    const unsubscribe = studio.onEvent((event) => {
      if (event.type === 'devices.changed') {
        client.setQueryData(studioKeys.devices, { devices: event.devices });
      } else if (event.type === 'run.updated') {
        void client.invalidateQueries({ queryKey: studioKeys.runs, exact: true });
        void client.invalidateQueries({ queryKey: studioKeys.run(event.run.runId), exact: true });
      } else if (event.type === 'sweep.updated') {
        // The list's entry and that sweep's journal, patched with the event's delta (re-read on a gap).
        sweeps.update(event);
      }
    });
    return () => {
      unsubscribe();
      sweeps.dispose();
    };
  }, [studio, client]);
  useEffect(() => {
    if (onStatus === undefined) return;
    return onStatus((status) => {
      if (status !== 'open') return;
      // Pushed events may have been missed while the socket was down: re-read lists, catch runs up.
      void client.invalidateQueries();
      studio.runs.catchUpAll();
    });
  }, [onStatus, studio, client]);
  return null;
}

/** Provides the studio and React Query to the screens. */
export function StudioProvider(props: StudioProviderProps) {
  const { api, onEvent, readOnly, queryClient, scheduleFrame, onStatus, children } = props;
  const studio = useMemo<Studio>(
    () => ({
      api,
      onEvent,
      readOnly,
      runs: new RunStoreRegistry({
        // Catch-up pages go through React Query too (deduplicated, visible to its tooling), never cached: the
        // store folds them once and keeps the result.
        api: {
          getRunEvents: (args) =>
            queryClient.fetchQuery({
              queryKey: studioKeys.events(args.runId, args.afterSeq, args.limit),
              queryFn: () => api.getRunEvents(args),
              staleTime: 0,
              gcTime: 0,
            }),
        },
        onEvent,
        follow: (runIds) => api.followRuns({ runIds }),
        perf: perfRecorder(),
        scheduleFrame,
      }),
    }),
    [api, onEvent, readOnly, scheduleFrame, queryClient],
  );
  return (
    <QueryClientProvider client={queryClient}>
      <StudioContext.Provider value={studio}>
        <EventBridge studio={studio} onStatus={onStatus} />
        {children}
      </StudioContext.Provider>
    </QueryClientProvider>
  );
}

/**
 * How often React re-renders a run's screen while it streams. The canvases follow every animation frame on their
 * own (outside React); the text around them (state, elapsed, summaries) is fine at 10 Hz, and that keeps a busy
 * run's frames free for drawing.
 */
const RUN_TEXT_INTERVAL_MS = 100;

const noSubscription = (): (() => void) => () => undefined;

/** Subscribes React to `store`, at most once per {@link RUN_TEXT_INTERVAL_MS} (the last change is never lost). */
function throttled(store: RunStore): (onChange: () => void) => () => void {
  return (onChange) => {
    let last = -Infinity;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const unsubscribe = store.subscribe(() => {
      const now = performance.now();
      if (now - last >= RUN_TEXT_INTERVAL_MS && timer === null) {
        last = now;
        onChange();
      } else if (timer === null) {
        timer = setTimeout(
          () => {
            timer = null;
            last = performance.now();
            onChange();
          },
          Math.max(0, RUN_TEXT_INTERVAL_MS - (now - last)),
        );
      }
    });
    return () => {
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
    };
  };
}

/** The run's shared store (null without a run); re-renders the caller as the run changes (see above). */
export function useRunStore(runId: string | null): RunStore | null {
  const { runs } = useStudio();
  const [store, setStore] = useState<RunStore | null>(null);
  useEffect(() => {
    if (runId === null) {
      setStore(null);
      return;
    }
    const held = runs.acquire(runId);
    setStore(held.store);
    return held.release;
  }, [runs, runId]);
  useStoreUpdates(store);
  return store !== null && store.runId === runId ? store : null;
}

/** Re-renders the caller as `store` changes, at most every {@link RUN_TEXT_INTERVAL_MS}. */
export function useStoreUpdates(store: RunStore | null): void {
  const subscribe = useMemo(() => (store === null ? noSubscription : throttled(store)), [store]);
  useSyncExternalStore(subscribe, store?.getVersion ?? zero);
}

const zero = (): number => 0;
