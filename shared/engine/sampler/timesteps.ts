/**
 * Rectified-flow sampling timesteps (spec section 6.1): the linear schedule τ_i = (1 − i/n)·1000 in float64, optional
 * Python-style discrete rounding, then Open-Sora's `timestep_transform` emulated op by op in float32 (`Math.fround`
 * after every operation, which reproduces torch's float32 tensor arithmetic exactly for + − × ÷ and sqrt).
 */

/** How the transform's frame factor is chosen: Python's `sqrt((frames // 17)·5)`, the iPhone app's √15, or a value. */
export type RatioTime = 'python' | 'app' | number;

/** The resolution/length-dependent timestep transform of Open-Sora v1.2 (`use_timestep_transform`). */
export interface TimestepTransformOptions {
  /** Apply the transform (Open-Sora v1.2 inference configs and the app: true). */
  enabled: boolean;
  /** Pixel height of the video (not the latent height). */
  heightPx: number;
  /** Pixel width of the video. */
  widthPx: number;
  /** Pixel frame count (not latent frames); only used when `ratioTime` is 'python'. */
  numFrames: number;
  /**
   * The frame factor r_time of r = sqrt(h·w/512²)·r_time. 'python' (default): sqrt(nf) with nf = (numFrames // 17)·5,
   * or 1 when numFrames == 1. 'app': √15 whatever the length (RFLOW.swift). A number is used as r_time itself
   * (e.g. `Math.sqrt(20)`), already square-rooted.
   */
  ratioTime?: RatioTime;
}

/** Options of {@link samplingTimesteps}. */
export interface SamplingTimestepsOptions {
  /** Number of sampling steps n (inference: 30). */
  steps: number;
  /** Training timesteps (Open-Sora: 1000). */
  numTimesteps?: number;
  /** Round τ_i to integers with Python's round-half-to-even (`use_discrete_timesteps`, default true). */
  discrete?: boolean;
  /** The timestep transform; omitted = disabled. */
  transform?: TimestepTransformOptions;
}

const f = Math.fround;

/** Python 3 `round(x)` for finite doubles: nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties towards +∞
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** The frame factor r_time of the transform (float32), per {@link TimestepTransformOptions.ratioTime}. */
export function transformRatioTime(numFrames: number, ratioTime: RatioTime = 'python'): number {
  if (typeof ratioTime === 'number') {
    if (!Number.isFinite(ratioTime) || ratioTime <= 0) {
      throw new Error(`timestep transform: ratioTime must be a positive finite number, got ${ratioTime}`);
    }
    return f(ratioTime);
  }
  if (ratioTime === 'app') return f(Math.sqrt(15));
  if (!Number.isInteger(numFrames) || numFrames < 1) {
    throw new Error(`timestep transform: numFrames must be a positive integer, got ${numFrames}`);
  }
  // torch: num_frames (float tensor) // 17 * 5, then (nf / base_num_frames=1).sqrt(), all float32.
  const nf = numFrames === 1 ? 1 : Math.floor(numFrames / 17) * 5;
  return f(Math.sqrt(nf));
}

/** The transform ratio r = sqrt(h·w / 512²) · r_time, in float32 as torch computes it. */
export function transformRatio(t: TimestepTransformOptions): number {
  if (!(t.heightPx > 0) || !(t.widthPx > 0) || !Number.isFinite(t.heightPx) || !Number.isFinite(t.widthPx)) {
    throw new Error(
      `timestep transform: heightPx and widthPx must be positive, got ${t.heightPx}×${t.widthPx}`,
    );
  }
  const resolution = f(f(t.heightPx) * f(t.widthPx));
  const ratioSpace = f(Math.sqrt(f(resolution / (512 * 512))));
  const ratio = f(ratioSpace * transformRatioTime(t.numFrames, t.ratioTime ?? 'python'));
  if (!(ratio > 0)) {
    throw new Error(
      `timestep transform: ratio is ${ratio} (numFrames ${t.numFrames} < 17 gives no frame factor in Python)`,
    );
  }
  return ratio;
}

/** Applies `timestep_transform` to one timestep τ (float32 ops): t = N·r·u / (1 + (r − 1)·u), u = τ/N. */
export function transformTimestep(tau: number, ratio: number, numTimesteps = 1000): number {
  const n = f(numTimesteps);
  const u = f(f(tau) / n);
  const num = f(ratio * u);
  const den = f(1 + f(f(ratio - 1) * u));
  return f(f(num / den) * n);
}

/** The n timesteps t_0 > t_1 > ... > t_{n−1} that the sampler feeds to the model (float32). */
export function samplingTimesteps(options: SamplingTimestepsOptions): Float32Array {
  const { steps, numTimesteps = 1000, discrete = true, transform } = options;
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`timesteps: steps must be a positive integer, got ${steps}`);
  if (!(numTimesteps > 0) || !Number.isFinite(numTimesteps)) {
    throw new Error(`timesteps: numTimesteps must be positive, got ${numTimesteps}`);
  }
  const ratio = transform?.enabled ? transformRatio(transform) : null;
  const out = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    let tau = (1.0 - i / steps) * numTimesteps; // float64, as Python computes it
    if (discrete) tau = roundHalfEven(tau);
    out[i] = ratio === null ? tau : transformTimestep(tau, ratio, numTimesteps);
  }
  return out;
}
