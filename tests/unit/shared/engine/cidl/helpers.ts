import type { Clock } from '../../../../../shared/engine/ports';
import type { EngineEvent } from '../../../../../shared/engine/telemetry';
import type { BlockSpec } from '../../../../../shared/engine/cidl/residency';
import type { AbortSignalLike } from '../../../../../shared/engine/cidl/abort';
import type { BlockLoader } from '../../../../../shared/engine/cidl/scheduler';

/** A clock that advances one millisecond each time it is read: deterministic, strictly increasing timestamps. */
export function tickingClock(): Clock {
  let now = 0;
  return { nowMs: () => now++ };
}

/** A small STDiT-shaped block list: part1, `pairs` pairs of uneven sizes, part2. */
export function stditLikeBlocks(pairs = 8): BlockSpec[] {
  const blocks: BlockSpec[] = [{ id: 'denoiser/part1', bytes: 30 }];
  for (let i = 0; i < pairs; i++) blocks.push({ id: `denoiser/pair.${i}`, bytes: 100 + (i % 3) * 15 });
  blocks.push({ id: 'denoiser/part2', bytes: 20 });
  return blocks;
}

/** Total bytes of blocks. */
export function totalBytes(blocks: readonly BlockSpec[]): number {
  return blocks.reduce((s, b) => s + b.bytes, 0);
}

/** Resolves after `ms` real milliseconds, or rejects with an AbortError when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      const error = new Error('sleep aborted');
      error.name = 'AbortError';
      reject(error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A fake loader: weights are `weights:<id>#<n>`, resolving after `delayMs` (0: after a macrotask); counts calls. */
export function fakeLoader(
  blocks: readonly BlockSpec[],
  options: { delayMs?: number; failOn?: string; throwSyncOn?: string } = {},
): BlockLoader<string> & { calls: string[] } {
  const bytes = new Map(blocks.map((b) => [b.id, b.bytes]));
  const calls: string[] = [];
  const loader = async (id: string, signal: AbortSignalLike): Promise<{ weights: string; bytes: number }> => {
    calls.push(id);
    await sleep(options.delayMs ?? 0, signal);
    if (id === options.failOn) throw new Error('checksum mismatch');
    return { weights: `weights:${id}#${calls.length}`, bytes: bytes.get(id) ?? -1 };
  };
  // A synchronous throw must reach the scheduler as a synchronous throw, so wrap instead of using async directly.
  const wrapped = ((id: string, signal: AbortSignalLike) => {
    if (id === options.throwSyncOn) throw new Error(`disk on fire reading ${id}`);
    return loader(id, signal);
  }) as BlockLoader<string> & { calls: string[] };
  wrapped.calls = calls;
  return wrapped;
}

/** What replaying a trace found. */
export interface Replay {
  peakBytes: number;
  loadsById: Map<string, number>;
  releases: { block: string; reason: string }[];
  residentAtEnd: Set<string>;
}

/**
 * Replays block events: bytes go up at load.start and down at release; every event's residentBytes must match the
 * replayed sum, the sum must stay within the budget, a block computes only while loaded, loads only while absent.
 */
export function replay(events: readonly EngineEvent[], budgetBytes: number | null): Replay {
  let bytes = 0;
  let peakBytes = 0;
  const present = new Set<string>();
  const loadsById = new Map<string, number>();
  const releases: { block: string; reason: string }[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'block.load.start':
        if (present.has(e.block)) throw new Error(`${e.block} loaded twice without a release`);
        present.add(e.block);
        bytes += e.bytes;
        loadsById.set(e.block, (loadsById.get(e.block) ?? 0) + 1);
        break;
      case 'block.release':
        if (!present.delete(e.block)) throw new Error(`${e.block} released but not present`);
        bytes -= e.bytes;
        releases.push({ block: e.block, reason: e.reason });
        break;
      case 'block.compute.start':
        if (!present.has(e.block)) throw new Error(`${e.block} computed while not loaded`);
        break;
      default:
        break;
    }
    if ('residentBytes' in e && e.residentBytes !== bytes) {
      throw new Error(`${e.type} ${e.block}: residentBytes ${e.residentBytes}, replay says ${bytes}`);
    }
    if (budgetBytes !== null && bytes > budgetBytes)
      throw new Error(`${bytes} bytes exceed the budget ${budgetBytes}`);
    peakBytes = Math.max(peakBytes, bytes);
  }
  return { peakBytes, loadsById, releases, residentAtEnd: present };
}
