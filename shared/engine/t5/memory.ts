/**
 * The text stage's memory besides its block weights (cidl/memory-limit.ts), from the encoder's shapes: the block
 * graph's session (scores, the gated feed-forward, projections; widened f16/int8 weights) and the final norm's;
 * the embedding is looked up in TypeScript. Checked against measured peaks (docs/memory.md).
 */
import { f32Bytes, widenBytesOf, type StageSessions } from '../cidl/memory-limit';
import type { Precision } from '../blockset/precision';
import { t5WeightNames, type T5Config, type T5Shape } from './config';

/** The text stage's sessions for one encode of `shape` with weights stored as `precision`. */
export function textSessions(cfg: T5Config, shape: T5Shape, precision: Precision): StageSessions {
  const { batch: B, length: L } = shape;
  const D = cfg.dModel;
  const H = cfg.numHeads;
  const I = H * cfg.dKv;
  const F = cfg.dFf;
  const groups = t5WeightNames(cfg);
  const widen = Math.max(
    0,
    ...groups.filter((g) => g.id.startsWith('block.')).map((g) => widenBytesOf(g.keys, precision)),
  );
  // A block run: scores and their softmax [B, H, L, L]; the gated feed-forward's [B·L, F] intermediates; the
  // [B·L, D | I] projections and residuals. The final norm: a hidden state in and out.
  const block = {
    key: 'block',
    activationBytes: 2 * f32Bytes(B, H, L, L) + 4 * f32Bytes(B, L, F) + 4 * f32Bytes(B, L, Math.max(D, I)),
    widenBytes: widen,
  };
  const final = { key: 'final', activationBytes: 2 * f32Bytes(B, L, D), widenBytes: 0 };
  return {
    // The attention bias [B, H, L, L] and a few hidden-state arrays [B, L, D].
    heldBytes: f32Bytes(B, H, L, L) + 3 * f32Bytes(B, L, D),
    sessionOf: (id) => (id === 'embed' ? null : id === 'final' ? final : block),
  };
}
