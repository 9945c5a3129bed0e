/**
 * How the studio keeps real inference on its built-in device from slowing its own UI (docs/benchmarks/studio.md
 * measures both):
 *
 * - `odsora companion --nice N`: the companion, and the engine processes and threads it starts, at a lower CPU
 *   priority (POSIX nice N, 0-19; on Windows Node maps it to a priority class). On Linux a nice value belongs to a
 *   thread and new threads and child processes inherit their creator's: the calling thread is lowered first (every
 *   engine worker, ONNX Runtime thread pool and engine process is created after this, from it), then each thread
 *   the process already has (`/proc/self/task`: V8's and libuv's).
 * - On Linux the studio also starts the built-in device under the SCHED_IDLE policy (`chrt --idle 0`, inherited by
 *   every thread and process it starts): the kernel runs those threads only when no other thread wants the CPU,
 *   and a studio thread that wakes takes the CPU from them at once. At nice 10 alone the studio's threads still
 *   waited a scheduler slice behind inference at each wake-up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value the studio gives its built-in device (src-main/studio/services/builtin-device.ts). */
export const BUILTIN_DEVICE_NICE = 10;

/** The highest nice value (the lowest priority). */
export const MAX_NICE = 19;

/** util-linux's chrt, which starts a command under another scheduling policy. */
const CHRT_PATHS = ['/usr/bin/chrt', '/bin/chrt'];

let idlePrefix: readonly string[] | undefined;

/**
 * The command prefix that starts a program under SCHED_IDLE (`chrt --idle 0`), or [] where that cannot be done:
 * not Linux, no chrt, or a kernel or sandbox that refuses the policy (tried once, with `true`).
 */
export function idleSchedulingPrefix(): readonly string[] {
  if (idlePrefix !== undefined) return idlePrefix;
  idlePrefix = [];
  const chrt = process.platform === 'linux' ? CHRT_PATHS.find((p) => existsSync(p)) : undefined;
  if (chrt !== undefined) {
    const probe = spawnSync(chrt, ['--idle', '0', 'true'], { stdio: 'ignore', timeout: 5_000 });
    if (probe.status === 0) idlePrefix = [chrt, '--idle', '0'];
  }
  return idlePrefix;
}

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
