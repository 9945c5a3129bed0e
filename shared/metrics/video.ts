/**
 * The clip type every metric takes, and small helpers shared by the metrics.
 *
 * A {@link Video} is what the engine's decode stage produces: `frames[t]` is one frame of `width × height` pixels,
 * row-major, 3 bytes per pixel (R, G, B, 0..255), no padding. `GenerateResult.frames` from the pipeline has this
 * shape (plus `channels: 3`), so it can be passed as is.
 */

/** A clip of 8-bit RGB frames (row-major, interleaved R, G, B; `frames[t].length === width * height * 3`). */
export interface Video {
  readonly width: number;
  readonly height: number;
  readonly frames: readonly Uint8Array[];
}

/** Thrown when a metric is given a malformed video or two videos that cannot be compared. */
export class VideoShapeError extends Error {
  override readonly name = 'VideoShapeError';
}

/** Checks that `v` is a well-formed {@link Video} with at least one frame; throws {@link VideoShapeError}. */
export function assertVideo(v: Video, what = 'video'): void {
  if (!Number.isInteger(v.width) || !Number.isInteger(v.height) || v.width < 1 || v.height < 1)
    throw new VideoShapeError(
      `${what}: width and height must be positive integers, got ${v.width}×${v.height}`,
    );
  if (v.frames.length === 0) throw new VideoShapeError(`${what}: no frames`);
  const n = v.width * v.height * 3;
  v.frames.forEach((f, t) => {
    if (f.length !== n)
      throw new VideoShapeError(
        `${what}: frame ${t} has ${f.length} bytes, expected ${n} (${v.width}×${v.height}×3)`,
      );
  });
}

/** Checks that `a` and `b` are well-formed and have the same width, height and frame count. */
export function assertSameShape(a: Video, b: Video): void {
  assertVideo(a, 'first video');
  assertVideo(b, 'second video');
  if (a.width !== b.width || a.height !== b.height || a.frames.length !== b.frames.length)
    throw new VideoShapeError(
      `videos differ in shape: ${a.width}×${a.height}×${a.frames.length} frames vs ${b.width}×${b.height}×${b.frames.length} frames`,
    );
}

/** BT.601 luma (0.299 R + 0.587 G + 0.114 B, as MATLAB's rgb2gray and Wang et al.'s SSIM code) in 0..255, float. */
export function luma(frame: Uint8Array, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  for (let i = 0, p = 0; i < out.length; i++, p += 3)
    out[i] = 0.299 * frame[p]! + 0.587 * frame[p + 1]! + 0.114 * frame[p + 2]!;
  return out;
}

/** Arithmetic mean (NaN for an empty list). */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Median (lower median for even lengths, as torch.median; NaN for an empty list). Does not modify `xs`. */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs as ArrayLike<number>).sort();
  return s[(s.length - 1) >> 1]!;
}
