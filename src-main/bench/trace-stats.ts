/** Statistics over engine telemetry traces, for the benchmarks. */
import type { EngineEvent } from '../../shared/engine/telemetry';

/** Load intervals that overlap a compute interval of another block: the trace evidence of concurrency. */
export function overlappingLoads(events: readonly EngineEvent[]): number {
  const loads: { block: string; start: number; end: number }[] = [];
  const computes: { block: string; start: number; end: number }[] = [];
  const open = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'block.load.start' || e.type === 'block.compute.start')
      open.set(`${e.type}:${e.block}`, e.atMs);
    if (e.type === 'block.load.end' || e.type === 'block.compute.end') {
      const kind = e.type === 'block.load.end' ? 'block.load.start' : 'block.compute.start';
      const start = open.get(`${kind}:${e.block}`);
      if (start === undefined) continue;
      (e.type === 'block.load.end' ? loads : computes).push({ block: e.block, start, end: e.atMs });
    }
  }
  return loads.filter((l) => computes.some((c) => c.block !== l.block && l.start < c.end && l.end > c.start))
    .length;
}

/**
 * How much block-load time the computes hid. A load is exposed for the time the pass waited on it: from the later of
 * its start and the previous compute's end, to the compute that needed it starting. `overlapping` counts loads that
 * started before the previous compute ended (the trace evidence of concurrency).
 */
export function loadHiddenShare(events: readonly EngineEvent[]): {
  loadMs: number;
  exposedMs: number;
  hiddenShare: number;
  overlapping: number;
  loads: number;
} {
  const loadStart = new Map<string, number>();
  let loadMs = 0;
  let exposedMs = 0;
  let loads = 0;
  let lastComputeEnd = -Infinity;
  const pendingLoad = new Map<string, { start: number; end?: number }>();
  for (const e of events) {
    switch (e.type) {
      case 'block.load.start':
        loadStart.set(e.block, e.atMs);
        pendingLoad.set(e.block, { start: e.atMs });
        break;
      case 'block.load.end': {
        const s = loadStart.get(e.block);
        if (s !== undefined) {
          loadMs += e.atMs - s;
          loads += 1;
        }
        const p = pendingLoad.get(e.block);
        if (p) p.end = e.atMs;
        break;
      }
      case 'block.compute.start': {
        const p = pendingLoad.get(e.block);
        if (p && p.end !== undefined) {
          const waitFrom = Math.max(p.start, lastComputeEnd);
          if (p.end > waitFrom) exposedMs += Math.max(0, Math.min(e.atMs, p.end) - waitFrom);
          pendingLoad.delete(e.block);
        }
        break;
      }
      case 'block.compute.end':
        lastComputeEnd = e.atMs;
        break;
      default:
        break;
    }
  }
  const overlapping = overlappingLoads(events);
  return { loadMs, exposedMs, hiddenShare: loadMs > 0 ? 1 - exposedMs / loadMs : 1, overlapping, loads };
}
