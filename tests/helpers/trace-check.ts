/**
 * Reads a Chrome / Perfetto trace (Trace Event Format, JSON Object Format) the way a trace viewer would and checks
 * what Perfetto needs: every event has `name`, `ph`, `pid`, `tid` and a finite `ts`; complete events a `dur ≥ 0`;
 * instants a scope; per thread, timestamps never go back and complete events nest. Throws naming the first event
 * that breaks a rule; returns what the unit, integration and e2e tests count.
 */
import { z } from 'zod';

const eventSchema = z.object({
  name: z.string().min(1),
  ph: z.enum(['X', 'B', 'E', 'i', 'I', 'C', 'M']),
  pid: z.number().int(),
  tid: z.number().int(),
  ts: z.number().finite(),
  dur: z.number().finite().nonnegative().optional(),
  cat: z.string().optional(),
  s: z.enum(['t', 'p', 'g']).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
});

const traceSchema = z.object({
  traceEvents: z.array(eventSchema),
  displayTimeUnit: z.enum(['ms', 'ns']).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** One trace event as read back. */
export type ReadTraceEvent = z.infer<typeof eventSchema>;

/** What a checked trace holds. */
export interface TraceSummary {
  events: ReadTraceEvent[];
  metadata: Record<string, unknown>;
  /** Thread names by tid (`M` thread_name). */
  threads: Map<number, string>;
  processName: string | null;
  /** Complete (`X`) events by `cat`. */
  complete: Record<string, number>;
  /** Instant events by `cat`. */
  instants: Record<string, number>;
  /** Counter events by name. */
  counters: Record<string, number>;
}

/** Parses and checks a trace; throws with the first rule broken. */
export function checkChromeTrace(json: unknown): TraceSummary {
  const trace = traceSchema.parse(json);
  const threads = new Map<number, string>();
  let processName: string | null = null;
  const complete: Record<string, number> = {};
  const instants: Record<string, number> = {};
  const counters: Record<string, number> = {};
  const lastTs = new Map<number, number>();
  const stacks = new Map<number, { end: number; name: string }[]>();
  for (const [i, e] of trace.traceEvents.entries()) {
    const where = `traceEvents[${i}] (${e.ph} ${e.name} tid ${e.tid} ts ${e.ts})`;
    if (e.ph === 'M') {
      const name = e.args?.['name'];
      if (e.name === 'thread_name' && typeof name === 'string') threads.set(e.tid, name);
      if (e.name === 'process_name' && typeof name === 'string') processName = name;
      continue;
    }
    const key = e.ph === 'C' ? -1 : e.tid;
    if (e.ts < (lastTs.get(key) ?? -Infinity)) throw new Error(`${where}: time goes back on its thread`);
    lastTs.set(key, e.ts);
    if (e.ph === 'X') {
      if (e.dur === undefined) throw new Error(`${where}: a complete event without dur`);
      const stack = stacks.get(e.tid) ?? [];
      stacks.set(e.tid, stack);
      while (stack.length > 0 && stack[stack.length - 1]!.end <= e.ts) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent !== undefined && e.ts + e.dur > parent.end)
        throw new Error(`${where}: overlaps ${parent.name} without nesting in it`);
      stack.push({ end: e.ts + e.dur, name: e.name });
      complete[e.cat ?? ''] = (complete[e.cat ?? ''] ?? 0) + 1;
    } else if (e.ph === 'i' || e.ph === 'I') {
      if (e.s === undefined) throw new Error(`${where}: an instant without a scope`);
      instants[e.cat ?? ''] = (instants[e.cat ?? ''] ?? 0) + 1;
    } else if (e.ph === 'C') {
      if (e.args === undefined || !Object.values(e.args).every((v) => typeof v === 'number'))
        throw new Error(`${where}: a counter needs numeric args`);
      counters[e.name] = (counters[e.name] ?? 0) + 1;
    }
  }
  for (const e of trace.traceEvents)
    if (e.ph !== 'M' && e.ph !== 'C' && e.s !== 'p' && e.s !== 'g' && !threads.has(e.tid))
      throw new Error(`an event on thread ${e.tid}, which has no thread_name`);
  return {
    events: trace.traceEvents,
    metadata: trace.metadata ?? {},
    threads,
    processName,
    complete,
    instants,
    counters,
  };
}

/** The counts a trace of these events must have, computed from the events themselves. */
export function expectedTraceCounts(events: readonly { type: string; leapt?: boolean }[]): {
  stages: number;
  steps: number;
  computes: number;
  loads: number;
  releases: number;
  resident: number;
  leaps: number;
} {
  const n = (type: string): number => events.filter((e) => e.type === type).length;
  return {
    stages: n('stage.start'),
    steps: n('step.start'),
    computes: n('block.compute.start'),
    loads: n('block.load.start'),
    releases: n('block.release'),
    resident: n('block.load.start') + n('block.load.end') + n('block.release'),
    leaps: events.filter((e) => e.type === 'step.end' && e.leapt === true).length > 0 ? 1 : 0,
  };
}
