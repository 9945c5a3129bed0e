import { describe, expect, it } from 'vitest';
import { percentile } from '../../../../shared/metrics/percentile';

describe('percentile', () => {
  it('interpolates between the nearest ranks by default, and is NaN for an empty sample', () => {
    expect(percentile([3, 1, 2, 4], 50)).toBe(2.5);
    expect(percentile([1], 90)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });

  it('nearest-rank takes the smallest value with at least q % at or below it', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50, 'nearest-rank')).toBe(3);
    expect(percentile([1, 2, 3, 4], 50, 'nearest-rank')).toBe(2);
    expect(percentile(xs, 99, 'nearest-rank')).toBe(5);
    expect(xs).toEqual([5, 1, 4, 2, 3]); // the sample is not sorted in place
  });

  it('above-rank takes the smallest value with more than q % at or below it', () => {
    expect(percentile([1, 2, 3, 4], 50, 'above-rank')).toBe(3);
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(twenty, 95, 'above-rank')).toBe(20);
    expect(percentile(twenty, 95, 'nearest-rank')).toBe(19);
  });
});
