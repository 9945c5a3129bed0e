/** MemoryProbe for Node hosts: the OS's available memory (cgroup limit where one applies) and this process's RSS. */
import { freemem } from 'node:os';
import type { Clock, MemoryProbe } from '../../shared/engine/ports';

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
}

/** Monotonic clock from performance.now(). */
export const nodeClock: Clock = { nowMs: () => performance.now() };
