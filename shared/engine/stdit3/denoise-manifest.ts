/**
 * The block-set manifest's `stages.denoiser` (STDiT3): its zod schema (block ids `part1`, `pair.{i}`, `part2`) and
 * the FLOP estimate stored with each block entry.
 */
import { z } from 'zod';
import { blockEntrySchema, type BlockVariant, type FlopReference } from '../blockset/block-entry';
import { precisionSchema } from '../blockset/precision';
import type { Stdit3Config } from './config';
import { stdit3Dims } from './config';

/** One denoiser block file: `part1`, `pair.{i}` or `part2`. */
export const denoiserBlockEntrySchema = blockEntrySchema.extend({
  id: z.string().regex(/^(part1|part2|pair\.(0|[1-9][0-9]*))$/, 'must be part1, part2 or pair.{i}'),
});
/** One denoiser block file. */
export type DenoiserBlockEntry = z.infer<typeof denoiserBlockEntrySchema>;

/** The STDiT3 denoiser stage. */
export const denoiserStageSchema = z.object({
  arch: z.literal('stdit3'),
  /** The raw snake_case model config (Open-Sora / Hugging Face config.json). */
  config: z.record(z.string(), z.unknown()),
  /** How the weights are stored (blockset/precision.ts); absent in sets from before precisions: f32. */
  precision: precisionSchema.optional(),
  blocks: z.array(denoiserBlockEntrySchema).min(1),
});
/** The denoiser stage of a manifest. */
export type DenoiserStage = z.infer<typeof denoiserStageSchema>;

/**
 * Estimated multiply-add FLOPs of each STDiT3 block for one forward pass at batch 1 (CFG doubles them), counting
 * matrix products only (norms, softmax, modulation and other elementwise work are O(N·C) and ignored):
 *
 * - a linear layer over M rows, K inputs, N outputs costs 2·M·K·N;
 * - attention over G groups of length Lq queries and Lk keys with width C costs 2·G·Lq·Lk·C for QKᵀ plus the same
 *   for AV, i.e. 4·G·Lq·Lk·C.
 *
 * With N = T·S tokens (T patch frames, S = Hp·Wp), L caption tokens, hidden C, MLP width F, one block costs
 *   qkv 2·N·C·3C + self-attention (spatial: 4·T·S²·C; temporal: 4·S·T²·C) + proj 2·N·C² +
 *   cross q 2·N·C² + cross kv 2·L·C·2C + cross attention 4·N·L·C + cross proj 2·N·C² + MLP 2·2·N·C·F,
 * and a pair is one spatial plus one temporal block. TDTM runs self- and cross-attention (with their q/kv/proj
 * layers, except the caption kv) on the merged T_m = floor(T/2) frames; the MLP stays at full N.
 * part1: patch embedding 2·N·C·(Cin·pT·pH·pW) + timestep and fps MLPs 2·2·(256·C + C²) + t_block 2·C·6C +
 * caption MLP 2·L·(Cc·C + C²). part2: final linear 2·N·C·(pT·pH·pW·Cout).
 */
export function estimateStdit3Flops(
  config: Stdit3Config,
  shape: FlopReference,
  variant: BlockVariant,
): { part1: number; pair: number; part2: number } {
  const d = stdit3Dims(config, { batch: 1, ...shape });
  const { C, S, L, mlpHidden: F } = d;
  const [pT, pH, pW] = config.patchSize;
  const T = d.Tp;
  const N = T * S;
  const Ta = variant === 'tdtm' ? Math.floor(T / 2) : T;
  const Na = Ta * S;
  const mixing = (selfAttn: number): number =>
    2 * Na * C * 3 * C +
    selfAttn +
    2 * Na * C * C +
    2 * Na * C * C +
    2 * L * C * 2 * C +
    4 * Na * L * C +
    2 * Na * C * C;
  const mlp = 2 * 2 * N * C * F;
  const spatial = mixing(4 * Ta * S * S * C) + mlp;
  const temporal = mixing(4 * S * Ta * Ta * C) + mlp;
  const part1 =
    2 * N * C * (config.inChannels * pT * pH * pW) +
    2 * 2 * (256 * C + C * C) +
    2 * C * 6 * C +
    2 * L * (config.captionChannels * C + C * C);
  const part2 = 2 * N * C * (pT * pH * pW * d.Cout);
  return { part1, pair: spatial + temporal, part2 };
}
