/**
 * The decode stage's memory besides its block weights (cidl/memory-limit.ts), estimated from the decode's shapes.
 * Calibrated against measured peaks of the full-size Open-Sora v1.2 VAE on this machine's ONNX Runtime
 * (docs/benchmarks/).
 */
import { f32Bytes, widenBytesOf, type StageSessions } from '../cidl/memory-limit';
import type { Precision } from '../blockset/precision';
import {
  latentChannelsOf,
  microZFrameSize,
  spatialFactorOf,
  spatialUpWidth,
  temporalStageWidth,
  timeFactorOf,
  vaeWeightNames,
  type VaeConfig,
} from './config';

/** Widened weights per decode block. */
function decodeBlockWiden(cfg: VaeConfig, precision: Precision): Map<string, number> {
  return new Map(vaeWeightNames(cfg).map((g) => [g.id, widenBytesOf(g.keys, precision)]));
}

/**
 * The decode stage's sessions for a latent [B, C, T, H, W] decoded into `numFrames` frames with weights stored as
 * `precision`. Each (block, input shape) is its own session whose arena keeps its working set: measured on the
 * released VAE (docs/memory.md) as about 4 × the block's output activation (input, output and two intermediates of
 * its widest layer), plus a 16 MiB scratch for the Conv3d blocks. A block run at two shapes (a shorter last chunk
 * or micro-batch) has both sessions; they are counted together under the block.
 */
export function decodeSessions(
  cfg: VaeConfig,
  latent: { batch: number; frames: number; height: number; width: number },
  numFrames: number,
  precision: Precision,
): StageSessions {
  const { batch: B, height: H, width: W } = latent;
  const s = cfg.spatial;
  const f = spatialFactorOf(cfg);
  const widen = decodeBlockWiden(cfg, precision);
  const bytes = new Map<string, number>();
  const add = (id: string, b: number): void => void bytes.set(id, (bytes.get(id) ?? 0) + b);
  const t = cfg.temporalVae;
  if (t) {
    const step = microZFrameSize(cfg.microFrameSize, timeFactorOf(cfg));
    const n = t.channelMultipliers.length;
    const ups = t.temporalDownsample.filter((x) => x).length;
    const scratch = 16 * 2 ** 20;
    for (const zt of new Set([Math.min(latent.frames, step), latent.frames % step || step])) {
      add('temporal.in', 4 * f32Bytes(B, temporalStageWidth(t, n - 1), zt, H, W) + scratch);
      for (let i = n - 1; i >= 0; i--)
        add(
          `temporal.stage${i}`,
          4 * f32Bytes(B, temporalStageWidth(t, i), zt * 2 ** Math.min(n - i, ups), H, W) + scratch,
        );
    }
  }
  const mb = cfg.microBatchSize;
  const frames = B * numFrames;
  const n = s.blockOutChannels.length;
  for (const m of new Set([Math.min(mb, frames), frames % mb || mb])) {
    let res = H * W;
    add('spatial.pre', 4 * f32Bytes(m, spatialUpWidth(s, 0), res));
    for (let i = 0; i < n; i++) {
      if (i < n - 1) res *= 4;
      add(`spatial.up.${i}`, 4 * f32Bytes(m, spatialUpWidth(s, i), res));
    }
    add('spatial.out', 4 * f32Bytes(m, s.outChannels, res));
  }
  return {
    // The latent, x_z and the decoded video (float32).
    heldBytes:
      f32Bytes(B, latentChannelsOf(cfg), latent.frames, H, W) +
      f32Bytes(B, s.latentChannels, numFrames, H, W) +
      f32Bytes(B, s.outChannels, numFrames, H * f, W * f),
    sessionOf: (id) => {
      const b = bytes.get(id);
      return b === undefined ? null : { key: id, activationBytes: b, widenBytes: widen.get(id) ?? 0 };
    },
  };
}
