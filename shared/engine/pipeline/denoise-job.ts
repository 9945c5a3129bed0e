/**
 * The parameters of one denoising run: everything a researcher can turn, in one validated object.
 */
import type { VerifyPolicy } from '../blockset/load';
import type { BudgetSpec } from '../cidl/budget';
import type { RetentionPolicy } from '../cidl/plan';
import type { LplOptions } from '../techniques/knobs';
import { tdtmProblem } from '../techniques/validate';
import type { RatioTime } from '../sampler/timesteps';
import type { FloatTensor } from '../tensor';

export type { VerifyPolicy };

/** CI-DL knobs. */
export interface CidlOptions {
  /** Block memory budget for the denoiser (default: unlimited = all resident). */
  budget: BudgetSpec;
  /** Which blocks stay resident across steps (default 'paper': the first d blocks). */
  policy?: RetentionPolicy;
  /** Load the next block while the current one computes (default true). */
  prefetch?: boolean;
  /** Hash checks (default 'first-load': each block file is verified the first time this block set loads it). */
  verify?: VerifyPolicy;
}

/** One denoising job. Sizes in latent units unless named `Px`. */
export interface DenoiseJob {
  /** Prompt embedding [1, L, Cc] (or [1, 1, L, Cc]) and its token mask [L] (1 = valid). */
  caption: { y: FloatTensor; mask: Int32Array | BigInt64Array };
  /** Latent video size: frames T, height H, width W. */
  latent: { frames: number; height: number; width: number };
  /** Pixel size and frame count (position-embedding scale, timestep transform) and fps conditioning. */
  video: { heightPx: number; widthPx: number; numFrames: number; fps: number };
  /** Initial noise [1, Cin, T, H, W]; otherwise drawn from `seed` with the portable generator. */
  z0?: FloatTensor;
  /** Seed of the portable Gaussian noise (used when `z0` is absent). */
  seed?: number;
  /** Sampling steps (Open-Sora: 30). */
  steps: number;
  /** Classifier-free guidance scale (Open-Sora: 7.0). */
  cfgScale: number;
  /** Timestep schedule: discrete rounding (default true), transform (default true), its frame factor. */
  timesteps?: { discrete?: boolean; transform?: boolean; ratioTime?: RatioTime };
  /** Linear Proportional Leap. */
  lpl: LplOptions;
  /** Temporal Dimension Token Merging: steps with index < mergeSteps run merged (0 = off). */
  tdtm: { mergeSteps: number };
  /** Concurrent Inference with Dynamic Loading. */
  cidl: CidlOptions;
  /** The exact float32 timestep frequency table (fixtures ship torch's); computed when absent. */
  tFreqTable?: Float32Array;
}

/** Checks a job's numbers and names the first bad field. */
export function validateDenoiseJob(job: DenoiseJob, modelMaxLength: number): void {
  const bad = (field: string, why: string): never => {
    throw new Error(`invalid job: ${field} ${why}`);
  };
  const posInt = (field: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) bad(field, `must be a positive integer, got ${v}`);
  };
  posInt('latent.frames', job.latent.frames);
  posInt('latent.height', job.latent.height);
  posInt('latent.width', job.latent.width);
  posInt('steps', job.steps);
  posInt('video.numFrames', job.video.numFrames);
  if (!(job.video.heightPx > 0) || !(job.video.widthPx > 0))
    bad('video', 'needs positive heightPx and widthPx');
  if (!Number.isFinite(job.video.fps) || job.video.fps <= 0)
    bad('video.fps', `must be positive, got ${job.video.fps}`);
  if (!Number.isFinite(job.cfgScale)) bad('cfgScale', `must be a number, got ${job.cfgScale}`);
  const tdtmWhy = tdtmProblem(job.tdtm.mergeSteps, { latentFrames: job.latent.frames });
  if (tdtmWhy !== null) bad('tdtm.mergeSteps', tdtmWhy);
  const L = job.caption.mask.length;
  if (L < 1 || L > modelMaxLength)
    bad('caption.mask', `has ${L} tokens; the model takes 1..${modelMaxLength}`);
  const dims = job.caption.y.dims;
  if (dims[dims.length - 2] !== L)
    bad('caption.y', `has ${dims[dims.length - 2]} tokens but the mask has ${L}`);
  let valid = 0;
  for (const m of job.caption.mask) if (Number(m) !== 0) valid += 1;
  if (valid === 0) bad('caption.mask', 'has no valid token');
  if (job.z0 === undefined && job.seed === undefined) bad('seed', 'or z0 is required');
}
