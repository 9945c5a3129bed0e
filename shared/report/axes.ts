/**
 * The axes of the charts that put runs side by side (the report, Presentation): two runs compared share one
 * latency axis, one step range, one byte axis and one time axis, so a bar or a curve means the same in both. The
 * byte axis is scaled to the curves, not to the budget: a budget far above them (a 22 GiB budget over a 9 MiB
 * curve) would flatten them, so it is left off the axis and drawn as a labelled marker instead.
 */
import { formatBytes } from '../format';

/** A budget up to this multiple of the highest curve is drawn on the byte axis; above it, as a marker. */
export const BUDGET_ON_SCALE_FACTOR = 1.5;

/** The top of a byte axis: the highest curve, raised to the budget when the budget is on scale; at least 1. */
export function memoryAxisTop(peakBytes: readonly number[], budgetBytes: readonly (number | null)[]): number {
  const peak = Math.max(1, ...peakBytes.filter(Number.isFinite));
  let top = peak;
  for (const b of budgetBytes) if (b !== null && b > top && b <= peak * BUDGET_ON_SCALE_FACTOR) top = b;
  return top;
}

/** Whether a budget is drawn as a line on a byte axis reaching `topBytes` (else: an off-scale marker). */
export function budgetOnScale(budgetBytes: number, topBytes: number): boolean {
  return budgetBytes <= topBytes;
}

/** The top of a latency axis shared by runs: the slowest step of any of them; at least 1 ms. */
export function latencyAxisTop(latenciesMs: readonly (readonly number[])[]): number {
  let top = 1;
  for (const run of latenciesMs) for (const ms of run) if (Number.isFinite(ms) && ms > top) top = ms;
  return top;
}

/** Bytes for an axis label: MiB below 1 GiB, GiB above, one decimal. */
export function axisBytes(bytes: number): string {
  return formatBytes(bytes, bytes >= 1024 ** 3 ? 'GiB' : 'MiB');
}

/**
 * Round tick values covering [lo, hi] (about `count` of them, steps of 1, 2 or 5 × 10^k), used by the sweep figures'
 * numeric axes: the first tick at or below `lo`, the last at or above `hi`. A zero-width range is widened around its
 * value so a single point still gets an axis.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12) {
    const pad = Math.abs(lo) > 1e-12 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((f) => f * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let t = first; t < hi + step - 1e-9 * step; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
