/** MemoryProbe for Node hosts: the OS's available memory (cgroup limit where one applies) and this process's RSS. */
import { readFileSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
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

/**
 * What the first ONNX Runtime session of a process adds to its RSS (the runtime's environment, kernel registry,
 * thread pool and the code it touches), bytes. Measured: 29.4 MB for a first session of a two-node graph against
 * 0.1–0.4 MB for each later one (onnxruntime-node 1.30, CPU, 2 intra-op threads, Linux x64).
 */
export const RUNTIME_START_BYTES = 30_000_000;
/**
 * The size V8's young generation grows to once a process allocates steadily: two 16 MiB semi-spaces (V8's default
 * on 64-bit; a process started with a smaller `--max-semi-space-size` grows less, which this then over-counts).
 */
export const YOUNG_GENERATION_BYTES = 16 * 1024 * 1024;

let runtimeStarted = false;

/** Backends call this once a runtime session exists in this process: its start-up cost is in the RSS from now on. */
export function noteRuntimeStarted(): void {
  runtimeStarted = true;
}

let youngHighWater = 0;

/**
 * The most the young generation (`new_space`) has been seen to commit in this process, sampled now. A full GC may
 * shrink it again, but a process that once allocated at that rate will again, so its growth counts once.
 */
function youngGenerationHighWater(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (space) youngHighWater = Math.max(youngHighWater, space.physical_space_size);
  return youngHighWater;
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
    youngGenerationHighWater();
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
    youngGenerationHighWater();
    return peakRssBytes();
  }

  reclaim(): void {
    youngGenerationHighWater();
    forceGc()?.();
  }

  /**
   * The runtime's start-up until its first session exists, and what the young generation has yet to grow by. Both
   * happen within a stage's first seconds whatever the stage holds, so a cold process would otherwise run past a
   * limit its stages were planned to fit (the bundled Nano: 18–21 % above the predicted peak of its first two
   * stages without this).
   */
  pendingGrowthBytes(): number {
    const young = Math.max(0, YOUNG_GENERATION_BYTES - youngGenerationHighWater());
    return (runtimeStarted ? 0 : RUNTIME_START_BYTES) + young;
  }
}

/** Monotonic clock from performance.now(). */
export const nodeClock: Clock = { nowMs: () => performance.now() };
