/**
 * Preview images from the engine's previews (generate-previews.ts), for every companion host (the Node engine
 * worker, the iPhone app):
 *
 * - decoded previews: the engine's decoded RGB frames of x̂0, shrunk by area averaging to fit `maxEdgePx` (never
 *   enlarged);
 * - latent previews (the fallback when a decode is refused): a latent [C, T, H, W] becomes T RGB frames — its first
 *   three channels min-max normalised over the preview — scaled by pixel repetition (or subsampling) to fit
 *   `maxEdgePx`.
 */

/** RGB frames of one preview: interleaved 8-bit RGB, `width·height·3` bytes each. */
export interface RgbPreview {
  width: number;
  height: number;
  frames: Uint8Array[];
}

/** The size that fits `maxEdgePx` keeping the aspect ratio (never larger than the source). */
export function fitSize(width: number, height: number, maxEdgePx: number): { width: number; height: number } {
  const s = Math.min(1, maxEdgePx / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** Shrinks one interleaved RGB image to `out` size by averaging the source pixels each output pixel covers. */
export function downscaleRgb(
  src: Uint8Array,
  width: number,
  height: number,
  out: { width: number; height: number },
): Uint8Array {
  if (out.width === width && out.height === height) return src;
  const dst = new Uint8Array(out.width * out.height * 3);
  for (let y = 0; y < out.height; y++) {
    const y0 = Math.floor((y * height) / out.height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / out.height));
    for (let x = 0; x < out.width; x++) {
      const x0 = Math.floor((x * width) / out.width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / out.width));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = y0; sy < y1; sy++)
        for (let sx = x0; sx < x1; sx++) {
          const i = (sy * width + sx) * 3;
          r += src[i]!;
          g += src[i + 1]!;
          b += src[i + 2]!;
        }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * out.width + x) * 3;
      dst[o] = Math.round(r / n);
      dst[o + 1] = Math.round(g / n);
      dst[o + 2] = Math.round(b / n);
    }
  }
  return dst;
}

/** Decoded frames (the engine's `GeneratePreview.frames`) shrunk to fit `maxEdgePx`. */
export function decodedPreview(decoded: RgbPreview, maxEdgePx: number): RgbPreview {
  const size = fitSize(decoded.width, decoded.height, maxEdgePx);
  return {
    ...size,
    frames: decoded.frames.map((f) => downscaleRgb(f, decoded.width, decoded.height, size)),
  };
}

/** One latent (batch row 0): dims [C, T, H, W]. */
export interface Latent {
  dims: number[];
  data: Float32Array;
}

/** Latent [C, T, H, W] → T RGB frames, upscaled by an integer factor to fit maxEdge. */
export function latentPreview(latent: Latent, maxEdgePx: number): RgbPreview {
  const [C = 1, T = 1, H = 1, W = 1] = latent.dims;
  const plane = H * W;
  let lo = Infinity;
  let hi = -Infinity;
  for (let c = 0; c < Math.min(3, C); c++)
    for (let i = 0; i < T * plane; i++) {
      const v = latent.data[c * T * plane + i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  const span = hi > lo ? hi - lo : 1;
  const scale = Math.max(1, Math.floor(maxEdgePx / Math.max(H, W)));
  const shrink = Math.max(1, Math.ceil(Math.max(H, W) / maxEdgePx));
  const height = Math.max(1, Math.floor((H * scale) / shrink));
  const width = Math.max(1, Math.floor((W * scale) / shrink));
  const frames: Uint8Array[] = [];
  for (let t = 0; t < T; t++) {
    const out = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const sy = Math.min(H - 1, Math.floor((y * shrink) / scale));
        const sx = Math.min(W - 1, Math.floor((x * shrink) / scale));
        for (let k = 0; k < 3; k++) {
          const c = Math.min(k, C - 1);
          const v = latent.data[c * T * plane + t * plane + sy * W + sx]!;
          out[(y * width + x) * 3 + k] = Math.round(((v - lo) / span) * 255);
        }
      }
    frames.push(out);
  }
  return { width, height, frames };
}
