/** The one percentile of the project: benchmarks' latency summaries and the clip analysis' colour threshold. */

/**
 * How a percentile picks its value from the sorted sample `s` of `n` values (`q` in percent):
 * - `linear`: interpolated between the two nearest ranks, at position `(n − 1)·q/100` (numpy's default).
 * - `nearest-rank`: the smallest value with at least q % of the sample at or below it, `s[⌈q/100·n⌉ − 1]`.
 * - `above-rank`: the smallest value with more than q % of the sample at or below it, `s[⌊q/100·n⌋]` (the clip
 *   analysis' rule; it differs from `nearest-rank` only when q/100·n is a whole number).
 */
export type PercentileMethod = 'linear' | 'nearest-rank' | 'above-rank';

/** The `q`-th percentile (q in 0..100) of a sample (any order; not modified); NaN when it is empty. */
export function percentile(xs: readonly number[], q: number, method: PercentileMethod = 'linear'): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (i: number): number => s[Math.min(n - 1, Math.max(0, i))] as number;
  if (method === 'nearest-rank') return at(Math.ceil((q / 100) * n) - 1);
  if (method === 'above-rank') return at(Math.floor((q / 100) * n));
  const pos = ((n - 1) * q) / 100;
  const lo = Math.floor(pos);
  return at(lo) + (at(lo + 1) - at(lo)) * (pos - lo);
}
