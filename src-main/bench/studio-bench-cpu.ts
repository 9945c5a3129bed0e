/**
 * CPU time of every process `odsora bench studio` started (the studio, its built-in device and engine processes,
 * the replay device, Chromium's browser, GPU, utility and renderer processes), read from Linux's `/proc` at the
 * start and the end of a phase. It answers "who used the two cores while the sweep streamed". Elsewhere (no
 * `/proc`) it reports nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 1/100 s on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

/** One process at one instant. */
interface ProcessSample {
  pid: number;
  label: string;
  cpuMs: number;
  /** How long its main thread has waited, runnable, for a CPU (`/proc/<pid>/schedstat`); null where absent. */
  waitMs: number | null;
}

/** One process over a phase. */
export interface ProcessCpu {
  pid: number;
  /** What it is, from its command line: `chromium renderer`, `odsora studio`, `node engine`, … */
  label: string;
  /** CPU time (user + system) it used during the phase; a process that ended before the phase did is absent. */
  cpuMs: number;
  /** `cpuMs` over the phase's wall time: 1 = one core busy the whole phase. */
  cores: number;
  /**
   * How long its main thread (the event loop of a Node process, a renderer's main thread) was ready to run but
   * waited for a CPU during the phase: the direct measure of contention for the cores. Null where the kernel does
   * not report it.
   */
  runQueueWaitMs: number | null;
}

/** CPU use of the bench's processes over one phase. */
export interface PhaseCpu {
  wallMs: number;
  /** Busiest first. */
  processes: ProcessCpu[];
}

function readStat(pid: number): { ppid: number; cpuTicks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself hold spaces or parentheses: fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state(3) ppid(4) … utime(14) stime(15), so index = field number - 3.
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // it ended between the listing and the read
  }
}

/** The arguments in a `/proc/<pid>/cmdline` (NUL-separated; Chromium rewrites its children's as one string of space-separated arguments). */
export function parseCmdline(raw: string): string[] {
  const argv = raw.split('\0').filter((a) => a !== '');
  return argv.length === 1 ? argv[0]!.split(' ').filter((a) => a !== '') : argv;
}

/** A readable name for a process from its command line. */
export function processLabel(argv: readonly string[]): string {
  const exe = argv[0] ?? '';
  if (/chrom/i.test(exe)) {
    const type = argv.find((a) => a.startsWith('--type='))?.slice('--type='.length);
    if (type === undefined) return 'chromium browser';
    const service = argv
      .find((a) => a.startsWith('--utility-sub-type='))
      ?.slice('--utility-sub-type='.length)
      .split('.')[0];
    return type === 'utility' && service !== undefined ? `chromium utility (${service})` : `chromium ${type}`;
  }
  const script = argv.slice(1).find((a) => !a.startsWith('-'));
  if (script !== undefined && script.endsWith('odsora.cjs')) {
    const command = argv.slice(argv.indexOf(script) + 1).find((a) => !a.startsWith('-'));
    return `odsora ${command ?? ''}`.trim();
  }
  const base = exe.split('/').at(-1) ?? exe;
  if (argv.includes('-e') || argv.includes('--eval')) return `${base} -e`;
  return script === undefined ? base : `${base} ${script.split('/').at(-1) ?? script}`;
}

/** The second field of `/proc/<pid>/schedstat`: nanoseconds the main thread spent runnable on a run queue. */
function readRunQueueWaitMs(pid: number): number | null {
  try {
    const waitNs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
    return Number.isFinite(waitNs) ? waitNs / 1e6 : null;
  } catch {
    return null;
  }
}

/** `rootPid` and every descendant of it now, with its CPU time so far; null without `/proc`. */
export function sampleProcessTree(rootPid: number): ProcessSample[] | null {
  if (!existsSync('/proc/self/stat')) return null;
  const parents = new Map<number, { ppid: number; cpuTicks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== null) parents.set(Number(name), stat);
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === rootPid) return true;
      p = parents.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const samples: ProcessSample[] = [];
  for (const [pid, stat] of parents) {
    if (!inTree(pid)) continue;
    let argv: string[] = [];
    try {
      argv = parseCmdline(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      continue;
    }
    samples.push({
      pid,
      label: processLabel(argv),
      cpuMs: (stat.cpuTicks * 1000) / TICKS_PER_SECOND,
      waitMs: readRunQueueWaitMs(pid),
    });
  }
  return samples;
}

/** Starts a phase: call the returned function at its end. */
export function startPhaseCpu(rootPid: number = process.pid): () => PhaseCpu | null {
  const startedAt = Date.now();
  const before = sampleProcessTree(rootPid);
  return () => {
    const after = sampleProcessTree(rootPid);
    if (before === null || after === null) return null;
    const wallMs = Date.now() - startedAt;
    const atStart = new Map(before.map((s) => [s.pid, s] as const));
    const processes: ProcessCpu[] = [];
    for (const s of after) {
      // A process that started during the phase counts from zero.
      const then = atStart.get(s.pid) ?? { cpuMs: 0, waitMs: 0 };
      const cpuMs = s.cpuMs - then.cpuMs;
      if (cpuMs <= 0) continue;
      const waitMs = s.waitMs === null || then.waitMs === null ? null : s.waitMs - then.waitMs;
      processes.push({
        pid: s.pid,
        label: s.label,
        cpuMs: Math.round(cpuMs),
        cores: Math.round((cpuMs / wallMs) * 1000) / 1000,
        runQueueWaitMs: waitMs === null ? null : Math.round(waitMs),
      });
    }
    return { wallMs, processes: processes.sort((a, b) => b.cpuMs - a.cpuMs) };
  };
}

/** The pids of this process's Chromium renderers now (empty without `/proc`). */
export function rendererPids(rootPid: number = process.pid): Set<number> {
  return new Set(
    (sampleProcessTree(rootPid) ?? []).filter((s) => s.label === 'chromium renderer').map((s) => s.pid),
  );
}
