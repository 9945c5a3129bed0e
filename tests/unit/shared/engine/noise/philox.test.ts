import { describe, expect, it } from 'vitest';
import { mulhi32, philox4x32 } from '../../../../../shared/engine/noise/philox';

const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, '0'));

describe('philox4x32-10', () => {
  it('matches the Random123 known-answer vectors (kat_vectors, philox4x32_10)', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(
      hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])),
    ).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(
      hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    ).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });

  it('writes into a given buffer and does not modify its inputs', () => {
    const ctr = [1, 2, 3, 4];
    const key = [5, 6];
    const out = new Uint32Array(4);
    expect(philox4x32(ctr, key, out)).toBe(out);
    expect(ctr).toEqual([1, 2, 3, 4]);
    expect(key).toEqual([5, 6]);
  });

  it('mulhi32 is the exact high word of the 64-bit product', () => {
    let s = 987654321;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    const cases: [number, number][] = [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [0xd2511f53, 0xffffffff],
      [0x80000000, 2],
      [0xffff, 0x10001],
    ];
    for (let i = 0; i < 2000; i++) cases.push([next(), next()]);
    for (const [a, b] of cases) {
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }
  });
});
