/**
 * A run's event log as a Chrome / Perfetto trace: the Trace Event Format's JSON Object Format
 * (`{ traceEvents, displayTimeUnit, metadata }`, `ts` and `dur` in whole microseconds), which ui.perfetto.dev and
 * chrome://tracing open as they are. One process (the run), three threads:
 *
 * - `stages`: one complete (`X`) event per stage (`load`, `text`, `denoise`, `decode`), instants for each CI-DL
 *   `plan` and each `preview.ready` (the engine reports a preview when it is made, not how long it took);
 * - `engine compute`: one `X` per denoising step, with that step's block computes nested inside it, and one `X` per
 *   block compute of the other stages;
 * - `loader`: one `X` per block load and an instant per block release. CI-DL prefetch loads the next block while the
 *   current one computes (and across step boundaries), so loads get their own thread instead of breaking the
 *   nesting of steps and computes.
 *
 * Counters (`C`): `resident` (block bytes held, at every block event that carries them, as the report's residency
 * chart) and `budget` (the stage's CI-DL budget when it changes; 0 where a later stage has none). Process-scoped
 * instants mark the LPL leap (`LPL leap`, at the step that leapt) and the TDTM boundary (`TDTM merge` at the first
 * merged step, `TDTM unmerge` at the first plain step after it). `args` carry every field of the engine event (block
 * id, step, variant, bytes, budget, reason, and any field a newer engine adds, such as a placement) except `type`
 * and `atMs`.
 *
 * Nesting: on one thread, complete events must nest (a child ends no later than its parent). Each thread's events
 * are laid out greedily; an event that would overlap another without nesting goes to an overflow thread named after
 * its own (`loader (overlap 2)`), so nothing is dropped and no thread is malformed. A span still open when the log
 * ends (a cancelled or failed run) is closed at the last engine time with `args.unfinished: true`.
 *
 * Times: engine events carry the engine's clock; `ts` is microseconds since the first engine event. Run-level events
 * (`run.*`) carry the device's own clock and are left out of the timeline (the run's outcome goes into `metadata`);
 * `preview.ready` carries the engine's clock where the host passes it (the Node companion and the phone do).
 */
import { isTerminalRunEvent, type RunEvent } from '../protocol/run';

/** The `metadata.format` tag of a trace this module writes. */
export const TRACE_FORMAT = 'odsora-trace';
/** The version of that layout. */
export const TRACE_VERSION = 1;

/** The process id of the run in the trace. */
export const TRACE_PID = 1;

/** The threads of a trace: id, name and the order Perfetto lists them in. */
export const TRACE_THREADS = {
  stages: { tid: 1, name: 'stages' },
  compute: { tid: 2, name: 'engine compute' },
  loader: { tid: 3, name: 'loader' },
} as const;

/** A thread of the trace. */
export type TraceThread = keyof typeof TRACE_THREADS;

/** First thread id given to an overflow thread (events that overlap without nesting). */
const OVERFLOW_TID = 100;

/** One trace event (the fields this module writes). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'C' | 'M';
  pid: number;
  tid: number;
  /** Microseconds since the first engine event. */
  ts: number;
  /** Microseconds (`X` only). */
  dur?: number;
  cat?: string;
  /** Instant scope: thread, process or global. */
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

/** A trace in the JSON Object Format. */
export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  metadata: Record<string, unknown>;
}

/** What the trace says about the run besides its events. */
export interface TraceRunInfo {
  /** The process name Perfetto shows, e.g. `run 20261207-… · Built-in iPhone 15 Pro (simulated)`. */
  name: string;
  /** Copied into the trace's `metadata` (run id, device, parameters, provenance). */
  metadata: Record<string, unknown>;
}

/** A complete event before it is given a thread. */
interface Span {
  thread: TraceThread;
  name: string;
  cat: string;
  startMs: number;
  endMs: number;
  args: Record<string, unknown>;
}

/** Every field of an event except `type` and `atMs`: what its trace event's `args` carry. */
function argsOf(event: RunEvent): Record<string, unknown> {
  const { type: _type, atMs: _atMs, ...rest } = event;
  return rest;
}

/** Events on the engine's clock (the timeline); run-level events are on the device's. */
function onEngineClock(event: RunEvent): boolean {
  return !event.type.startsWith('run.') && event.type !== 'event.lost';
}

/**
 * Converts a run's events (in log order) into a trace. Pure: the same events and info give the same JSON.
 */
