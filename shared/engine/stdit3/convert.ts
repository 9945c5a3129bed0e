/**
 * `odsora convert`: an Open-Sora STDiT3 checkpoint (one big safetensors file) → a block set (one float32
 * safetensors file per CI-DL block + manifest.json). The checkpoint is read tensor by tensor and each block is
 * assembled, hashed and written before the next one is started, so memory stays bounded by the largest block
 * (~170 MB for the released model) however large the checkpoint is (4.8 GB).
 */
import type { FileSystemPort, Sha256 } from '../ports';
import type { BlockBufferPool } from '../blockset/buffer-pool';
import type { Precision } from '../blockset/precision';
import type { Stdit3Config } from './config';
import { stdit3ConfigFromJson, stdit3WeightNames } from './config';
import { ropeFreqs } from './embeddings';
import type { BlockEntry, FlopReference } from '../blockset/block-entry';
import type { BlockSetManifest } from '../blockset/manifest';
import { estimateStdit3Flops } from './denoise-manifest';
import { BlockSetError } from '../blockset/errors';
import type { StreamConvertProgress } from '../blockset/stream-convert';
import {
  blockFileName,
  commitStage,
  discardStaging,
  newManifest,
  openStageCheckpoint,
  type CheckpointSource,
  parseStageConfig,
  planStaging,
  streamBlocks,
  validateCheckpoint,
} from '../blockset/stream-convert';

/** Latent sizes the manifest's per-block FLOPs refer to: the iPhone "base" job (68 frames at 256×256). */
function defaultFlopReference(cfg: Stdit3Config): FlopReference {
  return { frames: 20, height: 32, width: 32, captionLength: cfg.modelMaxLength };
}

/** Progress of a conversion, for a command line or UI. */
export type ConvertProgress = StreamConvertProgress;

/** What `convertStdit3` needs. */
export interface ConvertOptions {
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
  /** The Open-Sora checkpoint (`model.safetensors`, or any file / directory `CheckpointSource` takes). */
  readonly checkpoint: CheckpointSource;
  /** The raw snake_case model config (config.json), stored verbatim in the manifest. */
  readonly config: unknown;
  /** The block-set directory to create; must not exist yet. */
  readonly outDir: string;
  /** `model.name` in the manifest. */
  readonly modelName: string;
  /** Checkpoint keys to skip instead of rejecting as unexpected. */
  readonly ignoreKeys?: readonly string[];
  /** `createdBy` in the manifest (default: `odsora <engine version>`). */
  readonly createdBy?: string;
  /** How the blocks store their weights (default f32; see precision.ts). */
  readonly precision?: Precision;
  /** Pooled block buffers (bounded memory over a multi-GB checkpoint). */
  readonly memory?: BlockBufferPool;
  readonly onProgress?: (p: ConvertProgress) => void;
}

/** What a conversion produced. */
export interface ConvertResult {
  readonly outDir: string;
  readonly manifest: BlockSetManifest;
  /** Sum of the block files' sizes. */
  readonly bytes: number;
}

const ROPE_KEY = 'rope.freqs';

/** Converts an STDiT3 checkpoint into a block set (see the module comment); returns the manifest it wrote. */
export async function convertStdit3(opts: ConvertOptions): Promise<ConvertResult> {
  const { fs, sha256, outDir } = opts;
  const cfg = parseStageConfig(stdit3ConfigFromJson, opts.config);
  if (await fs.exists(outDir))
    throw new BlockSetError(outDir, 'output directory already exists; remove it or choose another');
  const groups = stdit3WeightNames(cfg);
  const ignore = new Set(opts.ignoreKeys ?? []);
  const ckpt = await openStageCheckpoint(fs, opts.checkpoint, (name) => !ignore.has(name));
  const staging = planStaging(fs, outDir, 'denoiser', false);
  try {
    validateCheckpoint({
      label: ckpt.label,
      model: 'STDiT3',
      groups,
      lookup: (name) => ckpt.headers.get(name),
      names: ckpt.headers.keys(),
      // rope.freqs is computed when the checkpoint lacks it.
      missing: (name) => (name === ROPE_KEY ? null : `missing tensor "${name}"`),
      skip: (name) => ignore.has(name),
      unexpected: 'not an STDiT3 key for this config; pass it as ignorable to skip it',
    });
    const hd = cfg.hiddenSize / cfg.numHeads;
    const written = await streamBlocks({
      fs,
      sha256,
      stage: 'denoiser',
      dir: staging.stageDir,
      groups,
      fileName: (id) => blockFileName(id, { prefix: 'pair', count: cfg.depth }),
      read: async (name, out, shape) => {
        if (name === ROPE_KEY && !ckpt.headers.has(ROPE_KEY)) out.set(ropeFreqs(hd));
        else await ckpt.set.readFloat32Into(name, out, { expectShape: shape });
      },
      onProgress: opts.onProgress,
      precision: opts.precision,
      memory: opts.memory,
    });
    const reference = defaultFlopReference(cfg);
    const plain = estimateStdit3Flops(cfg, reference, 'plain');
    const tdtm = estimateStdit3Flops(cfg, reference, 'tdtm');
    const blocks: BlockEntry[] = written.blocks.map((b) => {
      const isPair = b.id.startsWith('pair.');
      return {
        ...b,
        variants: isPair ? ['plain', 'tdtm'] : ['plain'],
        flops: isPair
          ? { reference, plain: plain.pair, tdtm: tdtm.pair }
          : { reference, plain: b.id === 'part1' ? plain.part1 : plain.part2 },
      };
    });
    const manifest = newManifest(
      {
        denoiser: {
          arch: 'stdit3',
          config: { ...(opts.config as Record<string, unknown>) },
          precision: opts.precision ?? 'f32',
          blocks,
        },
      },
      opts.modelName,
      opts.createdBy,
    );
    await commitStage(fs, staging, manifest);
    return { outDir, manifest, bytes: written.bytes };
  } finally {
    await ckpt.set.close();
    await discardStaging(fs, staging);
  }
}
