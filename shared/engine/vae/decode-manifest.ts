/**
 * The block-set manifest's `stages.decode` (the VAE decoder): its zod schema, reading it from a block set, and the
 * per-block FLOP estimate stored with each entry. Block entries have the denoiser's shape (`blockEntrySchema`) with
 * decode block ids; they are run as `decode/<id>` under the CI-DL scheduler.
 */
import { z } from 'zod';
import { BlockSetError } from '../blockset/errors';
import { precisionSchema } from '../blockset/precision';
import { blockEntrySchema, type FlopReference } from '../blockset/block-entry';
import {
  spatialUpInWidth,
  spatialUpWidth,
  temporalStageInWidth,
  temporalStageUpsamples,
  temporalStageWidth,
  timeFactorOf,
  vaeConfigFromJson,
  vaeWeightNames,
  type VaeConfig,
} from './config';

/** The stage's `arch` tag. */
export const DECODE_ARCH = 'opensora-vae-v1.2';

/** A decode block id: `temporal.in`, `temporal.stage{i}`, `spatial.pre`, `spatial.up.{i}`, `spatial.out`. */
export const decodeBlockIdSchema = z
  .string()
  .regex(
    /^(temporal\.in|temporal\.stage(0|[1-9][0-9]*)|spatial\.pre|spatial\.up\.(0|[1-9][0-9]*)|spatial\.out)$/,
    'must be temporal.in, temporal.stage{i}, spatial.pre, spatial.up.{i} or spatial.out',
  );

/** One decode block file (the denoiser's block entry shape with a decode block id). */
export const decodeBlockEntrySchema = blockEntrySchema.extend({ id: decodeBlockIdSchema });
/** One decode block file. */
export type DecodeBlockEntry = z.infer<typeof decodeBlockEntrySchema>;

/** The VAE decoder stage. */
export const decodeStageSchema = z.object({
  arch: z.literal(DECODE_ARCH),
  /** The raw snake_case VAE config (see vae/config.ts), stored verbatim. */
  config: z.record(z.string(), z.unknown()),
  /** How the weights are stored (blockset/precision.ts); absent in sets from before precisions: f32. */
  precision: precisionSchema.optional(),
  blocks: z.array(decodeBlockEntrySchema).min(1),
});
/** The decode stage of a manifest. */
export type DecodeStage = z.infer<typeof decodeStageSchema>;

/** A validated decode stage with its parsed config. */
export interface ParsedDecodeStage {
  readonly stage: DecodeStage;
  readonly config: VaeConfig;
}

/**
 * Reads and validates `manifest.stages.decode` of a block-set manifest (`BlockSetManifest`): schema, config, and that the blocks are exactly
 * `vaeWeightNames(config)` (same ids in the same order, same tensors). Throws a BlockSetError naming `source`.
 */
export function readDecodeStage(
  manifest: { readonly stages: { readonly decode?: DecodeStage | undefined } },
  source: string,
): ParsedDecodeStage {
  const raw = manifest.stages.decode;
  if (raw === undefined)
    throw new BlockSetError(source, 'the block set has no decode stage (convert the VAE checkpoint into it)');
  const r = decodeStageSchema.safeParse(raw);
  if (!r.success) {
    const shown = r.error.issues
      .slice(0, 5)
      .map((i) => `stages.decode.${i.path.map(String).join('.')}: ${i.message}`)
      .join('; ');
    throw new BlockSetError(source, `invalid decode stage: ${shown}`);
  }
  let config: VaeConfig;
  try {
    config = vaeConfigFromJson(r.data.config);
  } catch (e) {
    throw new BlockSetError(source, `stages.decode.config: ${(e as Error).message}`);
  }
  const want = vaeWeightNames(config);
  const got = r.data.blocks;
  if (want.length !== got.length || want.some((g, i) => g.id !== got[i]?.id))
    throw new BlockSetError(
      source,
      `stages.decode.blocks are [${got.map((b) => b.id).join(', ')}], the config needs [${want.map((g) => g.id).join(', ')}]`,
    );
  for (const [i, g] of want.entries()) {
    const names = got[i]?.tensors ?? [];
    if (names.length !== g.keys.length || g.keys.some((k, j) => k.name !== names[j]))
      throw new BlockSetError(
        source,
        `stages.decode block "${g.id}" lists other tensors than the config needs`,
        g.id,
      );
  }
  return { stage: r.data, config };
}

