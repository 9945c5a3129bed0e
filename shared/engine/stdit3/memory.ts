/**
 * The denoise stage's memory besides its block weights (cidl/memory-limit.ts), estimated from the job's shapes.
 * Calibrated against measured peaks of the full-size STDiT3-XL on this machine's ONNX Runtime (docs/benchmarks/).
 */
import { f32Bytes, stageWork, type StageWork } from '../cidl/memory-limit';
import type { Precision } from '../blockset/precision';
import { stdit3Dims, type Stdit3Config, type Stdit3Shape } from './config';

/** Memory of the denoise stage at `shape` (batch 2 under CFG) with weights stored as `precision`. */
export function denoiseStageWork(
  cfg: Stdit3Config,
  shape: Stdit3Shape,
  precision: Precision,
  verifyBytes: number,
): StageWork {
  const d = stdit3Dims(cfg, shape);
  const { B, C, S, L, heads, mlpHidden: F } = d;
  const T = d.Tp;
  const N = T * S;
  // A pair run: the largest attention scores (spatial, temporal or cross) and their softmax, the MLP's [B·N, F]
  // intermediates, the [B·N, C] projections and residuals, and the captions' keys and values.
  const scores = Math.max(
    f32Bytes(B * T, heads, S, S),
    f32Bytes(B * S, heads, T, T),
    f32Bytes(B, heads, N, L),
  );
  const run = 2 * scores + 3 * f32Bytes(B, N, F) + 6 * f32Bytes(B, N, C) + f32Bytes(B, L, 2 * C);
  // Kept between runs: the CFG caption batch [2, L, Cc], its projection [B, L, C], the token states and latents.
  const held = f32Bytes(2, L, cfg.captionChannels) + f32Bytes(B, L, C) + 4 * f32Bytes(B, N, C);
  // f16/int8: the widened MLP matrices of a block while they run.
  const widen = precision === 'f32' ? 0 : 2 * f32Bytes(F, C);
  return stageWork(run + held, widen, verifyBytes);
}
