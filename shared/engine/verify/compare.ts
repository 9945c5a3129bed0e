/**
 * Elementwise comparison against golden tensors: |actual − golden| ≤ atol + rtol·|golden| (the fixtures' rule).
 */

/** Absolute and relative tolerance of one comparison. */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** The outcome of comparing one tensor. */
export interface Comparison {
  readonly name: string;
  readonly count: number;
  readonly maxAbs: number;
  /** Largest |a − g| / |g| over elements with |g| > atol (relative error is meaningless near zero). */
  readonly maxRel: number;
  /** Largest (|a − g| − rtol·|g|) / atol: ≤ 1 passes. */
  readonly worstRatio: number;
  readonly tolerance: Tolerance;
  readonly pass: boolean;
  /** Why it failed beyond the numbers (shape mismatch, NaN). */
  readonly problem?: string;
}

/** Compares two float arrays of the same length. NaN anywhere fails. */
export function compareArrays(
  name: string,
  actual: ArrayLike<number>,
  golden: ArrayLike<number>,
  tolerance: Tolerance,
): Comparison {
  const base = { name, tolerance, count: golden.length };
  if (actual.length !== golden.length) {
    return {
      ...base,
      maxAbs: Infinity,
      maxRel: Infinity,
      worstRatio: Infinity,
      pass: false,
      problem: `has ${actual.length} elements, the golden tensor ${golden.length}`,
    };
  }
  let maxAbs = 0;
  let maxRel = 0;
  let worst = 0;
  let nan = false;
  for (let i = 0; i < golden.length; i++) {
    const a = actual[i] as number;
    const g = golden[i] as number;
    const d = Math.abs(a - g);
    if (Number.isNaN(d)) {
      nan = true;
      continue;
    }
    if (d > maxAbs) maxAbs = d;
    const ag = Math.abs(g);
    if (ag > tolerance.atol && d / ag > maxRel) maxRel = d / ag;
    const ratio =
      tolerance.atol > 0
        ? (d - tolerance.rtol * ag) / tolerance.atol
        : d > tolerance.rtol * ag
          ? Infinity
          : 0;
    if (ratio > worst) worst = ratio;
  }
  return {
    ...base,
    maxAbs: nan ? NaN : maxAbs,
    maxRel,
    worstRatio: nan ? Infinity : worst,
    pass: !nan && worst <= 1,
    ...(nan ? { problem: 'contains NaN' } : {}),
  };
}

/** Exact comparison for integer results (leap steps, lengths). */
export function compareExact(name: string, actual: readonly number[], golden: readonly number[]): Comparison {
  const same = actual.length === golden.length && actual.every((v, i) => v === golden[i]);
  let maxAbs = 0;
  for (let i = 0; i < Math.min(actual.length, golden.length); i++)
    maxAbs = Math.max(maxAbs, Math.abs((actual[i] as number) - (golden[i] as number)));
  return {
    name,
    count: golden.length,
    maxAbs: same ? 0 : Math.max(maxAbs, actual.length === golden.length ? maxAbs : Infinity),
    maxRel: 0,
    worstRatio: same ? 0 : Infinity,
    tolerance: { atol: 0, rtol: 0 },
    pass: same,
    ...(same ? {} : { problem: `got [${actual.join(', ')}], expected [${golden.join(', ')}]` }),
  };
}

/**
 * Range-relative comparison for reduced-precision weights (f16, int8), where elementwise relative error is
 * meaningless near zero: passes when max|actual − golden| ≤ `fraction` · max|golden|. The tolerance is reported
 * as `atol` = fraction · max|golden| (`rtol` 0).
 */
export function compareToRange(
  name: string,
  actual: ArrayLike<number>,
  golden: ArrayLike<number>,
  fraction: number,
): Comparison {
  let range = 0;
  for (let i = 0; i < golden.length; i++) range = Math.max(range, Math.abs(golden[i] as number));
  return compareArrays(name, actual, golden, { atol: Math.max(fraction * range, Number.MIN_VALUE), rtol: 0 });
}
