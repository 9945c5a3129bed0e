/**
 * The block-set manifest's `stages.text` (T5 encoder): schema, validation and the FLOP estimate of its blocks.
 * Block entries have the denoiser's entry shape (so `BlockSet.loadBlock` reads them), with text-stage ids.
 */
import { z } from 'zod';
import { blockEntrySchema, type FlopReference } from '../blockset/block-entry';
import { BlockSetError } from '../blockset/errors';
import { precisionSchema } from '../blockset/precision';
import { t5ConfigFromJson, type T5Config } from './config';

/** The tokenizer's path inside a block set, when the conversion was given a `tokenizer.json`. */
export const TEXT_TOKENIZER_FILE = 'text/tokenizer.json';
/** The tokenizer's path inside a block set, when the conversion was given only a SentencePiece `spiece.model`. */
export const TEXT_SPIECE_FILE = 'text/spiece.model';

/** One text-stage block file: the denoiser's entry shape with ids `embed`, `block.{i}` or `final`. */
export const textBlockEntrySchema = blockEntrySchema.extend({
  id: z.string().regex(/^(embed|final|block\.(0|[1-9][0-9]*))$/, 'must be embed, final or block.{i}'),
});
/** One text-stage block file. */
export type TextBlockEntry = z.infer<typeof textBlockEntrySchema>;

/** The T5 encoder stage. */
export const textStageSchema = z.object({
  arch: z.literal('t5-encoder'),
  /** The raw Hugging Face T5Config JSON. */
  config: z.record(z.string(), z.unknown()),
  /** `text/tokenizer.json` or `text/spiece.model` when the block set carries the tokenizer, else null. */
  tokenizer: z.enum([TEXT_TOKENIZER_FILE, TEXT_SPIECE_FILE]).nullable(),
  /** How the weights are stored (blockset/precision.ts); absent in sets from before precisions: f32. */
  precision: precisionSchema.optional(),
  blocks: z.array(textBlockEntrySchema).min(1),
});
/** The text stage of a manifest. */
export type TextStage = z.infer<typeof textStageSchema>;

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/**
 * Validates `manifest.stages.text`: schema, config, and block ids exactly `embed, block.0 … block.{N−1}, final` in
 * that order. Throws a BlockSetError naming `source`.
 */
export function parseTextStage(json: unknown, source: string): { stage: TextStage; config: T5Config } {
  const r = textStageSchema.safeParse(json);
  if (!r.success) {
    const shown = r.error.issues.slice(0, 5).map((i) => `stages.text${pathOf(i.path)}: ${i.message}`);
    throw new BlockSetError(source, `invalid text stage: ${shown.join('; ')}`);
  }
  let config: T5Config;
  try {
    config = t5ConfigFromJson(r.data.config);
  } catch (e) {
    throw new BlockSetError(source, `invalid text stage: stages.text.config: ${(e as Error).message}`);
  }
  const want = ['embed', ...Array.from({ length: config.numLayers }, (_, i) => `block.${i}`), 'final'];
  const got = r.data.blocks.map((b) => b.id);
  if (got.length !== want.length || got.some((id, i) => id !== want[i]))
    throw new BlockSetError(
      source,
      `invalid text stage: blocks are [${got.join(', ')}], expected [${want.join(', ')}] for num_layers ${config.numLayers}`,
    );
  return { stage: r.data, config };
}

/**
 * The text stage of a validated block-set manifest (`BlockSetManifest`) with its parsed config; throws when it has
 * none or its config or block ids are invalid.
 */
export function textStageOf(
  manifest: { readonly stages: { readonly text?: TextStage | undefined } },
  source = 'manifest.json',
): { stage: TextStage; config: T5Config } {
  const raw = manifest.stages.text;
  if (raw === undefined)
    throw new BlockSetError(source, 'the block set has no text stage (convert the T5 checkpoint into it)');
  return parseTextStage(raw, source);
}

/** The FLOP reference of text blocks: only the token count matters (frames, height and width are 1). */
export function textFlopReference(length: number): FlopReference {
  return { frames: 1, height: 1, width: 1, captionLength: length };
}

/**
 * Estimated multiply-add FLOPs of each text block for one prompt of L tokens (matrix products only, as
 * `estimateStdit3Flops`): a block is q/k/v/o 4·2·L·D·I (I = H·d_kv) + attention 4·L²·I + feed-forward 3·2·L·D·F;
 * `embed` (a row copy) and `final` (a norm) count 0.
 */
export function estimateT5Flops(
  cfg: T5Config,
  length: number,
): { embed: number; block: number; final: number } {
  const L = length;
  const D = cfg.dModel;
  const I = cfg.numHeads * cfg.dKv;
  const F = cfg.dFf;
  return { embed: 0, block: 8 * L * D * I + 4 * L * L * I + 6 * L * D * F, final: 0 };
}
