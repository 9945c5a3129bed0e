import { describe, expect, it } from 'vitest';
import { floatTensor } from '../../../../../shared/engine/tensor';
import {
  attentionBias,
  extendedAttentionMask,
  F32_MIN,
  positionBias,
  relativePositionBucket,
  relativePositionBuckets,
} from '../../../../../shared/engine/t5/relative-position';

// b(m) for m = 0..299 with 32 buckets / max distance 128, from an independent NumPy float32 evaluation of
// HF's formula (np.log on float32): one hex digit per distance.
const NUMPY_F32 =
  '0123456788889999aaaaaaabbbbbbbbbccccccccccccccddddddddddddddddddeeeeeeeeeeeeeeeeeeeeeeeeeee' +
  'f'.repeat(300 - 91);

describe('relative position buckets (spec 8 step 2)', () => {
  it('matches an independent float32 evaluation for every distance of L = 300, both directions', () => {
    for (let m = 0; m < 300; m++) {
      const want = parseInt(NUMPY_F32[m] as string, 16);
      expect(relativePositionBucket(-m, 32, 128)).toBe(want);
      if (m > 0) expect(relativePositionBucket(m, 32, 128)).toBe(16 + want);
    }
  });

  it('has exact buckets below 8, log-spaced boundaries at powers of two, clamps at 15, never uses 16', () => {
    expect(relativePositionBucket(0, 32, 128)).toBe(0);
    expect(relativePositionBucket(7, 32, 128)).toBe(23);
    expect(relativePositionBucket(-16, 32, 128)).toBe(10); // log(2)/log(16)·8 = 2 exactly in float32
    expect(relativePositionBucket(-15, 32, 128)).toBe(9);
    expect(relativePositionBucket(-32, 32, 128)).toBe(12);
    expect(relativePositionBucket(-64, 32, 128)).toBe(14);
    expect(relativePositionBucket(-90, 32, 128)).toBe(14);
    expect(relativePositionBucket(-91, 32, 128)).toBe(15); // 8·log(91/8)/log(16) = 7.01
    expect(relativePositionBucket(-128, 32, 128)).toBe(15);
    expect(relativePositionBucket(5000, 32, 128)).toBe(31);
    const table = relativePositionBuckets(300, 32, 128);
    expect(table.includes(16)).toBe(false);
    expect(Math.max(...table)).toBe(31);
  });

  it('lays the table out as [query i, key j] with n = j − i', () => {
    const t = relativePositionBuckets(4, 32, 128);
    expect(Array.from(t)).toEqual([0, 17, 18, 19, 1, 0, 17, 18, 2, 1, 0, 17, 3, 2, 1, 0]);
  });

  it('works for another bucket count and distance', () => {
    // 8 buckets: 4 per direction, 2 exact; max distance 16: b(m) = 2 + trunc(log(m/2)/log(8)·2) clamped to 3 (m = 7: 1.2 → 3).
    expect([0, 1, 2, 3, 4, 7, 8, 15, 16, 100].map((m) => relativePositionBucket(-m, 8, 16))).toEqual([
      0, 1, 2, 2, 2, 3, 3, 3, 3, 3,
    ]);
  });
});

describe('position bias and key mask (spec 8 step 3)', () => {
  it('gathers table[bucket, h] into [1, H, L, L], adds the float32-min key mask per batch row', () => {
    const H = 2;
    const table = floatTensor(
      [32, H],
      Float32Array.from({ length: 64 }, (_, k) => k),
    );
    const pb = positionBias(table, 3, 128);
    expect(pb.dims).toEqual([1, H, 3, 3]);
    const buckets = relativePositionBuckets(3, 32, 128);
    for (let h = 0; h < H; h++)
      for (let k = 0; k < 9; k++) expect(pb.data[h * 9 + k]).toBe((buckets[k] as number) * H + h);
    const mask = extendedAttentionMask(BigInt64Array.from([1n, 1n, 0n, 1n, 0n, 0n]), 2, 3);
    expect(mask.dims).toEqual([2, 1, 1, 3]);
    expect(Array.from(mask.data)).toEqual([
      0,
      0,
      Math.fround(F32_MIN),
      0,
      Math.fround(F32_MIN),
      Math.fround(F32_MIN),
    ]);
    const bias = attentionBias(pb, mask);
    expect(bias.dims).toEqual([2, H, 3, 3]);
    // Row b = 1, head 1, query 2: key 0 valid, keys 1 and 2 masked (finite float32 min, not -Infinity).
    const at = (b: number, h: number, i: number, j: number) =>
      bias.data[((b * H + h) * 3 + i) * 3 + j] as number;
    expect(at(1, 1, 2, 0)).toBe(pb.data[9 + 6]);
    expect(at(1, 1, 2, 1)).toBe(Math.fround(F32_MIN));
    expect(Number.isFinite(at(1, 1, 2, 2))).toBe(true);
    expect(at(0, 0, 1, 1)).toBe(pb.data[4]);
    expect(() => extendedAttentionMask([1, 1], 2, 3)).toThrow(/expected 2 × 3/);
  });
});
