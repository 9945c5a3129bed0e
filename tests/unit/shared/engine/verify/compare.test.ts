import { describe, expect, it } from 'vitest';
import { compareArrays, compareExact } from '../../../../../shared/engine/verify/compare';

const tol = { atol: 1e-4, rtol: 1e-4 };

describe('comparing against golden tensors', () => {
  it('passes values within atol + rtol·|golden| and reports the largest errors', () => {
    const c = compareArrays('x', [1.0001, 0, -2], [1, 0.00005, -2.0003], tol);
    expect(c.pass).toBe(true);
    expect(c.maxAbs).toBeCloseTo(3e-4, 8);
  });

  it('fails one element past the tolerance', () => {
    const c = compareArrays('x', [1, 2, 3.01], [1, 2, 3], tol);
    expect(c.pass).toBe(false);
    expect(c.worstRatio).toBeGreaterThan(1);
  });

  it('fails on NaN and on a length mismatch, saying why', () => {
    expect(compareArrays('x', [NaN], [1], tol)).toMatchObject({ pass: false, problem: 'contains NaN' });
    expect(compareArrays('x', [1, 2], [1], tol).problem).toMatch(/2 elements.*1/);
  });

  it('compares integers exactly', () => {
    expect(compareExact('leap', [4], [4]).pass).toBe(true);
    expect(compareExact('leap', [3], [4])).toMatchObject({ pass: false, problem: 'got [3], expected [4]' });
  });
});
