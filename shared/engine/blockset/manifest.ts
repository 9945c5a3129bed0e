/**
 * The block-set manifest (`manifest.json`): a versioned description of the converted model, one entry per block
 * file. Stages are optional keys, so `text` (T5) and `decode` (VAE) can be added later without a version bump;
 * readers ignore stages they do not know.
 */
import { z } from 'zod';
import type { Stdit3Config } from '../stdit3/config';
import { stdit3Dims } from '../stdit3/config';
import { BlockSetError } from './errors';
import { precisionSchema, type Precision } from './precision';

/** The manifest version this build writes and reads. */
export const BLOCKSET_VERSION = 1;
/** The manifest's `format` tag. */
export const BLOCKSET_FORMAT = 'odsora-blockset';
/** The manifest's file name inside a block-set directory. */
export const MANIFEST_FILE = 'manifest.json';
/** Present while a multi-stage conversion is still writing the block set: such a directory does not open. */
export const CONVERTING_MARKER = '.converting';

/** Latent sizes a block's FLOP estimate was computed for (batch 1). */
export const flopReferenceSchema = z.object({
  /** Latent frames T. */
  frames: z.number().int().positive(),
  /** Latent height H. */
  height: z.number().int().positive(),
  /** Latent width W. */
  width: z.number().int().positive(),
  /** Caption tokens L. */
  captionLength: z.number().int().positive(),
});
/** Latent sizes a FLOP estimate refers to. */
export type FlopReference = z.infer<typeof flopReferenceSchema>;

/** Variants a block can run as; a pair's TDTM variant uses the same weights file. */
export const blockVariantSchema = z.enum(['plain', 'tdtm']);
/** A block variant. */
export type BlockVariant = z.infer<typeof blockVariantSchema>;

/** A relative, '/'-separated path that stays inside the block-set directory. */
const relativeFile = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p) && !p.includes('\\'),
    'must be a relative / path',
  )
  .refine(
    (p) => p.split('/').every((seg) => seg !== '..' && seg !== '' && seg !== '.'),
    'must stay inside the block set',
  );

/** One block file. */
export const blockEntrySchema = z.object({
  /** `part1`, `pair.{i}` or `part2`. */
  id: z.string().regex(/^(part1|part2|pair\.(0|[1-9][0-9]*))$/, 'must be part1, part2 or pair.{i}'),
  file: relativeFile,
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  /** Full Open-Sora key names, in file order. */
  tensors: z.array(z.string().min(1)).min(1),
  variants: z.array(blockVariantSchema).min(1),
  flops: z.object({
    reference: flopReferenceSchema,
    plain: z.number().nonnegative(),
    tdtm: z.number().nonnegative().optional(),
  }),
});
/** One block file of a stage. */
export type BlockEntry = z.infer<typeof blockEntrySchema>;

/** The STDiT3 denoiser stage. */
export const denoiserStageSchema = z.object({
  arch: z.literal('stdit3'),
  /** The raw snake_case model config (Open-Sora / Hugging Face config.json). */
  config: z.record(z.string(), z.unknown()),
  /** How the weights are stored (blockset/precision.ts); absent in sets from before precisions: f32. */
  precision: precisionSchema.optional(),
  blocks: z.array(blockEntrySchema).min(1),
});
/** The denoiser stage of a manifest. */
export type DenoiserStage = z.infer<typeof denoiserStageSchema>;

/** The whole manifest. Unknown keys in `stages` are tolerated (stages added by later builds). */
export const blockSetManifestSchema = z.object({
  format: z.literal(BLOCKSET_FORMAT),
  version: z.literal(BLOCKSET_VERSION),
  createdBy: z.string(),
  model: z.object({ family: z.literal('opensora-v1.2'), name: z.string().min(1) }),
  stages: z.looseObject({ denoiser: denoiserStageSchema.optional() }),
});
/** A validated block-set manifest. */
export type BlockSetManifest = z.infer<typeof blockSetManifestSchema>;

function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

/** A stage's storage precision (`f32` when the manifest predates precisions). */
export function stagePrecision(stage: { readonly precision?: Precision | undefined }): Precision {
  return stage.precision ?? 'f32';
}

/** Validates a parsed manifest; throws a BlockSetError naming `source` and the bad fields. */
export function parseManifest(json: unknown, source: string): BlockSetManifest {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new BlockSetError(source, 'manifest is not a JSON object');
  const head = json as Record<string, unknown>;
  if (head['format'] !== BLOCKSET_FORMAT)
    throw new BlockSetError(
      source,
      `not a block-set manifest (format is ${JSON.stringify(head['format'])}, expected "${BLOCKSET_FORMAT}")`,
    );
  if (head['version'] !== BLOCKSET_VERSION)
    throw new BlockSetError(
      source,
      `block-set version ${JSON.stringify(head['version'])} is not supported (this build reads version ${BLOCKSET_VERSION}); convert the checkpoint again with this build`,
    );
  const r = blockSetManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues;
    const shown = issues.slice(0, 5).map((i) => `${pathOf(i.path)}: ${i.message}`);
    const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
    throw new BlockSetError(source, `invalid manifest: ${shown.join('; ')}${more}`);
  }
  const ids = new Set<string>();
  for (const b of r.data.stages.denoiser?.blocks ?? []) {
    if (ids.has(b.id))
      throw new BlockSetError(source, `invalid manifest: block id "${b.id}" appears twice`, b.id);
    ids.add(b.id);
  }
  return r.data;
}

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
