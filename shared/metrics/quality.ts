/**
 * Full-reference quality: PSNR and SSIM of a clip against a reference clip (e.g. a technique's output against the
 * baseline's output from the same initial noise).
 */
import { assertSameShape, luma, mean, type Video } from './video';

/**
 * The PSNR reported for identical frames/clips (MSE 0, mathematically +∞). A finite cap keeps means, JSON and
 * tables finite; 99 dB is far above anything lossy (8-bit rounding noise alone is ≈ 59 dB).
 */
export const PSNR_CAP_DB = 99;

/** PSNR of one frame pair or a whole clip. */
export interface PsnrResult {
  /** PSNR of each frame pair in dB, capped at {@link PSNR_CAP_DB}. */
  readonly perFrame: number[];
  /** PSNR of the whole clip: from the MSE pooled over every pixel of every frame (capped). */
  readonly clip: number;
  /** Mean of the (capped) per-frame PSNRs. */
  readonly meanOfFrames: number;
  /** Pooled mean squared error over the clip, in 8-bit units². */
  readonly mse: number;
}

/** PSNR in dB of an 8-bit signal with the given MSE: 10·log10(255² / mse), capped at {@link PSNR_CAP_DB}. */
export function psnrFromMse(mse: number): number {
  if (!(mse > 0)) return PSNR_CAP_DB;
  return Math.min(PSNR_CAP_DB, 10 * Math.log10((255 * 255) / mse));
}

/** Mean squared error of two equally long byte arrays (all channels). */
export function mseBytes(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s / a.length;
}

/**
 * PSNR of `a` against `b` over R, G and B (8-bit peak 255), per frame and for the clip. Identical frames give
 * {@link PSNR_CAP_DB} (99 dB) instead of +∞. Throws {@link VideoShapeError} when the shapes differ.
 */
export function psnr(a: Video, b: Video): PsnrResult {
  assertSameShape(a, b);
  const mses = a.frames.map((f, t) => mseBytes(f, b.frames[t]!));
  const perFrame = mses.map(psnrFromMse);
  const mse = mean(mses);
  return { perFrame, clip: psnrFromMse(mse), meanOfFrames: mean(perFrame), mse };
}

/** SSIM window settings (the standard ones by default). */
export interface SsimOptions {
  /** Gaussian window size (odd); default 11. Shrunk to the largest odd size ≤ min(width, height) for tiny frames. */
  readonly window?: number;
  /** Gaussian σ; default 1.5 (scaled by size/11 when the window is shrunk). */
  readonly sigma?: number;
  /** default 0.01 */
  readonly k1?: number;
  /** default 0.03 */
  readonly k2?: number;
}

/** SSIM per frame and for the clip. */
export interface SsimResult {
  /** Mean SSIM of each frame pair (mean of the SSIM map). */
  readonly perFrame: number[];
  /** Mean over frames. */
  readonly mean: number;
  /** The window actually used (size and σ), after shrinking for tiny frames. */
  readonly window: { size: number; sigma: number };
}

/** Normalised 1-D Gaussian of odd length `size`. */
export function gaussianKernel1d(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - c) * (i - c)) / (2 * sigma * sigma));
    s += k[i]!;
  }
  for (let i = 0; i < size; i++) k[i]! /= s;
  return k;
}

/** 'valid' separable filtering of an h×w image with kernel k: returns an (h-n+1)×(w-n+1) image. */
function filterValid(img: Float64Array, w: number, h: number, k: Float64Array): Float64Array {
  const n = k.length;
  const ow = w - n + 1;
  const oh = h - n + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i]! * img[y * w + x + i]!;
      tmp[y * ow + x] = s;
    }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i]! * tmp[(y + i) * ow + x]!;
      out[y * ow + x] = s;
    }
  return out;
}

/** SSIM of two luma images (0..255) of size w×h with the given kernel; the mean of the 'valid' SSIM map. */
export function ssimLuma(
  x: Float64Array,
  y: Float64Array,
  w: number,
  h: number,
  kernel: Float64Array,
  k1 = 0.01,
  k2 = 0.03,
): number {
  const c1 = (k1 * 255) ** 2;
  const c2 = (k2 * 255) ** 2;
  const n = x.length;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const mx = filterValid(x, w, h, kernel);
  const my = filterValid(y, w, h, kernel);
  const sxx = filterValid(xx, w, h, kernel);
  const syy = filterValid(yy, w, h, kernel);
  const sxy = filterValid(xy, w, h, kernel);
  let s = 0;
  for (let i = 0; i < mx.length; i++) {
    const ux = mx[i]!;
    const uy = my[i]!;
    const vx = sxx[i]! - ux * ux;
    const vy = syy[i]! - uy * uy;
    const cxy = sxy[i]! - ux * uy;
    s += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return s / mx.length;
}

/**
 * Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) of `a` against `b`, frame by frame, on BT.601 luma
 * in 0..255 with an 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, L = 255, no downsampling.
 *
 * Edges: like the authors' MATLAB `ssim_index` (`filter2(..., 'valid')`), only windows that fit entirely inside the
 * frame are used — a 32×32 frame gives a 22×22 SSIM map whose mean is the frame's SSIM; nothing is padded. Frames
 * smaller than the window use the largest odd window ≤ min(width, height), with σ scaled by that size / 11
 * ({@link SsimResult.window} reports what was used). Identical frames give exactly 1.
 */
export function ssim(a: Video, b: Video, options: SsimOptions = {}): SsimResult {
  assertSameShape(a, b);
  const want = options.window ?? 11;
  if (!Number.isInteger(want) || want < 1 || want % 2 === 0)
    throw new RangeError(`ssim: window must be a positive odd integer, got ${want}`);
  let size = Math.min(want, a.width, a.height);
  if (size % 2 === 0) size -= 1;
  const sigma = (options.sigma ?? 1.5) * (size / want);
  const kernel = gaussianKernel1d(size, sigma);
  const perFrame = a.frames.map((f, t) =>
    ssimLuma(
      luma(f, a.width, a.height),
      luma(b.frames[t]!, a.width, a.height),
      a.width,
      a.height,
      kernel,
      options.k1,
      options.k2,
    ),
  );
  return { perFrame, mean: mean(perFrame), window: { size, sigma } };
}
