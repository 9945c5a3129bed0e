/**
 * Latent previews (see engine-worker.ts): a latent [C, T, H, W] becomes T RGB frames — its first three channels
 * min-max normalised over the preview — scaled by pixel repetition (or subsampling) to fit `maxEdgePx`.
 */

/** One latent, CFG row 0 of the denoiser's `x` input: dims [C, T, H, W]. */
export interface Latent {
  dims: number[];
  data: Float32Array;
}

/** Latent [C, T, H, W] → T RGB frames, upscaled by an integer factor to fit maxEdge. */
export function latentPreview(
  latent: Latent,
  maxEdgePx: number,
): { width: number; height: number; frames: Uint8Array[] } {
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
