import { describe, expect, it } from 'vitest';
import {
  fillGaussian,
  gaussianNoise,
  portableLn,
  sinCos2Pi,
  validateNoiseSeed,
} from '../../../../../shared/engine/noise/gaussian';

/** Deterministic uint32 stream (LCG) for sampling test points. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('portableLn', () => {
  it('agrees with Math.log to 2e-15 relative over many points and magnitudes', () => {
    const next = lcg(1);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const u = (next() + 0.5) / 2 ** 32;
      const xs = [u, u * 2 ** ((i % 2090) - 1066), 1 + (u - 0.5) * 1e-9, 1 + (u - 0.5) * 0.8, u * 1e300];
      for (const x of xs) {
        const ref = Math.log(x);
        if (ref === 0 || !Number.isFinite(ref)) continue;
        worst = Math.max(worst, Math.abs(portableLn(x) - ref) / Math.abs(ref));
      }
    }
    expect(worst).toBeLessThanOrEqual(2e-15);
  });

  it('handles special values, powers of two and subnormals', () => {
    expect(portableLn(1)).toBe(0);
    expect(portableLn(0)).toBe(-Infinity);
    expect(portableLn(Infinity)).toBe(Infinity);
    expect(portableLn(-1)).toBeNaN();
    expect(portableLn(Number.NaN)).toBeNaN();
    for (const e of [-1074, -1060, -1023, -33, -1, 1, 10, 1023]) {
      const x = 2 ** e;
      expect(Math.abs(portableLn(x) - Math.log(x))).toBeLessThanOrEqual(2e-15 * Math.abs(Math.log(x)));
    }
    expect(Math.abs(portableLn(Math.E) - 1)).toBeLessThanOrEqual(2.3e-16);
    expect(Math.abs(portableLn(5e-324) - Math.log(5e-324))).toBeLessThanOrEqual(2e-15 * 745);
  });
});

describe('sinCos2Pi', () => {
  it('agrees with Math.sin/cos(2πu) to 1e-15 absolute (their argument 2π·u is itself rounded)', () => {
    const next = lcg(2);
    const out = new Float64Array(2);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const u = (next() + 0.5) / 2 ** 32;
      sinCos2Pi(u, out);
      worst = Math.max(worst, Math.abs((out[0] as number) - Math.sin(2 * Math.PI * u)));
      worst = Math.max(worst, Math.abs((out[1] as number) - Math.cos(2 * Math.PI * u)));
    }
    expect(worst).toBeLessThanOrEqual(1e-15);
  });

  it('is accurate to 2e-15 relative against Math.sin/cos of the exactly reduced angle', () => {
    // 2πu = (π/2)·n + 2π·v with v = u − n/4 exact and |2πv| ≤ π/4, where Math.sin/cos lose no relative accuracy.
    const next = lcg(3);
    const out = new Float64Array(2);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const u = (next() + 0.5) / 2 ** 32;
      const n = Math.round(4 * u);
      const v = u - n / 4;
      const s = Math.sin(2 * Math.PI * v);
      const c = Math.cos(2 * Math.PI * v);
      const ref = [
        [s, c],
        [c, -s],
        [-s, -c],
        [-c, s],
      ][n % 4] as number[];
      sinCos2Pi(u, out);
      for (const j of [0, 1]) {
        const r = ref[j] as number;
        if (r !== 0) worst = Math.max(worst, Math.abs((out[j] as number) - r) / Math.abs(r));
      }
    }
    expect(worst).toBeLessThanOrEqual(2e-15);
  });

  it('exact at the quadrant points, sin² + cos² = 1, handles u outside (0, 1)', () => {
    const at = (u: number) => Array.from(sinCos2Pi(u));
    expect(at(0)).toEqual([0, 1]);
    expect(at(0.25)).toEqual([1, -0]);
    expect(at(0.5)).toEqual([-0, -1]);
    expect(at(0.75)).toEqual([-1, 0]);
    const [s8, c8] = at(0.125) as [number, number];
    expect(Math.abs(s8 - Math.SQRT1_2)).toBeLessThanOrEqual(2.3e-16);
    expect(Math.abs(c8 - Math.SQRT1_2)).toBeLessThanOrEqual(2.3e-16);
    const next = lcg(4);
    for (let i = 0; i < 10_000; i++) {
      const [s, c] = at(next() / 2 ** 32) as [number, number];
      expect(Math.abs(s * s + c * c - 1)).toBeLessThanOrEqual(5e-16);
    }
    const [s, c] = at(0.3) as [number, number];
    const [s2, c2] = at(-2.7) as [number, number];
    expect(Math.abs(s - s2)).toBeLessThanOrEqual(1e-15);
    expect(Math.abs(c - c2)).toBeLessThanOrEqual(1e-15);
    expect(at(Number.NaN).every(Number.isNaN)).toBe(true);
  });
});

describe('gaussianNoise', () => {
  it('pins the bit patterns (a change here changes every seeded video)', () => {
    expect(bitsOf(gaussianNoise(42, [8]).data).map((x) => x.toString(16))).toEqual([
      'bf785e5c',
      '3e46ace8',
      'bf9e28d2',
      '3ff6433b',
      'bd95e030',
      '3e0e7a0f',
      'bf8da733',
      '3ea742fd',
    ]);
    expect(bitsOf(gaussianNoise(2 ** 53 - 1, [4]).data).map((x) => x.toString(16))).toEqual([
      'bfb07428',
      'bf19b154',
      'beb3fc53',
      'bf011886',
    ]);
  });

  it('has standard-normal statistics over 1e6 samples', () => {
    const { data } = gaussianNoise(1024, [1, 4, 250, 25, 40]);
    expect(data.length).toBe(1_000_000);
    let sum = 0;
    let sq = 0;
    let over3 = 0;
    let over4 = 0;
    let below0 = 0;
    let below1 = 0;
    let maxAbs = 0;
    for (const x of data) {
      sum += x;
      sq += x * x;
      const a = Math.abs(x);
      if (a > 3) over3++;
      if (a > 4) over4++;
      if (x < 0) below0++;
      if (x < 1) below1++;
      maxAbs = Math.max(maxAbs, a);
    }
    const n = data.length;
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(variance - 1)).toBeLessThanOrEqual(0.01);
    // P(|z| > 3) = 0.0026998 (2700 ± 52), P(|z| > 4) = 6.334e-5 (63 ± 8), P(z < 0) = 0.5, P(z < 1) = 0.841345.
    expect(over3).toBeGreaterThan(2450);
    expect(over3).toBeLessThan(2950);
    expect(over4).toBeGreaterThan(30);
    expect(over4).toBeLessThan(100);
    expect(Math.abs(below0 / n - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(below1 / n - 0.841345)).toBeLessThan(0.003);
    // u ≥ 2^-33 bounds |z| by sqrt(2·33·ln 2) ≈ 6.77.
    expect(maxAbs).toBeLessThan(6.77);
    expect(data.every(Number.isFinite)).toBe(true);
  });

  it('is deterministic, seed-dependent, and element k depends only on (seed, k)', () => {
    const a = gaussianNoise(7, [2, 3, 5, 7]);
    const b = gaussianNoise(7, [2, 3, 5, 7]);
    expect(a.dims).toEqual([2, 3, 5, 7]);
    expect(bitsOf(a.data)).toEqual(bitsOf(b.data));
    const c = gaussianNoise(8, [2, 3, 5, 7]);
    let same = 0;
    for (let i = 0; i < a.data.length; i++) if (a.data[i] === c.data[i]) same++;
    expect(same).toBeLessThan(3);
    // Seeds that differ only above bit 32 differ too (the key's high word is used).
    const hi = gaussianNoise(7 + 2 ** 32, [16]);
    expect(bitsOf(hi.data)).not.toEqual(bitsOf(a.data.subarray(0, 16)));
    // Prefix property: a smaller (or differently shaped) tensor is a prefix of a larger one.
    for (const n of [1, 2, 3, 4, 5, 13, 209]) {
      expect(bitsOf(gaussianNoise(7, [n]).data)).toEqual(bitsOf(a.data.subarray(0, n)));
    }
    // fillGaussian at an offset equals the same slice of the whole.
    for (const [off, len] of [
      [0, 10],
      [1, 6],
      [3, 1],
      [5, 100],
      [101, 109],
    ] as const) {
      expect(bitsOf(fillGaussian(7, new Float32Array(len), off))).toEqual(
        bitsOf(a.data.subarray(off, off + len)),
      );
    }
    expect(gaussianNoise(7, [0, 4]).data.length).toBe(0);
    expect(gaussianNoise(7, []).data.length).toBe(1);
  });

  it('works at large flat indices (counter high word)', () => {
    const off = 4 * 2 ** 32 + 2; // block 2^32: counter = (0, 1, 0, 0)
    const x = fillGaussian(3, new Float32Array(8), off);
    expect(x.every(Number.isFinite)).toBe(true);
    expect(bitsOf(x)).not.toEqual(bitsOf(fillGaussian(3, new Float32Array(8), 2)));
  });

  it('rejects invalid seeds and dims with clear errors', () => {
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN, Infinity, '3' as unknown as number]) {
      expect(() => gaussianNoise(bad, [4])).toThrow(RangeError);
      expect(() => validateNoiseSeed(bad)).toThrow(/noise seed must be an integer in \[0, 2\^53 − 1\]/);
    }
    expect(() => gaussianNoise(1, [2, -1])).toThrow(/dims must be non-negative integers/);
    expect(() => gaussianNoise(1, [2.5])).toThrow(/dims/);
    expect(() => fillGaussian(1, new Float32Array(2), -3)).toThrow(/offset/);
  });
});