export function buildChromeTrace(events: readonly RunEvent[], run: TraceRunInfo): ChromeTrace {
  const timed = events.filter(onEngineClock);
  const originMs = timed.reduce((min, e) => Math.min(min, e.atMs), Infinity);
  const lastMs = timed.reduce((max, e) => Math.max(max, e.atMs), -Infinity);
  const us = (atMs: number): number => Math.round((atMs - originMs) * 1000);

  const spans: Span[] = [];
  const marks: TraceEvent[] = [];
  const open = {
    stage: new Map<string, { atMs: number }>(),
    step: new Map<number, { atMs: number }>(),
    load: new Map<string, RunEvent & { type: 'block.load.start' }>(),
    compute: new Map<string, RunEvent & { type: 'block.compute.start' }>(),
  };
  const instant = (
    thread: TraceThread | null,
    name: string,
    cat: string,
    atMs: number,
    args: Record<string, unknown>,
  ): void => {
    marks.push({
      name,
      ph: 'i',
      pid: TRACE_PID,
      tid: thread === null ? 0 : TRACE_THREADS[thread].tid,
      ts: us(atMs),
      cat,
      s: thread === null ? 'p' : 't',
      args,
    });
  };
  const counter = (name: 'resident' | 'budget', atMs: number, bytes: number): void => {
    marks.push({ name, ph: 'C', pid: TRACE_PID, tid: 0, ts: us(atMs), cat: 'memory', args: { bytes } });
  };
  let budget: number | null = null;
  const budgetAt = (atMs: number, bytes: number | null): void => {
    if (bytes === budget) return;
    counter('budget', atMs, bytes ?? 0);
    budget = bytes;
  };
  /** Ends the span opened under `key` in `starts` at `end` (one never opened began `durationMs` before it). */
  const close = <K>(
    starts: Map<K, { atMs: number }>,
    key: K,
    span: Pick<Span, 'thread' | 'name' | 'cat'>,
    end: RunEvent & { atMs: number },
    durationMs = 0,
  ): void => {
    const start = starts.get(key);
    starts.delete(key);
    spans.push({
      ...span,
      startMs: start?.atMs ?? end.atMs - durationMs,
      endMs: end.atMs,
      args: argsOf(end),
    });
  };
  let merging = false;
  let leapMarked = false;
  const lost = { runLevel: 0, eventLost: 0 };

  for (const event of events) {
    switch (event.type) {
      case 'stage.start':
        open.stage.set(event.stage, { atMs: event.atMs });
        break;
      case 'stage.end':
        close(
          open.stage,
          event.stage,
          { thread: 'stages', name: event.stage, cat: 'stage' },
          event,
          event.durationMs,
        );
        break;
      case 'plan':
        instant('stages', `plan ${event.stage}`, 'plan', event.atMs, argsOf(event));
        budgetAt(event.atMs, event.budgetBytes);
        break;
      case 'step.start':
        open.step.set(event.step, { atMs: event.atMs });
        if (event.merged && !merging)
          instant(null, 'TDTM merge', 'tdtm', event.atMs, { step: event.step, t: event.t });
        else if (!event.merged && merging)
          instant(null, 'TDTM unmerge', 'tdtm', event.atMs, { step: event.step, t: event.t });
        merging = event.merged;
        break;
      case 'step.end': {
        const name = `step ${event.step}`;
        close(open.step, event.step, { thread: 'compute', name, cat: 'step' }, event, event.latencyMs);
        if (event.leapt && !leapMarked) {
          instant(null, 'LPL leap', 'lpl', event.atMs, { step: event.step, t: event.t });
          leapMarked = true;
        }
        break;
      }
      case 'block.load.start':
        open.load.set(event.block, event);
        counter('resident', event.atMs, event.residentBytes);
        budgetAt(event.atMs, event.budgetBytes);
        break;
      case 'block.load.end':
        close(open.load, event.block, { thread: 'loader', name: event.block, cat: 'load' }, event);
        counter('resident', event.atMs, event.residentBytes);
        budgetAt(event.atMs, event.budgetBytes);
        break;
      case 'block.compute.start':
        open.compute.set(event.block, event);
        break;
      case 'block.compute.end':
        close(open.compute, event.block, { thread: 'compute', name: event.block, cat: 'compute' }, event);
        break;
      case 'block.release':
        instant('loader', `release ${event.block}`, 'release', event.atMs, argsOf(event));
        counter('resident', event.atMs, event.residentBytes);
        budgetAt(event.atMs, event.budgetBytes);
        break;
      case 'preview.ready':
        instant('stages', `preview (step ${event.step})`, 'preview', event.atMs, argsOf(event));
        break;
      case 'event.lost':
        lost.eventLost++;
        break;
      default:
        lost.runLevel++;
    }
  }

  // Spans the log never closed (a run that stopped in them) end at the last engine time.
  const unfinished = (thread: TraceThread, name: string, cat: string, startMs: number, args = {}): void => {
    spans.push({ thread, name, cat, startMs, endMs: lastMs, args: { ...args, unfinished: true } });
  };
  for (const [stage, s] of open.stage) unfinished('stages', stage, 'stage', s.atMs, { stage });
  for (const [step, s] of open.step) unfinished('compute', `step ${step}`, 'step', s.atMs, { step });
  for (const [block, s] of open.load) unfinished('loader', block, 'load', s.atMs, argsOf(s));
  for (const [block, s] of open.compute) unfinished('compute', block, 'compute', s.atMs, argsOf(s));

  const { events: complete, threads } = layOut(spans, us);
  const terminal = [...events].reverse().find((e) => isTerminalRunEvent(e));
  const traceEvents: TraceEvent[] = [
    meta(0, 'process_name', { name: run.name }),
    ...threads.flatMap((t, i) => [
      meta(t.tid, 'thread_name', { name: t.name }),
      meta(t.tid, 'thread_sort_index', { sort_index: i }),
    ]),
    ...[...complete, ...marks].sort(byTime),
  ];
  return {
    traceEvents,
    displayTimeUnit: 'ms',
    metadata: {
      format: TRACE_FORMAT,
      version: TRACE_VERSION,
      ...run.metadata,
      outcome: terminal === undefined ? null : argsOf(terminal),
      outcomeType: terminal?.type ?? null,
      engineOriginAtMs: Number.isFinite(originMs) ? originMs : null,
      eventsIn: events.length,
      runLevelEventsLeftOut: lost.runLevel,
      lostEvents: lost.eventLost,
    },
  };
}

