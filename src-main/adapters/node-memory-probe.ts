/** MemoryProbe for Node hosts: the OS's available memory (cgroup limit where one applies) and this process's RSS. */
import { readFileSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock, MemoryProbe } from '../../shared/engine/ports';

/** `VmHWM` (peak RSS) of this process in bytes, from /proc/self/status; null where there is none (not Linux). */
export function peakRssBytes(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

let forcedGc: (() => void) | null | undefined;

/**
 * A full, synchronous garbage collection (V8's `gc`, exposed at run time): frees unreachable ArrayBuffers now
 * instead of whenever V8 gets to them. Null when the runtime refuses.
 */
export function forceGc(): (() => void) | null {
  if (forcedGc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      forcedGc = runInNewContext('gc') as () => void;
    } catch {
      forcedGc = null;
    }
  }
  return forcedGc;
}

/** Reads memory from the OS. `limitBytes` caps what is reported (a simulated device's per-app limit). */
export class NodeMemoryProbe implements MemoryProbe {
  constructor(private readonly limitBytes?: number) {}

  async availableBytes(): Promise<number> {
    const constrained = process.constrainedMemory?.() ?? 0;
    let available = freemem();
    if (constrained > 0)
      available = Math.min(available, Math.max(0, constrained - process.memoryUsage().rss));
    if (this.limitBytes !== undefined)
      available = Math.min(available, Math.max(0, this.limitBytes - process.memoryUsage().rss));
    return available;
  }

  async footprintBytes(): Promise<number> {
    return process.memoryUsage().rss;
  }

  /** Linux: writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS. */
  resetPeak(): void {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      // Not Linux, or not permitted: peaks then count from the process start.
    }
  }

  async peakBytes(): Promise<number | null> {
    return peakRssBytes();
  }

  reclaim(): void {
    forceGc()?.();
  }
}

/** Monotonic clock from performance.now(). */
export const nodeClock: Clock = { nowMs: () => performance.now() };
