/**
 * `odsora companion --nice N`: run the companion, and the engine processes and threads it starts, at a lower CPU
 * priority (POSIX nice N, 0-19; on Windows Node maps it to a priority class). The studio starts its built-in device
 * this way so that real inference on the same machine cannot starve the studio's own UI (docs/benchmarks/studio.md
 * measures it).
 *
 * On Linux a nice value belongs to a thread and new threads and child processes inherit their creator's: the
 * calling thread is lowered first (every engine worker, ONNX Runtime thread pool and engine process is created
 * after this, from it), then each thread the process already has (`/proc/self/task`: V8's and libuv's).
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value the studio gives its built-in device (src-main/studio/services/builtin-device.ts). */
export const BUILTIN_DEVICE_NICE = 10;

/** The highest nice value (the lowest priority). */
export const MAX_NICE = 19;

/** Lowers the process's priority to nice `n`; returns how many threads were set. Throws naming the value. */
export function lowerPriority(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_NICE)
    throw new RangeError(`--nice must be an integer from 0 to ${MAX_NICE}, got ${n}`);
  setPriority(0, n);
  let threads = 1;
  if (process.platform === 'linux') {
    let tids: string[] = [];
    try {
      tids = readdirSync('/proc/self/task');
    } catch {
      // No /proc: the calling thread is set, the others keep their priority.
    }
    for (const tid of tids) {
      const id = Number(tid);
      if (!Number.isInteger(id) || id === process.pid) continue;
      try {
        setPriority(id, n);
        threads++;
      } catch {
        // The thread ended meanwhile.
      }
    }
  }
  return threads;
}