/** A metadata (`M`) event. */
function meta(tid: number, name: string, args: Record<string, unknown>): TraceEvent {
  return { name, ph: 'M', pid: TRACE_PID, tid, ts: 0, args };
}

/** Time order; at the same time the longer event first, so a parent precedes its children. */
function byTime(a: TraceEvent, b: TraceEvent): number {
  return a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0);
}

/**
 * Gives each span a thread id so that the complete events of one thread nest: spans are taken in time order
 * (longer first at the same start) and each goes to the first lane of its thread whose open spans it nests in.
 * Lane 0 is the thread itself; further lanes are overflow threads. Returns the events and the threads used.
 */
function layOut(
  spans: readonly Span[],
  us: (atMs: number) => number,
): { events: TraceEvent[]; threads: { tid: number; name: string }[] } {
  const sorted = spans
    .map((s) => ({ s, ts: us(s.startMs), end: Math.max(us(s.startMs), us(s.endMs)) }))
    .sort((a, b) => a.ts - b.ts || b.end - a.end);
  const lanes = new Map<TraceThread, { tid: number; stack: number[] }[]>();
  const threads: { tid: number; name: string }[] = Object.values(TRACE_THREADS).map((t) => ({ ...t }));
  let nextTid = OVERFLOW_TID;
  const events: TraceEvent[] = [];
  for (const { s, ts, end } of sorted) {
    const own = lanes.get(s.thread) ?? [{ tid: TRACE_THREADS[s.thread].tid, stack: [] }];
    lanes.set(s.thread, own);
    let lane = own.find((l) => {
      while (l.stack.length > 0 && (l.stack[l.stack.length - 1] as number) <= ts) l.stack.pop();
      return l.stack.length === 0 || end <= (l.stack[l.stack.length - 1] as number);
    });
    if (lane === undefined) {
      lane = { tid: nextTid++, stack: [] };
      own.push(lane);
      threads.push({ tid: lane.tid, name: `${TRACE_THREADS[s.thread].name} (overlap ${own.length})` });
    }
    lane.stack.push(end);
    events.push({
      name: s.name,
      ph: 'X',
      pid: TRACE_PID,
      tid: lane.tid,
      ts,
      dur: end - ts,
      cat: s.cat,
      args: s.args,
    });
  }
  return { events, threads };
}
