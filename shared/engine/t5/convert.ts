/**
 * T5 encoder checkpoint (Hugging Face safetensors, one file or shards) → the block set's text stage: one float32
 * safetensors file per CI-DL block under `text/` and the `stages.text` manifest entry. Tensors are read one at a
 * time straight into the block being assembled; each block is hashed and written before the next is started, so
 * memory stays bounded by the largest block (the 526 MB embedding table for XXL) however large the checkpoint is.
 */
import { MANIFEST_FILE, parseManifest, type BlockSetManifest } from '../blockset/manifest';
import { BlockSetError } from '../blockset/errors';
import {
  blockFileName,
  commitStage,
  discardStaging,
  mergeStage,
  newManifest,
  openStageCheckpoint,
  type CheckpointSource,
  parseStageConfig,
  planStaging,
  readTargetBlockSet,
  streamBlocks,
  validateCheckpoint,
  type StreamConvertProgress,
} from '../blockset/stream-convert';
import type { BlockBufferPool } from '../blockset/buffer-pool';
import type { Precision } from '../blockset/precision';
import type { FileSystemPort, Sha256 } from '../ports';
import { utf8Decode } from '../safetensors/utf8';
import { t5ConfigFromJson, t5WeightNames, T5_EMBED_ALIAS, T5_EMBED_KEY } from './config';
import { T5_MAX_LENGTH, T5Tokenizer } from './tokenizer';
import {
  estimateT5Flops,
  parseTextStage,
  textFlopReference,
  TEXT_SPIECE_FILE,
  TEXT_TOKENIZER_FILE,
  type TextBlockEntry,
  type TextStage,
} from './text-manifest';

/** Progress of a T5 conversion. */
export type T5ConvertProgress = StreamConvertProgress;

/** What `convertT5` needs. */
export interface ConvertT5Options {
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
  /**
   * The checkpoint: explicit files (safetensors or PyTorch `.bin`, one or the shards, in any order) or a Hugging
   * Face checkpoint directory (sharded with an index or single; DeepFloyd/t5-v1_1-xxl ships `.bin` shards).
   */
  readonly checkpoint: CheckpointSource;
  /** The Hugging Face T5Config JSON, stored verbatim in the manifest. */
  readonly config: unknown;
  /**
   * The tokenizer to carry in the block set (validated by building it first): a `tokenizer.json`
   * (→ `text/tokenizer.json`) or a SentencePiece `spiece.model` (→ `text/spiece.model`).
   */
  readonly tokenizerPath?: string;
  /**
   * The block-set directory: an existing block set (its manifest gains `stages.text`, other stages are kept;
   * it must not have a text stage yet) or a path that does not exist (a new block set with only the text stage).
   */
  readonly outDir: string;
  /** `model.name` of a new block set's manifest (default `t5-encoder`). */
  readonly modelName?: string;
  /** Checkpoint keys to skip; `decoder.*` and `lm_head.weight` are always skipped (T5EncoderModel ignores them). */
  readonly ignoreKeys?: readonly string[];
  /** Token count the manifest's FLOP estimates refer to (default 300). */
  readonly flopLength?: number;
  /** `createdBy` of a new manifest (default `odsora <engine version>`). */
  readonly createdBy?: string;
  /** How the blocks store their weights (default f32; int8 is the paper's choice for T5; see precision.ts). */
  readonly precision?: Precision;
  /** Pooled block buffers (bounded memory over a multi-GB checkpoint). */
  readonly memory?: BlockBufferPool;
  readonly onProgress?: (p: T5ConvertProgress) => void;
}

/** What `convertT5` produced. */
export interface ConvertT5Result {
  readonly outDir: string;
  /** The `stages.text` entry (already written into `outDir/manifest.json`). */
  readonly stage: TextStage;
  /** The whole manifest as written. */
  readonly manifest: BlockSetManifest;
  /** Sum of the text block files' sizes. */
  readonly bytes: number;
}

const alwaysIgnored = (name: string): boolean => name.startsWith('decoder.') || name === 'lm_head.weight';

/** The checkpoint key the embedding is read from: `shared.weight`, else `encoder.embed_tokens.weight`. */
function embedSource(where: ReadonlyMap<string, unknown>): string | null {
  if (where.has(T5_EMBED_KEY)) return T5_EMBED_KEY;
  if (where.has(T5_EMBED_ALIAS)) return T5_EMBED_ALIAS;
  return null;
}

