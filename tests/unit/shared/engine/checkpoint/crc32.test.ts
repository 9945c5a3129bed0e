import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../../../shared/engine/checkpoint/crc32';

/** Deterministic pseudo-random bytes. */
function noise(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('crc32', () => {
  it('gives the standard check value of "123456789" and 0 for no bytes', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('matches zlib on every length around the 8-byte stride and at odd offsets', () => {
    const data = noise(4099);
    for (const n of [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 4099])
      expect(crc32(data.subarray(0, n)), `length ${n}`).toBe(zlibCrc32(data.subarray(0, n)));
    expect(crc32(data.subarray(3, 2000))).toBe(zlibCrc32(data.subarray(3, 2000)));
  });

  it('continues across chunks', () => {
    const data = noise(100_003, 7);
    let c = 0;
    for (let at = 0; at < data.length; at += 9_999) c = crc32(data.subarray(at, at + 9_999), c);
    expect(c).toBe(crc32(data));
    expect(c).toBe(zlibCrc32(data));
  });

  it('hashes tens of megabytes quickly (prints the rate)', () => {
    const data = noise(32 << 20, 3);
    crc32(data.subarray(0, 1 << 20)); // warm up the JIT
    const t0 = performance.now();
    const c = crc32(data);
    const ms = performance.now() - t0;
    console.log(`crc32: ${(data.length / 1e6 / (ms / 1000)).toFixed(0)} MB/s over ${data.length >> 20} MiB`);
    expect(c).toBe(zlibCrc32(data));
  });
});
