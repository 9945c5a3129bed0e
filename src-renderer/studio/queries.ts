// React Query factories for every contract read: hierarchical keys per feature, `networkMode: 'always'` (the
// "network" is IPC or a loopback socket, never the browser's online flag), and the helpers that page through
// `runs.frames`.
import { QueryClient, queryOptions } from '@tanstack/react-query';
import type { RunParams } from '../../shared/protocol/run';
import type { StudioApi, StudioResult } from '../../shared/protocol/studio-contract';

/** Query keys, hierarchical so invalidating `['runs']` also drops one run's detail and frames. */
export const studioKeys = {
  appInfo: ['app-info'] as const,
  devices: ['devices'] as const,
  runs: ['runs'] as const,
  run: (runId: string) => ['runs', runId] as const,
  events: (runId: string, afterSeq: number, limit: number) =>
    ['runs', runId, 'events', afterSeq, limit] as const,
  frames: (runId: string, which: 'final' | 'preview', stamp: number) =>
    ['runs', runId, 'frames', which, stamp] as const,
  compare: (runA: string, runB: string) => ['runs', runA, 'compare', runB] as const,
  preflight: (deviceId: string, params: RunParams) => ['preflight', deviceId, params] as const,
  /** `sweeps.list`; the prefix of every sweep key. */
  sweeps: ['sweeps'] as const,
  /** `sweeps.get` (patched in place by `sweep.updated`, studio/sweep-updates.ts). */
  sweep: (sweepId: string) => ['sweeps', sweepId] as const,
  /** `sweeps.estimate` of a spec (three elements, so it never reads as a sweep's detail). */
  sweepEstimate: (spec: unknown) => ['sweeps', 'estimate', spec] as const,
};

/** A QueryClient for the studio (a fresh one per test). */
export function createStudioQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { networkMode: 'always', retry: 1, refetchOnWindowFocus: false, staleTime: 2_000 },
      mutations: { networkMode: 'always', retry: false },
    },
  });
}

/** `app.info`. */
export const appInfoQuery = (api: StudioApi) =>
  queryOptions({ queryKey: studioKeys.appInfo, queryFn: () => api.appInfo(), staleTime: Infinity });

/** `devices.list` (pushed `devices.changed` replaces the data). */
export const devicesQuery = (api: StudioApi) =>
  queryOptions({ queryKey: studioKeys.devices, queryFn: () => api.listDevices() });

/** `runs.list` (pushed `run.updated` invalidates it). */
export const runsQuery = (api: StudioApi) =>
  queryOptions({ queryKey: studioKeys.runs, queryFn: () => api.listRuns() });

/** `runs.get`. */
export const runQuery = (api: StudioApi, runId: string) =>
  queryOptions({ queryKey: studioKeys.run(runId), queryFn: () => api.getRun({ runId }) });

/** Frames as `data:` URLs with their size, in index order. */
export interface FrameImages {
  /** What the frames belong to (the `stamp` they were read for: a preview's seq). */
  stamp: number;
  total: number;
  frames: { index: number; width: number; height: number; url: string }[];
}

const FRAMES_PAGE = 256;

/** Reads every stored frame of one kind, page by page. */
export async function fetchAllFrames(
  api: StudioApi,
  runId: string,
  which: 'final' | 'preview',
  stamp = 0,
): Promise<FrameImages> {
  const out: FrameImages = { stamp, total: 0, frames: [] };
  for (let from = 0; ; from += FRAMES_PAGE) {
    const page: StudioResult<'runs.frames'> = await api.getRunFrames({
      runId,
      which,
      from,
      limit: FRAMES_PAGE,
    });
    out.total = page.total;
    for (const f of page.frames) {
      out.frames.push({
        index: f.index,
        width: f.width,
        height: f.height,
        url: `data:image/png;base64,${f.png}`,
      });
    }
    if (page.frames.length < FRAMES_PAGE || from + FRAMES_PAGE >= page.total) break;
  }
  return out;
}

/** `runs.frames` of one kind; `stamp` changes when new frames exist (a preview seq, the run's last seq). */
export const framesQuery = (api: StudioApi, runId: string, which: 'final' | 'preview', stamp: number) =>
  // eslint-disable-next-line @tanstack/query/exhaustive-deps -- the API client is the host port, not an input of the data
  queryOptions({
    queryKey: studioKeys.frames(runId, which, stamp),
    queryFn: () => fetchAllFrames(api, runId, which, stamp),
    staleTime: Infinity,
    placeholderData: (previous) => previous,
  });

/** `runs.compare`. */
export const compareQuery = (api: StudioApi, runA: string, runB: string) =>
  queryOptions({
    queryKey: studioKeys.compare(runA, runB),
    queryFn: () => api.compareRuns({ runA, runB }),
    staleTime: Infinity,
    retry: false,
  });

/** `devices.preflight` for the composer's current parameters. */
export const preflightQuery = (api: StudioApi, deviceId: string, params: RunParams) =>
  queryOptions({
    queryKey: studioKeys.preflight(deviceId, params),
    queryFn: () => api.preflightRun({ deviceId, params }),
    retry: false,
  });