/** Converts a T5 encoder checkpoint into a block set's text stage (see the module comment). */
export async function convertT5(opts: ConvertT5Options): Promise<ConvertT5Result> {
  const { fs, sha256, outDir } = opts;
  if ('files' in opts.checkpoint && opts.checkpoint.files.length === 0)
    throw new BlockSetError('checkpoint', 'no checkpoint files given');
  const cfg = parseStageConfig(t5ConfigFromJson, opts.config);
  const flopLength = opts.flopLength ?? T5_MAX_LENGTH;

  // The target: an existing block set gets a text stage; a new path becomes a text-only block set.
  const manifestPath = fs.join(outDir, MANIFEST_FILE);
  const target = await readTargetBlockSet(fs, outDir);
  const existing = target?.json ?? null;
  if (existing) {
    if ((existing['stages'] as Record<string, unknown>)['text'] !== undefined)
      throw new BlockSetError(
        manifestPath,
        'already has a text stage; remove it (and text/) to convert again',
      );
    if (await fs.exists(fs.join(outDir, 'text')))
      throw new BlockSetError(fs.join(outDir, 'text'), 'already exists; remove it to convert again');
  }

  // Tokenizer first: cheap, and a bad file should fail before gigabytes are converted.
  const tokenizer = opts.tokenizerPath === undefined ? null : await readTokenizer(fs, opts.tokenizerPath);

  const ignore = new Set(opts.ignoreKeys ?? []);
  // A full T5 checkpoint's decoder is never read: with an index, shards holding only decoder keys stay closed.
  const ckpt = await openStageCheckpoint(
    fs,
    opts.checkpoint,
    (name) => !ignore.has(name) && !alwaysIgnored(name),
  );
  // Text files go to <tmp>/ (existing set: becomes outDir/text) or <tmp>/text/ (new set: <tmp> becomes outDir).
  const staging = planStaging(fs, outDir, 'text', existing !== null);
  try {
    const groups = t5WeightNames(cfg);
    const label = ckpt.label;
    validateCheckpoint({
      label,
      model: 'T5',
      groups,
      lookup: (name) => ckpt.headers.get(name),
      names: ckpt.headers.keys(),
      // The embedding may come as shared.weight or as its alias; both are checked when both are there.
      sourcesOf: (name) => (name === T5_EMBED_KEY ? [T5_EMBED_KEY, T5_EMBED_ALIAS] : [name]),
      missing: (name) =>
        name === T5_EMBED_KEY
          ? `missing tensor "${T5_EMBED_KEY}" (or its alias "${T5_EMBED_ALIAS}")`
          : `missing tensor "${name}"`,
      skip: () => false,
      unexpected: 'not a T5 encoder key for this config; pass it as ignorable to skip it',
    });
    const written = await streamBlocks({
      fs,
      sha256,
      stage: 'text',
      dir: staging.stageDir,
      groups,
      fileName: (id) => blockFileName(id, { prefix: 'block', count: cfg.numLayers }),
      read: async (name, out, shape, block) => {
        const source = name === T5_EMBED_KEY ? (embedSource(ckpt.headers) as string) : name;
        const at = ckpt.headers.get(source);
        if (!at) throw new BlockSetError(label, `missing tensor "${source}"`);
        try {
          await ckpt.set.readFloat32Into(source, out, { expectShape: shape });
        } catch (err) {
          throw new BlockSetError(at.file ?? label, `tensor "${source}": ${(err as Error).message}`, block);
        }
      },
      onProgress: opts.onProgress,
      precision: opts.precision,
      memory: opts.memory,
    });
    const flops = estimateT5Flops(cfg, flopLength);
    const reference = textFlopReference(flopLength);
    const blocks: TextBlockEntry[] = written.blocks.map((b) => ({
      ...b,
      variants: ['plain'],
      flops: {
        reference,
        plain: b.id === 'embed' ? flops.embed : b.id === 'final' ? flops.final : flops.block,
      },
    }));
    if (tokenizer !== null)
      await fs.writeFile(fs.join(staging.stageDir, tokenizer.file.slice('text/'.length)), tokenizer.bytes);
    const stageJson: TextStage = {
      arch: 't5-encoder',
      config: { ...(opts.config as Record<string, unknown>) },
      tokenizer: tokenizer?.file ?? null,
      precision: opts.precision ?? 'f32',
      blocks,
    };
    const stage = parseTextStage(stageJson, 'stages.text').stage;
    const manifestJson: Record<string, unknown> = existing
      ? mergeStage(existing, 'text', stage)
      : newManifest({ text: stage }, opts.modelName ?? 't5-encoder', opts.createdBy);
    await commitStage(fs, staging, manifestJson);
    return { outDir, stage, manifest: parseManifest(manifestJson, manifestPath), bytes: written.bytes };
  } finally {
    await ckpt.set.close().catch(() => undefined);
    await discardStaging(fs, staging);
  }
}

/**
 * Reads and validates a tokenizer file by building it: SentencePiece models by content (a `tokenizer.json` is a
 * JSON object; anything else is tried as a `spiece.model`), so a mislabelled file still gets a clear error.
 */
async function readTokenizer(
  fs: FileSystemPort,
  path: string,
): Promise<{ file: typeof TEXT_TOKENIZER_FILE | typeof TEXT_SPIECE_FILE; bytes: Uint8Array }> {
  const bytes = await fs.readFile(path);
  const json = bytes[0] === 0x7b; // '{'
  try {
    if (json) T5Tokenizer.fromJson(JSON.parse(utf8Decode(bytes) ?? ''));
    else T5Tokenizer.fromSentencePiece(bytes, path);
  } catch (e) {
    throw new BlockSetError(path, (e as Error).message);
  }
  return { file: json ? TEXT_TOKENIZER_FILE : TEXT_SPIECE_FILE, bytes };
}
