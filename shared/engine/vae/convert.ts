/**
 * `convertVae`: an Open-Sora v1.2 VAE checkpoint (`OpenSoraVAE_V1_2` state dict in one safetensors file) → the
 * `decode` stage of a block set: one float32 safetensors file per decode block under `decode/`, plus the stage
 * entry in manifest.json. Streaming like `convertStdit3`: the checkpoint is read tensor by tensor (F16/BF16 → F32)
 * and each block is assembled, hashed and written before the next one starts. Encoder keys (`*.encoder.*`,
 * `*.quant_conv.*`) are skipped without being read; every decode key is checked (present, float, shape).
 *
 * `outDir` may be an existing block set (its manifest gains `stages.decode`, other stages are kept) or a new
 * directory (created with a manifest that holds only the decode stage).
 */
import { BlockSetError } from '../blockset/errors';
import type { BlockSetManifest } from '../blockset/manifest';
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
} from '../blockset/stream-convert';
import type { BlockBufferPool } from '../blockset/buffer-pool';
import type { Precision } from '../blockset/precision';
import type { FileSystemPort, Sha256 } from '../ports';
import { vaeConfigFromJson, vaeWeightNames } from './config';
import { decoderConfigJson } from './released-config';
import {
  DECODE_ARCH,
  defaultVaeFlopReference,
  estimateVaeFlops,
  type DecodeBlockEntry,
  type DecodeStage,
} from './decode-manifest';

/** What `convertVae` needs. */
export interface ConvertVaeOptions {
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
  /** The VAE checkpoint (the pipeline's key names; any file / directory `CheckpointSource` takes). */
  readonly checkpoint: CheckpointSource;
  /** The VAE config JSON: the released config.json (mapped, see released-config.ts) or vae/config.ts's layout. */
  readonly config: unknown;
  /** An existing block set to add the stage to, or a new directory. */
  readonly outDir: string;
  /** `model.name` when a new manifest is created (default `opensora-vae-v1.2`). */
  readonly modelName?: string;
  /** Further checkpoint keys to skip instead of rejecting as unexpected. */
  readonly ignoreKeys?: readonly string[];
  /** `createdBy` of a new manifest (default `odsora <engine version>`). */
  readonly createdBy?: string;
  /** How the blocks store their weights (default f32, as the paper keeps the VAE; see precision.ts). */
  readonly precision?: Precision;
  /** Pooled block buffers (bounded memory over a multi-GB checkpoint). */
  readonly memory?: BlockBufferPool;
  /** Called after each block file is written. */
  readonly onProgress?: (p: { block: string; index: number; total: number; bytes: number }) => void;
}

/** What a VAE conversion produced. */
export interface ConvertVaeResult {
  readonly outDir: string;
  /** The stage written to `manifest.stages.decode`. */
  readonly stage: DecodeStage;
  /** The whole manifest as written. */
  readonly manifest: BlockSetManifest;
  /** Sum of the decode block files' sizes. */
  readonly bytes: number;
}

/** Checkpoint keys the decode path never reads (encoders), skipped silently. */
const VAE_ENCODER_KEY = /^(temporal_vae\.(encoder|quant_conv)\.|spatial_vae\.module\.(encoder|quant_conv)\.)/;

/** Converts a VAE checkpoint into the decode stage of a block set (see the module comment). */
export async function convertVae(opts: ConvertVaeOptions): Promise<ConvertVaeResult> {
  const { fs, sha256, outDir } = opts;
  // The released config.json names its parts by type; the stage stores the decoder structure they stand for.
  const configJson = parseStageConfig(decoderConfigJson, opts.config);
  const cfg = parseStageConfig(vaeConfigFromJson, configJson);
  const target = await readTargetBlockSet(fs, outDir);
  const base = target?.manifest ?? null;
  if (target && (target.manifest.stages.decode !== undefined || (await fs.exists(fs.join(outDir, 'decode')))))
    throw new BlockSetError(
      target.manifestPath,
      'the block set already has a decode stage; remove it (stages.decode and decode/) first',
    );
  const groups = vaeWeightNames(cfg);
  const ignore = new Set(opts.ignoreKeys ?? []);
  // Encoder keys are never read (nor, in a sharded checkpoint, the shards that hold only them).
  const ckpt = await openStageCheckpoint(
    fs,
    opts.checkpoint,
    (name) => !VAE_ENCODER_KEY.test(name) && !ignore.has(name),
  );
  const staging = planStaging(fs, outDir, 'decode', base !== null);
  try {
    validateCheckpoint({
      label: ckpt.label,
      model: 'VAE',
      groups,
      lookup: (name) => ckpt.headers.get(name),
      names: ckpt.headers.keys(),
      missing: (name, block) => `missing tensor "${name}" (block ${block})`,
      skip: () => false,
      unexpected: 'not a VAE decoder or encoder key for this config',
    });
    const written = await streamBlocks({
      fs,
      sha256,
      stage: 'decode',
      dir: staging.stageDir,
      groups,
      fileName: (id) => blockFileName(id),
      read: (name, out, shape) => ckpt.set.readFloat32Into(name, out, { expectShape: shape }),
      onProgress: (p) => {
        if (p.type === 'block.done')
          opts.onProgress?.({ block: p.block, index: p.index, total: p.total, bytes: p.bytes });
      },
      precision: opts.precision,
      memory: opts.memory,
    });
    const reference = defaultVaeFlopReference();
    const flops = estimateVaeFlops(cfg, reference);
    const blocks: DecodeBlockEntry[] = written.blocks.map((b) => ({
      ...b,
      variants: ['plain'],
      flops: { reference, plain: flops.get(b.id) ?? 0 },
    }));
    const stage: DecodeStage = {
      arch: DECODE_ARCH,
      config: { ...(configJson as Record<string, unknown>) },
      precision: opts.precision ?? 'f32',
      blocks,
    };
    const manifest = base
      ? mergeStage(base, 'decode', stage)
      : newManifest({ decode: stage }, opts.modelName ?? DECODE_ARCH, opts.createdBy);
    await commitStage(fs, staging, manifest);
    return { outDir, stage, manifest, bytes: written.bytes };
  } finally {
    await ckpt.set.close();
    await discardStaging(fs, staging);
  }
}
