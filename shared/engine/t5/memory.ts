/**
 * The text stage's memory besides its block weights (cidl/memory-limit.ts), estimated from the encoder's shapes.
 * Calibrated against measured peaks of the full-size T5-XXL on this machine's ONNX Runtime (docs/benchmarks/).
 */
import { f32Bytes, stageWork, type StageWork } from '../cidl/memory-limit';
import type { Precision } from '../blockset/precision';
import type { T5Config, T5Shape } from './config';

/** Memory of the text stage for one encode of `shape` with weights stored as `precision`. */
export function textStageWork(
  cfg: T5Config,
  shape: T5Shape,
  precision: Precision,
  verifyBytes: number,
): StageWork {
  const { batch: B, length: L } = shape;
  const D = cfg.dModel;
  const H = cfg.numHeads;
  const I = H * cfg.dKv;
  const F = cfg.dFf;
  // A block run: scores and their softmax [B, H, L, L]; the gated feed-forward's [B·L, F] intermediates; the
  // [B·L, D | I] projections and residuals.
  const run = 2 * f32Bytes(B, H, L, L) + 4 * f32Bytes(B, L, F) + 4 * f32Bytes(B, L, Math.max(D, I));
  // Kept between runs: the attention bias [B, H, L, L] and a few hidden-state arrays [B, L, D].
  const held = f32Bytes(B, H, L, L) + 3 * f32Bytes(B, L, D);
  // f16/int8: DequantizeLinear / Cast outputs live while their MatMul runs; the two gate matrices overlap.
  const widen = precision === 'f32' ? 0 : 2 * f32Bytes(F, D);
  return stageWork(run + held, widen, verifyBytes);
}
