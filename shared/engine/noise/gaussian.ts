/**
 * Portable seeded Gaussian noise: the same float32 bits on every JS engine (V8, Hermes, JSC) and in the NumPy
 * reference `tools/reference/portable_noise.py`. Only IEEE-754 exactly-rounded operations are used (+ − × ÷,
 * Math.sqrt, Math.floor, Math.fround, integer bit ops); logarithm, sine and cosine are computed here with fixed
 * polynomials instead of Math.log/sin/cos, whose accuracy the language leaves to the engine. See README.md.
 *
 * Element k of a tensor (row-major flat index) depends only on (seed, k):
 *   key     = (seed mod 2^32, floor(seed / 2^32))            — integer seeds 0 ≤ seed < 2^53
 *   b       = floor(k / 4), counter = (b mod 2^32, floor(b / 2^32), 0, 0)
 *   w0..w3  = Philox4x32-10(counter, key), u_j = (w_j + 0.5) / 2^32 ∈ (0, 1)
 *   lanes   0, 1 = ρ(u0)·cos(2π u1), ρ(u0)·sin(2π u1);  lanes 2, 3 = ρ(u2)·cos(2π u3), ρ(u2)·sin(2π u3)
 *   ρ(u)    = sqrt(−2 ln u);  element k = float32(lane k mod 4 of block b)
 */
import { floatTensor } from '../tensor';
import type { FloatTensor } from '../tensor';
import { philox4x32 } from './philox';

const TWO32 = 4294967296;

// ln 2 split so that e·LN2_HI is exact for |e| < 2^11 (fdlibm's constants).
const LN2_HI = 6.9314718036912381649e-1; // 0x3FE62E42 FEE00000
const LN2_LO = 1.9082149292705877e-10; // 0x3DEA39EF 35793C76
const SQRT2 = 1.4142135623730951;
const PIO2 = 1.5707963267948966;

// ln(1+f) = 2s + s·R(s²), R(z) = Σ_{k≥1} 2 z^k / (2k+1); |s| ≤ 0.1716 so 11 terms reach < 1e-18.
const L1 = 2 / 3;
const L2 = 2 / 5;
const L3 = 2 / 7;
const L4 = 2 / 9;
const L5 = 2 / 11;
const L6 = 2 / 13;
const L7 = 2 / 15;
const L8 = 2 / 17;
const L9 = 2 / 19;
const L10 = 2 / 21;
const L11 = 2 / 23;

// Taylor coefficients (−1)^k / n!; every n! here is exactly representable, so each is one correctly rounded division.
const S1 = -1 / 6;
const S2 = 1 / 120;
const S3 = -1 / 5040;
const S4 = 1 / 362880;
const S5 = -1 / 39916800;
const S6 = 1 / 6227020800;
const S7 = -1 / 1307674368000;
const S8 = 1 / 355687428096000;
const S9 = -1 / 121645100408832000;
const C2 = 1 / 24;
const C3 = -1 / 720;
const C4 = 1 / 40320;
const C5 = -1 / 3628800;
const C6 = 1 / 479001600;
const C7 = -1 / 87178291200;
const C8 = 1 / 20922789888000;
const C9 = -1 / 6402373705728000;

const scratch = new DataView(new ArrayBuffer(8));

/**
 * Natural logarithm from exactly-rounded operations only (≤ ~1 ulp): x = m·2^e with m ∈ [√½, √2] via the IEEE bit
 * pattern, then ln m = f − (f²/2 − s·(f²/2 + R)) with f = m − 1, s = f/(2+f) and R an 11-term atanh series.
 */
export function portableLn(x: number): number {
  if (Number.isNaN(x) || x < 0) return Number.NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let e = 0;
  scratch.setFloat64(0, x);
  let hi = scratch.getUint32(0);
  if (hi < 0x00100000) {
    // subnormal: scale into the normal range first (exact)
    x *= 18014398509481984; // 2^54
    e = -54;
    scratch.setFloat64(0, x);
    hi = scratch.getUint32(0);
  }
  e += (hi >>> 20) - 1023;
  scratch.setUint32(0, (hi & 0x000fffff) | 0x3ff00000);
  let m = scratch.getFloat64(0); // [1, 2)
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const f = m - 1; // exact (Sterbenz)
  const s = f / (2 + f);
  const z = s * s;
  const r =
    z *
    (L1 +
      z *
        (L2 +
          z * (L3 + z * (L4 + z * (L5 + z * (L6 + z * (L7 + z * (L8 + z * (L9 + z * (L10 + z * L11))))))))));
  const hfsq = 0.5 * f * f;
  return e * LN2_HI - (hfsq - (s * (hfsq + r) + e * LN2_LO) - f);
}

