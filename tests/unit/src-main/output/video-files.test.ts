import { inflateSync } from 'node:zlib';
import UPNG from 'upng-js';
import { describe, expect, it } from 'vitest';
import { encodeApng, encodePng } from '../../../../src-main/output/video-files';

/** Splits a PNG into chunks, checking the signature and that every chunk lies inside the file. */
function chunks(png: Uint8Array): { type: string; data: Uint8Array }[] {
  const buf = Buffer.from(png);
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const out: { type: string; data: Uint8Array }[] = [];
  let at = 8;
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    expect(at + 12 + len).toBeLessThanOrEqual(buf.length);
    out.push({ type: buf.toString('latin1', at + 4, at + 8), data: buf.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  return out;
}

/** A frame with `w*h` distinct colours (≤ 256 colours is where upng-js chose a palette and truncated the file). */
function gradient(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb.set([(i * 2) & 255, i & 255, (255 - i) & 255], i * 3);
  return rgb;
}

describe('encodePng', () => {
  it.each([
    [12, 8],
    [32, 32],
    [1, 1],
  ])('writes a complete, lossless %ix%i PNG ending in IEND', (w, h) => {
    const rgb = gradient(w, h);
    const parts = chunks(encodePng(rgb, w, h));
    expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const raw = inflateSync(parts[1]!.data);
    expect(raw.length).toBe(h * (w * 3 + 1));
    const decoded = new Uint8Array(UPNG.toRGBA8(UPNG.decode(encodePng(rgb, w, h).slice().buffer))[0]!);
    for (let i = 0; i < w * h; i++)
      expect([...decoded.subarray(i * 4, i * 4 + 3)]).toEqual([...rgb.subarray(i * 3, i * 3 + 3)]);
  });
});

describe('encodeApng', () => {
  it('writes every frame and ends in IEND', () => {
    const frames = [gradient(12, 8), gradient(12, 8).reverse()];
    const parts = chunks(encodeApng({ width: 12, height: 8, channels: 3, frames }, 100));
    expect(parts.at(-1)?.type).toBe('IEND');
    expect(parts.filter((c) => c.type === 'fcTL')).toHaveLength(2);
  });
});
