/**
 * The denoise stage's memory besides its block weights (cidl/memory-limit.ts), from the job's shapes: the sessions
 * of part1, the block pair (plus its TDTM variant when merging) and part2, widened f16/int8 weights included.
 * Checked against measured peaks (docs/memory.md).
 */
import { f32Bytes, widenBytesOf, type StageSessions } from '../cidl/memory-limit';
import type { Precision } from '../blockset/precision';
import { stdit3Dims, stdit3WeightNames, type Stdit3Config, type Stdit3Shape } from './config';

/** The denoise stage's sessions at `shape` (batch 2 under CFG) with weights stored as `precision`. */
export function denoiseSessions(
  cfg: Stdit3Config,
  shape: Stdit3Shape,
  precision: Precision,
  opts: { tdtm?: boolean } = {},
): StageSessions {
  const d = stdit3Dims(cfg, shape);
  const { B, C, S, L, heads, mlpHidden: F } = d;
  const N = d.Tp * S;
  const widen = new Map(stdit3WeightNames(cfg).map((g) => [g.id, widenBytesOf(g.keys, precision)]));
  // A pair run: the largest attention scores (spatial, temporal or cross, over Ta attended frames) and their
  // softmax, the MLP's [B·N, F] intermediates, the [B·N, C] projections and residuals, the captions' keys/values.
  const pairRun = (Ta: number): number =>
    2 *
      Math.max(f32Bytes(B * Ta, heads, S, S), f32Bytes(B * S, heads, Ta, Ta), f32Bytes(B, heads, Ta * S, L)) +
    3 * f32Bytes(B, N, F) +
    6 * f32Bytes(B, N, C) +
    f32Bytes(B, L, 2 * C);
  const tdtm = (opts.tdtm ?? false) && d.Tp >= 2;
  const pairWiden = widen.get('pair.0') ?? 0;
  const pair = {
    key: 'pair',
    activationBytes: pairRun(d.Tp) + (tdtm ? pairRun(Math.floor(d.Tp / 2)) : 0),
    widenBytes: pairWiden * (tdtm ? 2 : 1),
  };
  const part1 = {
    key: 'part1',
    activationBytes: f32Bytes(B, L, cfg.captionChannels) + 3 * f32Bytes(B, L, C) + 3 * f32Bytes(B, N, C),
    widenBytes: widen.get('part1') ?? 0,
  };
  const part2 = { key: 'part2', activationBytes: 3 * f32Bytes(B, N, C), widenBytes: widen.get('part2') ?? 0 };
  return {
    // The CFG caption batch [2, L, Cc], its projection [B, L, C], the token states and latents.
    heldBytes: f32Bytes(2, L, cfg.captionChannels) + f32Bytes(B, L, C) + 4 * f32Bytes(B, N, C),
    sessionOf: (id) => (id === 'part1' ? part1 : id === 'part2' ? part2 : pair),
  };
}
