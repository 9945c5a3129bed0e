import { describe, expect, it } from 'vitest';
import { decodeFloat, decodeInt, halfToFloat } from '../../../../../shared/engine/safetensors/dtype';
import { halfValue, u16Bytes } from './raw-file';

const f32Bits = (x: Float32Array): number[] => [...new Uint32Array(x.buffer, x.byteOffset, x.length)];

describe('F16 decoding', () => {
  const cases: Array<[number, number]> = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];

  it.each(cases)('decodes the half bit pattern %i exactly', (bits, value) => {
    expect(halfToFloat(bits)).toBe(value);
    expect(decodeFloat('F16', u16Bytes([bits]))[0]).toBe(value);
  });

  it('keeps negative zero and NaN payloads', () => {
    const out = decodeFloat('F16', u16Bytes([0x8000, 0x7e00, 0x7c01]));
    expect(Object.is(out[0], -0)).toBe(true);
    expect(f32Bits(out).slice(1)).toEqual([0x7fc00000, 0x7f802000]);
  });

  it('matches the IEEE formula for every one of the 65536 half values', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const out = decodeFloat('F16', u16Bytes(all));
    const wrong = all.filter((h) => {
      const want = halfValue(h);
      return Number.isNaN(want) ? !Number.isNaN(out[h]!) : !Object.is(out[h], want);
    });
    expect(wrong).toEqual([]);
  });

  it('decodes data at an odd byte offset', () => {
    const bytes = new Uint8Array(5);
    bytes.set(u16Bytes([0x3c00, 0xc000]), 1);
    expect([...decodeFloat('F16', bytes.subarray(1))]).toEqual([1, -2]);
  });
});

describe('BF16 decoding', () => {
  it('shifts the bits into the top half of a float32', () => {
    const out = decodeFloat('BF16', u16Bytes([0x3f80, 0xc049, 0x7f80, 0x0001, 0x7fc0, 0x8000]));
    expect(f32Bits(out)).toEqual([0x3f800000, 0xc0490000, 0x7f800000, 0x00010000, 0x7fc00000, 0x80000000]);
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(-3.140625);
    expect(out[3]).toBe(2 ** -133);
  });
});

describe('F32 and integer decoding', () => {
  it('views aligned F32 data without copying and copies unaligned data', () => {
    const backing = new Uint8Array(12);
    new DataView(backing.buffer).setFloat32(4, 1.5, true);
    const aligned = decodeFloat('F32', backing.subarray(4, 8));
    expect(aligned.buffer).toBe(backing.buffer);
    expect(aligned[0]).toBe(1.5);
    new DataView(backing.buffer).setFloat32(5, -7.25, true);
    const unaligned = decodeFloat('F32', backing.subarray(5, 9));
    expect(unaligned.buffer).not.toBe(backing.buffer);
    expect(unaligned[0]).toBe(-7.25);
  });

  it('widens I32 and reads I64', () => {
    const i32 = new Uint8Array(8);
    new DataView(i32.buffer).setInt32(0, -3, true);
    new DataView(i32.buffer).setInt32(4, 2 ** 31 - 1, true);
    expect([...decodeInt('I32', i32)]).toEqual([-3n, 2147483647n]);
    const i64 = new Uint8Array(9);
    new DataView(i64.buffer).setBigInt64(1, -(2n ** 40n), true);
    expect([...decodeInt('I64', i64.subarray(1))]).toEqual([-(2n ** 40n)]);
  });
});
