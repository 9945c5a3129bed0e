import { describe, expect, it } from 'vitest';
import {
  PSNR_CAP_DB,
  psnr,
  psnrFromMse,
  ssim,
  temporalFlicker,
  VideoShapeError,
  type Video,
} from '../../../../shared/metrics';
import { addNoise, renderPrompt } from '../../../helpers/render-shapes';

const clip = renderPrompt({ colour: 'red', shape: 'circle', motion: 'moving right', background: 'black' }, 1);
const solid = (w: number, h: number, values: number[]): Video => ({
  width: w,
  height: h,
  frames: values.map((v) => new Uint8Array(w * h * 3).fill(v)),
});

describe('psnr', () => {
  it('reports the 99 dB cap for identical clips', () => {
    const r = psnr(clip, clip);
    expect(r.clip).toBe(PSNR_CAP_DB);
    expect(r.perFrame.every((x) => x === 99)).toBe(true);
    expect(r.mse).toBe(0);
  });
  it('matches 10·log10(255²/MSE) for a known error', () => {
    const a = solid(8, 8, [100, 100]);
    const b = solid(8, 8, [110, 100]); // frame 0: MSE 100, frame 1: identical
    const r = psnr(a, b);
    expect(r.perFrame[0]).toBeCloseTo(10 * Math.log10((255 * 255) / 100), 10);
    expect(r.perFrame[1]).toBe(PSNR_CAP_DB);
    expect(r.clip).toBeCloseTo(10 * Math.log10((255 * 255) / 50), 10);
    expect(psnrFromMse(0)).toBe(PSNR_CAP_DB);
  });
  it('estimates Gaussian noise of σ = 10 at ≈ 28.1 dB', () => {
    const gray = solid(32, 32, Array(16).fill(128));
    const r = psnr(gray, addNoise(gray, 10, 7));
    expect(r.clip).toBeGreaterThan(27.8);
    expect(r.clip).toBeLessThan(28.5); // 20·log10(255/10) = 28.13
  });
  it('rejects different shapes', () => {
    expect(() => psnr(solid(8, 8, [1]), solid(8, 8, [1, 2]))).toThrow(VideoShapeError);
    expect(() => psnr({ width: 2, height: 2, frames: [new Uint8Array(3)] }, solid(2, 2, [0]))).toThrow(/12/);
  });
});

describe('ssim', () => {
  it('is exactly 1 for identical clips, with the standard 11×11 σ=1.5 window', () => {
    const r = ssim(clip, clip);
    expect(r.mean).toBe(1);
    expect(r.window).toEqual({ size: 11, sigma: 1.5 });
  });
  it('drops with noise and is symmetric', () => {
    const n = addNoise(clip, 20, 3);
    const ab = ssim(clip, n).mean;
    expect(ab).toBeLessThan(0.9);
    expect(ab).toBeGreaterThan(0);
    expect(ssim(n, clip).mean).toBeCloseTo(ab, 12);
    expect(ssim(clip, addNoise(clip, 5, 3)).mean).toBeGreaterThan(ab);
  });
  it('matches the closed form on constant frames (variance 0: luminance term only)', () => {
    const r = ssim(solid(16, 16, [100]), solid(16, 16, [120]));
    const c1 = (0.01 * 255) ** 2;
    expect(r.perFrame[0]).toBeCloseTo((2 * 100 * 120 + c1) / (100 * 100 + 120 * 120 + c1), 10);
  });
  it('shrinks the window for frames smaller than 11 px', () => {
    const r = ssim(solid(6, 9, [10]), solid(6, 9, [10]));
    expect(r.window.size).toBe(5);
    expect(r.window.sigma).toBeCloseTo((1.5 * 5) / 11, 12);
    expect(r.mean).toBe(1);
  });
});

describe('temporalFlicker', () => {
  it('is 1 for a static clip', () => {
    const r = temporalFlicker(solid(8, 8, [50, 50, 50, 50]));
    expect(r.score).toBe(1);
    expect(r.meanAbsDiff).toBe(0);
  });
  it('is (255 − MAD)/255 for an alternating clip', () => {
    const r = temporalFlicker(solid(8, 8, [0, 51, 0, 51]));
    expect(r.meanAbsDiff).toBe(51);
    expect(r.score).toBeCloseTo(0.8, 12);
    expect(temporalFlicker(solid(4, 4, [0, 255])).score).toBe(0);
    expect(temporalFlicker(solid(4, 4, [9])).score).toBe(1);
  });
  it('a moving object flickers less than noise', () => {
    expect(temporalFlicker(clip).score).toBeGreaterThan(temporalFlicker(addNoise(clip, 20, 1)).score);
  });
});
