// Images as they arrive from a device become lossless PNG files: RGB and RGBA frames are encoded, PNG frames kept
// as sent, anything else refused.
import { describe, expect, it } from 'vitest';
import type { BinaryFrame } from '../../../../../shared/protocol/binary-frame';
import UPNG from 'upng-js';
import { crc32, encodeRgbPng } from '../../../../../shared/media/png';
import { decodePngRgb, framePng, pngSize } from '../../../../../src-main/studio/services/run-frames';

function frame(kind: BinaryFrame['kind'], dims: number[], payload: Uint8Array): BinaryFrame {
  return { kind, purpose: 'preview', streamId: 'r', seq: 1, index: 0, dims, payload };
}

describe('encodeRgbPng', () => {
  it('writes a complete truecolour PNG that decodes to the same bytes, at any size', () => {
    for (const [w, h] of [
      [1, 1],
      [3, 2],
      [12, 8],
      [33, 17],
    ] as const) {
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + (i >> 5)) % 256);
      const png = encodeRgbPng(rgb, w, h);
      expect(Buffer.from(png.subarray(-8, -4)).toString('latin1')).toBe('IEND');
      expect(pngSize(png)).toEqual({ width: w, height: h });
      expect([...decodePngRgb(png).rgb]).toEqual([...rgb]);
    }
    expect(() => encodeRgbPng(new Uint8Array(5), 2, 2)).toThrow(/5 bytes is not 2×2×3/);
  });

  it('computes the PNG CRC-32', () => {
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });
});

describe('framePng', () => {
  it('encodes RGB frames losslessly', () => {
    const rgb = Uint8Array.from({ length: 12 * 8 * 3 }, (_, i) => (i * 37) % 256);
    const png = framePng(frame('image-rgb8', [8, 12, 3], rgb))!;
    expect(pngSize(png)).toEqual({ width: 12, height: 8 });
    expect([...decodePngRgb(png).rgb]).toEqual([...rgb]);
  });

  it('drops the alpha of RGBA frames', () => {
    const rgba = Uint8Array.of(1, 2, 3, 255, 4, 5, 6, 0);
    expect([...decodePngRgb(framePng(frame('image-rgba8', [1, 2, 4], rgba))!).rgb]).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
  });

  it('re-encodes PNG frames as RGB, and refuses broken PNGs and frames whose size does not add up', () => {
    // upng-js writes this 12×8, 96-colour frame as a palette PNG cut short (no IEND): it is refused.
    const upng = (rgb: Uint8Array, w: number, h: number): Uint8Array => {
      const rgba = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) rgba.set([rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!, 255], i * 4);
      return new Uint8Array(UPNG.encode([rgba.buffer], w, h, 0));
    };
    const rgb = Uint8Array.from({ length: 12 * 8 * 3 }, (_, i) => (i * 37) % 256);
    expect(framePng(frame('png', [8, 12], upng(rgb, 12, 8)))).toBeNull();
    const palette = upng(new Uint8Array(32 * 32 * 3).fill(200), 32, 32);
    expect([...decodePngRgb(framePng(frame('png', [32, 32], palette))!).rgb]).toEqual(
      new Array<number>(32 * 32 * 3).fill(200),
    );
    expect(framePng(frame('image-rgb8', [2, 2, 3], new Uint8Array(5)))).toBeNull();
    expect(framePng(frame('tensor-f32', [1], new Uint8Array(4)))).toBeNull();
    expect(pngSize(Uint8Array.of(1, 2, 3))).toBeNull();
  });
});