/**
 * sin(2πu) and cos(2πu) from exactly-rounded operations only (~1e-16 absolute): 4u = n + r exactly with
 * |r| ≤ ½, φ = r·π/2 ∈ [−π/4, π/4], Taylor polynomials to φ^19 / φ^18, then the quadrant n mod 4.
 * Writes [sin, cos] into `out` and returns it.
 */
export function sinCos2Pi(u: number, out: Float64Array = new Float64Array(2)): Float64Array {
  if (!Number.isFinite(u)) {
    out[0] = Number.NaN;
    out[1] = Number.NaN;
    return out;
  }
  const t = 4 * u; // exact
  let n = Math.floor(t);
  let r = t - n; // exact, [0, 1)
  if (r > 0.5) {
    r -= 1; // exact
    n += 1;
  }
  const phi = r * PIO2;
  const z = phi * phi;
  const sin =
    phi +
    phi * z * (S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * (S6 + z * (S7 + z * (S8 + z * S9))))))));
  const cos =
    1 - (0.5 * z - z * z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * (C6 + z * (C7 + z * (C8 + z * C9))))))));
  const q = ((n % 4) + 4) % 4;
  if (q === 0) {
    out[0] = sin;
    out[1] = cos;
  } else if (q === 1) {
    out[0] = cos;
    out[1] = -sin;
  } else if (q === 2) {
    out[0] = -sin;
    out[1] = -cos;
  } else {
    out[0] = -cos;
    out[1] = sin;
  }
  return out;
}

/** Checks that `seed` is an integer in [0, 2^53 − 1]; throws a RangeError that says so otherwise. */
export function validateNoiseSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`noise seed must be an integer in [0, 2^53 − 1], got ${String(seed)}`);
  }
}

/**
 * Fills `out[i]` with element `offset + i` of the seed's infinite noise sequence (same values as
 * {@link gaussianNoise} at those flat indices), so large tensors can be generated in pieces.
 */
export function fillGaussian(seed: number, out: Float32Array, offset = 0): Float32Array {
  validateNoiseSeed(seed);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + out.length > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`noise offset must be a non-negative safe integer, got ${offset}`);
  }
  const key = [seed >>> 0, Math.floor(seed / TWO32)];
  const counter = [0, 0, 0, 0];
  const words = new Uint32Array(4);
  const sc = new Float64Array(2);
  const lanes = new Float64Array(4);
  const end = offset + out.length;
  let k = offset;
  while (k < end) {
    const b = Math.floor(k / 4);
    counter[0] = b >>> 0;
    counter[1] = Math.floor(b / TWO32);
    philox4x32(counter, key, words);
    for (let p = 0; p < 2; p++) {
      const u1 = ((words[2 * p] as number) + 0.5) / TWO32;
      const u2 = ((words[2 * p + 1] as number) + 0.5) / TWO32;
      const rho = Math.sqrt(-2 * portableLn(u1));
      sinCos2Pi(u2, sc);
      lanes[2 * p] = rho * (sc[1] as number);
      lanes[2 * p + 1] = rho * (sc[0] as number);
    }
    const blockEnd = Math.min(end, 4 * b + 4);
    for (; k < blockEnd; k++) out[k - offset] = Math.fround(lanes[k - 4 * b] as number);
  }
  return out;
}

/** Standard-normal float32 noise of shape `dims` for `seed` (integer, 0 ≤ seed < 2^53); bit-identical everywhere. */
export function gaussianNoise(seed: number, dims: readonly number[]): FloatTensor {
  validateNoiseSeed(seed);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new RangeError(`noise dims must be non-negative integers, got [${dims}]`);
  }
  const t = floatTensor(dims);
  fillGaussian(seed, t.data);
  return t;
}
