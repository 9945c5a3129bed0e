/**
 * The block entry every stage of a block-set manifest lists (one weights file: path, size, hash, tensors, variants,
 * FLOP estimate). Each model family's manifest module (stdit3/denoise-manifest.ts, t5/text-manifest.ts,
 * vae/decode-manifest.ts) narrows its `id`; blockset/manifest.ts composes the stages.
 */
import { z } from 'zod';

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

/** One block file (the shape every stage's entries share). */
export const blockEntrySchema = z.object({
  /** The block's id within its stage; each stage's schema narrows it (`part1`, `block.{i}`, `spatial.out`, …). */
  id: z.string().min(1),
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
