/**
 * Statistics of `odsora bench studio`: event-to-screen latency from the device's emit time to the renderer's first
 * animation frame after the views consumed the event, and frame times of the page while it streams.
 */
import { percentile } from '../../shared/metrics/percentile';

/** p50/p95/p99/max/mean of a sample (ms); `n` is its size (all NaN when empty). */
export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Summarizes a sample with linear-interpolated percentiles, rounded to 0.01. */
export function summarize(xs: readonly number[]): Summary {
  const round = (v: number): number => (Number.isFinite(v) ? Math.round(v * 100) / 100 : NaN);
  if (xs.length === 0) return { n: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  let max = -Infinity;
  let sum = 0;
  for (const x of xs) {
    if (x > max) max = x;
    sum += x;
  }
  return {
    n: xs.length,
    p50: round(percentile(xs, 50)),
    p95: round(percentile(xs, 95)),
    p99: round(percentile(xs, 99)),
    max: round(max),
    mean: round(sum / xs.length),
  };
}

/** One event's trip through the renderer, as `window.__odsoraPerf.samples()` reports it (epoch ms). */
export interface RendererSample {
  seq: number;
  receivedAtMs: number;
  paintedAtMs: number;
}

/** The three spans of each event matched by seq, in ms. */
export interface LatencySpans {
  /** Device emit → first animation frame after the views consumed it: what the user waits for. */
  eventToScreen: number[];
  /** Device emit → arrival in the renderer (companion server, wire, studio main and disk, bridge). */
  transport: number[];
  /** Arrival in the renderer → painted. */
  render: number[];
  /** Seqs of emitted events with no renderer sample (not delivered, or not painted), ascending. */
  missing: number[];
}

/**
 * Matches renderer samples to device emit times by seq. `emittedAtMs` maps a seq to its epoch emit time; samples
 * for other seqs (another run) are ignored. A sample seen twice (a resend) counts once, its first arrival.
 */
export function matchLatencies(
  emittedAtMs: ReadonlyMap<number, number>,
  samples: readonly RendererSample[],
): LatencySpans {
  const first = new Map<number, RendererSample>();
  for (const s of samples) {
    if (!emittedAtMs.has(s.seq)) continue;
    const seen = first.get(s.seq);
    if (seen === undefined || s.receivedAtMs < seen.receivedAtMs) first.set(s.seq, s);
  }
  const spans: LatencySpans = { eventToScreen: [], transport: [], render: [], missing: [] };
  for (const [seq, emitted] of emittedAtMs) {
    const s = first.get(seq);
    if (s === undefined) {
      spans.missing.push(seq);
      continue;
    }
    spans.eventToScreen.push(s.paintedAtMs - emitted);
    spans.transport.push(s.receivedAtMs - emitted);
    spans.render.push(s.paintedAtMs - s.receivedAtMs);
  }
  spans.missing.sort((a, b) => a - b);
  return spans;
}

/** Intervals between consecutive animation-frame timestamps (ms), in order. */
export function frameIntervals(frameTimesMs: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < frameTimesMs.length; i++) out.push(frameTimesMs[i]! - frameTimesMs[i - 1]!);
  return out;
}

/** Long tasks (main-thread work over 50 ms) seen while streaming: how many, their total and the longest (ms). */
export function longTaskStats(durationsMs: readonly number[]): {
  count: number;
  totalMs: number;
  maxMs: number;
} {
  let total = 0;
  let max = 0;
  for (const d of durationsMs) {
    total += d;
    if (d > max) max = d;
  }
  return {
    count: durationsMs.length,
    totalMs: Math.round(total * 10) / 10,
    maxMs: Math.round(max * 10) / 10,
  };
}

/** Events per second achieved between the first and the last emit time. */
export function achievedRate(emitTimesMs: readonly number[]): number {
  if (emitTimesMs.length < 2) return NaN;
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of emitTimesMs) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return hi > lo ? Math.round(((emitTimesMs.length - 1) / (hi - lo)) * 1000 * 10) / 10 : NaN;
}

/** The median of a sample (NaN when empty); the bench reports the median over repeated runs. */
export function median(xs: readonly number[]): number {
  const finite = xs.filter((x) => Number.isFinite(x));
  return finite.length === 0 ? NaN : percentile(finite, 50);
}
