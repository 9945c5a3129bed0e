/**
 * The decode stage's memory besides its block weights (cidl/memory-limit.ts), estimated from the decode's shapes.
 * Calibrated against measured peaks of the full-size Open-Sora v1.2 VAE on this machine's ONNX Runtime
 * (docs/benchmarks/).
 */
import { f32Bytes, stageWork, type StageWork } from '../cidl/memory-limit';
import type { Precision } from '../blockset/precision';
import {
  latentChannelsOf,
  microZFrameSize,
  spatialFactorOf,
  spatialUpWidth,
  temporalStageWidth,
  timeFactorOf,
  type VaeConfig,
} from './config';

/** Memory of decoding a latent [B, C, T, H, W] into `numFrames` frames with weights stored as `precision`. */
export function decodeStageWork(
  cfg: VaeConfig,
  latent: { batch: number; frames: number; height: number; width: number },
  numFrames: number,
  precision: Precision,
  verifyBytes: number,
): StageWork {
  const { batch: B, height: H, width: W } = latent;
  const s = cfg.spatial;
  const f = spatialFactorOf(cfg);
  let run = 0;
  let largestKernel = 0;
  const t = cfg.temporalVae;
  if (t) {
    // One chunk of up to 5 latents; the stages run at t, 2t, 4t, 4t frames (time upsampling after the top two).
    const zt = Math.min(latent.frames, microZFrameSize(cfg.microFrameSize, timeFactorOf(cfg)));
    const n = t.channelMultipliers.length;
    for (let i = 0; i < n; i++) {
      const w = temporalStageWidth(t, i);
      const frames = zt * 2 ** Math.min(n - 1 - i, t.temporalDownsample.filter((x) => x).length);
      // Input, output and a residual, plus the Conv3d im2col buffer (C·27 per output position).
      run = Math.max(run, 3 * f32Bytes(B, w, frames, H, W) + f32Bytes(w, 27, frames, H, W));
      largestKernel = Math.max(largestKernel, f32Bytes(w, w, 27));
    }
  }
  // A micro-batch of frames through the up blocks: resolution doubles after each of the first n − 1 blocks.
  const mb = cfg.microBatchSize;
  const n = s.blockOutChannels.length;
  for (let i = 0; i < n; i++) {
    const w = spatialUpWidth(s, i);
    const scale = 2 ** Math.min(i + 1, n - 1);
    const hw = H * scale * W * scale;
    run = Math.max(run, 3 * f32Bytes(mb, w, hw) + f32Bytes(w, 9, hw));
    largestKernel = Math.max(largestKernel, f32Bytes(w, w, 9));
  }
  // Mid-block attention over the latent pixels of a micro-batch.
  run = Math.max(run, 2 * f32Bytes(mb, H * W, H * W));
  // Kept: the latent, x_z and the decoded video (float32).
  const held =
    f32Bytes(B, latentChannelsOf(cfg), latent.frames, H, W) +
    f32Bytes(B, s.latentChannels, numFrames, H, W) +
    f32Bytes(B, s.outChannels, numFrames, H * f, W * f);
  const widen = precision === 'f32' ? 0 : 2 * largestKernel;
  return stageWork(run + held, widen, verifyBytes);
}
