/**
 * The block-set manifest (`manifest.json`): a versioned description of the converted model, one entry per block
 * file. Stages are optional keys of known kinds — `denoiser` (STDiT3), `text` (T5), `decode` (VAE), each with its
 * family's schema — so a stage can be added to a set without a version bump; keys of other kinds (stages of later
 * builds) are kept unvalidated, and `manifestBlocks` walks their well-formed block entries too.
 */
import { z } from 'zod';
import { denoiserStageSchema } from '../stdit3/denoise-manifest';
import { textStageSchema } from '../t5/text-manifest';
import { decodeStageSchema } from '../vae/decode-manifest';
import type { BlockEntry } from './block-entry';
import { BlockSetError } from './errors';
import type { Precision } from './precision';

/** The manifest version this build writes and reads. */
export const BLOCKSET_VERSION = 1;
/** The manifest's `format` tag. */
export const BLOCKSET_FORMAT = 'odsora-blockset';
/** The manifest's file name inside a block-set directory. */
export const MANIFEST_FILE = 'manifest.json';
/** Present while a multi-stage conversion is still writing the block set: such a directory does not open. */
export const CONVERTING_MARKER = '.converting';

/** The whole manifest. Unknown keys in `stages` are tolerated (stages added by later builds). */
export const blockSetManifestSchema = z.object({
  format: z.literal(BLOCKSET_FORMAT),
  version: z.literal(BLOCKSET_VERSION),
  createdBy: z.string(),
  model: z.object({ family: z.literal('opensora-v1.2'), name: z.string().min(1) }),
  stages: z.looseObject({
    denoiser: denoiserStageSchema.optional(),
    text: textStageSchema.optional(),
    decode: decodeStageSchema.optional(),
  }),
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

/** A block entry as the walk yields it: the typed entry of a known stage, the checked basics of another. */
export type ManifestBlock = Pick<BlockEntry, 'id' | 'file' | 'bytes'> & { readonly sha256?: string };

/**
 * Every block of every stage, as `{ stage, block }`: the denoiser's first, then the other stages in manifest order.
 * Stages of kinds this build does not know (later builds) are walked too, as far as their entries have a string
 * `id` and `file` and a numeric `bytes` (others are skipped, as they always were: nothing here reads them).
 */
export function* manifestBlocks(
  manifest: BlockSetManifest,
): Generator<{ readonly stage: string; readonly block: ManifestBlock }> {
  for (const block of manifest.stages.denoiser?.blocks ?? []) yield { stage: 'denoiser', block };
  for (const [stage, value] of Object.entries(manifest.stages)) {
    if (stage === 'denoiser') continue;
    if (stage === 'text' || stage === 'decode') {
      for (const block of manifest.stages[stage]?.blocks ?? []) yield { stage, block };
      continue;
    }
    const blocks = (value as { blocks?: unknown } | null | undefined)?.blocks;
    if (!Array.isArray(blocks)) continue;
    for (const b of blocks as unknown[]) {
      if (typeof b !== 'object' || b === null) continue;
      const { id, file, bytes, sha256 } = b as Record<string, unknown>;
      if (typeof id === 'string' && typeof file === 'string' && typeof bytes === 'number')
        yield { stage, block: { id, file, bytes, ...(typeof sha256 === 'string' ? { sha256 } : {}) } };
    }
  }
}