/** The reference decode the FLOP estimates refer to: 68 frames (20 latents) of 32×32 latents (256×256), batch 1. */
export function defaultVaeFlopReference(): FlopReference {
  // captionLength is not used by the decoder; 1 keeps the shared reference shape valid.
  return { frames: 20, height: 32, width: 32, captionLength: 1 };
}

/**
 * Estimated multiply-add FLOPs of each decode block over a whole decode at `ref` (batch 1), counting convolutions
 * (2·Cout·Cin·k^d per output position) and attention matrix products only. Temporal blocks are summed over the
 * 5-latent chunks (pixel frames = the largest count `ref.frames` latents decode to), spatial blocks over every frame.
 */
export function estimateVaeFlops(cfg: VaeConfig, ref: FlopReference): Map<string, number> {
  const out = new Map<string, number>();
  const { height: H, width: W } = ref;
  const t = cfg.temporalVae;
  const factor = timeFactorOf(cfg);
  let frames = ref.frames;
  if (t) {
    // Whole chunks of microZ latents decode to microFrameSize frames each (a remainder to ceil·factor at most).
    const step = Math.ceil(cfg.microFrameSize / factor);
    frames = 0;
    for (let z = 0; z < ref.frames; z += step) {
      const zk = Math.min(step, ref.frames - z);
      frames += zk === step ? cfg.microFrameSize : zk * factor;
    }
    const conv = (cout: number, cin: number, k: number, T: number): number =>
      2 * cout * cin * k ** 3 * T * H * W;
    const res = (cin: number, cout: number, T: number): number =>
      conv(cout, cin, 3, T) + conv(cout, cout, 3, T) + (cin === cout ? 0 : conv(cout, cin, 1, T));
    const n = t.channelMultipliers.length;
    const top = temporalStageWidth(t, n - 1);
    const T0 = ref.frames;
    out.set(
      'temporal.in',
      conv(t.latentEmbedDim, t.embedDim, 1, T0) +
        conv(top, t.latentEmbedDim, 3, T0) +
        t.numResBlocks * res(top, top, T0),
    );
    let T = T0;
    for (let i = n - 1; i >= 0; i--) {
      const w = temporalStageWidth(t, i);
      let f = res(temporalStageInWidth(t, i), w, T) + (t.numResBlocks - 1) * res(w, w, T);
      if (temporalStageUpsamples(t, i)) {
        f += conv(2 * w, w, 3, T);
        T *= 2;
      }
      if (i === 0) f += conv(t.inOutChannels, w, 3, T);
      out.set(`temporal.stage${i}`, f);
    }
  } else {
    frames = ref.frames;
  }
  const s = cfg.spatial;
  const L = s.latentChannels;
  const C = spatialUpWidth(s, 0);
  const conv2 = (cout: number, cin: number, k: number, hw: number): number =>
    2 * cout * cin * k * k * hw * frames;
  const res2 = (cin: number, cout: number, hw: number): number =>
    conv2(cout, cin, 3, hw) + conv2(cout, cout, 3, hw) + (cin === cout ? 0 : conv2(cout, cin, 1, hw));
  const hw0 = H * W;
  out.set(
    'spatial.pre',
    conv2(L, L, 1, hw0) +
      conv2(C, L, 3, hw0) +
      2 * res2(C, C, hw0) +
      frames * (4 * 2 * hw0 * C * C + 4 * hw0 * hw0 * C),
  );
  const nUp = s.blockOutChannels.length;
  for (let i = 0; i < nUp; i++) {
    const hw = hw0 * 4 ** i;
    const cout = spatialUpWidth(s, i);
    let f = res2(spatialUpInWidth(s, i), cout, hw) + s.layersPerBlock * res2(cout, cout, hw);
    if (i < nUp - 1) f += conv2(cout, cout, 3, 4 * hw);
    out.set(`spatial.up.${i}`, f);
  }
  out.set('spatial.out', conv2(s.outChannels, s.blockOutChannels[0] as number, 3, hw0 * 4 ** (nUp - 1)));
  return out;
}
