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
import {
  BLOCKSET_FORMAT,
  BLOCKSET_VERSION,
  MANIFEST_FILE,
  parseManifest,
  type BlockSetManifest,
} from '../blockset/manifest';
import type { FileSystemPort, Sha256 } from '../ports';
import { isFloatDtype } from '../safetensors/dtype';
import { SafetensorsFile } from '../safetensors/reader';
import { planSafetensors } from '../safetensors/writer';
import { ENGINE_VERSION } from '../version';
import { vaeConfigFromJson, vaeWeightNames, type VaeConfig, type VaeWeightGroup } from './config';
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
  /** The VAE checkpoint (safetensors with the pipeline's key names). */
  readonly checkpointPath: string;
  /** The raw VAE config JSON (vae/config.ts), stored verbatim in the stage. */
  readonly config: unknown;
  /** An existing block set to add the stage to, or a new directory. */
  readonly outDir: string;
  /** `model.name` when a new manifest is created (default `opensora-vae-v1.2`). */
  readonly modelName?: string;
  /** Further checkpoint keys to skip instead of rejecting as unexpected. */
  readonly ignoreKeys?: readonly string[];
  /** `createdBy` of a new manifest (default `odsora <engine version>`). */
  readonly createdBy?: string;
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
export const VAE_ENCODER_KEY =
  /^(temporal_vae\.(encoder|quant_conv)\.|spatial_vae\.module\.(encoder|quant_conv)\.)/;

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
const MAX_LISTED = 8;

function validate(
  file: string,
  ckpt: SafetensorsFile,
  groups: readonly VaeWeightGroup[],
  ignore: ReadonlySet<string>,
): void {
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const g of groups)
    for (const k of g.keys) {
      expected.add(k.name);
      if (!ckpt.has(k.name)) {
        problems.push(`missing tensor "${k.name}" (block ${g.id})`);
        continue;
      }
      const info = ckpt.info(k.name);
      if (!isFloatDtype(info.dtype))
        problems.push(`tensor "${k.name}" has dtype ${info.dtype}, expected F32, F16 or BF16`);
      if (info.shape.length !== k.shape.length || info.shape.some((d, i) => d !== k.shape[i]))
        problems.push(`tensor "${k.name}" has shape ${fmtShape(info.shape)}, expected ${fmtShape(k.shape)}`);
    }
  for (const name of ckpt.names())
    if (!expected.has(name) && !VAE_ENCODER_KEY.test(name) && !ignore.has(name))
      problems.push(`unexpected tensor "${name}" (not a VAE decoder or encoder key for this config)`);
  if (problems.length === 0) return;
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
  throw new BlockSetError(
    file,
    `checkpoint does not match the VAE config (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.slice(0, MAX_LISTED).join('; ')}${more}`,
  );
}

/** Converts a VAE checkpoint into the decode stage of a block set (see the module comment). */
export async function convertVae(opts: ConvertVaeOptions): Promise<ConvertVaeResult> {
  const { fs, sha256, checkpointPath, outDir } = opts;
  let cfg: VaeConfig;
  try {
    cfg = vaeConfigFromJson(opts.config);
  } catch (e) {
    throw new BlockSetError('config', (e as Error).message);
  }
  const manifestPath = fs.join(outDir, MANIFEST_FILE);
  const existing = await fs.exists(outDir);
  let base: BlockSetManifest | null = null;
  if (existing) {
    if (!(await fs.exists(manifestPath)))
      throw new BlockSetError(
        outDir,
        'exists but is not a block set (no manifest.json); choose a new directory or a block set',
      );
    let json: unknown;
    try {
      json = JSON.parse(await fs.readText(manifestPath));
    } catch (e) {
      throw new BlockSetError(manifestPath, `manifest is not valid JSON (${(e as Error).message})`);
    }
    base = parseManifest(json, manifestPath);
    if (
      (base.stages as Record<string, unknown>)['decode'] !== undefined ||
      (await fs.exists(fs.join(outDir, 'decode')))
    )
      throw new BlockSetError(
        manifestPath,
        'the block set already has a decode stage; remove it (stages.decode and decode/) first',
      );
  }
  const groups = vaeWeightNames(cfg);
  const reader = await fs.open(checkpointPath);
  const ckpt = await SafetensorsFile.open(reader).catch(async (e: unknown) => {
    await reader.close();
    throw e;
  });
  const tmp = `${existing ? fs.join(outDir, 'decode') : outDir}.partial-${Math.random().toString(36).slice(2, 10)}`;
  const stageDir = existing ? tmp : fs.join(tmp, 'decode');
  let done = false;
  try {
    validate(checkpointPath, ckpt, groups, new Set(opts.ignoreKeys ?? []));
    await fs.mkdirp(stageDir);
    const reference = defaultVaeFlopReference();
    const flops = estimateVaeFlops(cfg, reference);
    const blocks: DecodeBlockEntry[] = [];
    let total = 0;
    for (const [index, group] of groups.entries()) {
      const layout = planSafetensors(
        group.keys.map((k) => ({ name: k.name, dtype: 'F32', shape: k.shape })),
        { 'odsora.block': `decode/${group.id}` },
        group.id,
      );
      const buf = new Uint8Array(layout.totalBytes);
      buf.set(layout.header, 0);
      for (const e of layout.entries)
        await ckpt.readFloat32Into(e.name, new Float32Array(buf.buffer, e.fileOffset, e.byteLength / 4), {
          expectShape: e.shape,
        });
      const hash = await sha256(buf);
      const name = `${group.id}.safetensors`;
      const writer = await fs.createWriter(fs.join(stageDir, name));
      await writer.write(buf);
      await writer.close();
      total += buf.byteLength;
      blocks.push({
        id: group.id,
        file: `decode/${name}`,
        bytes: buf.byteLength,
        sha256: hash,
        tensors: group.keys.map((k) => k.name),
        variants: ['plain'],
        flops: { reference, plain: flops.get(group.id) ?? 0 },
      });
      opts.onProgress?.({ block: group.id, index, total: groups.length, bytes: buf.byteLength });
    }
    const stage: DecodeStage = {
      arch: DECODE_ARCH,
      config: { ...(opts.config as Record<string, unknown>) },
      blocks,
    };
    const manifest: BlockSetManifest = base
      ? { ...base, stages: { ...base.stages, decode: stage } }
      : {
          format: BLOCKSET_FORMAT,
          version: BLOCKSET_VERSION,
          createdBy: opts.createdBy ?? `odsora ${ENGINE_VERSION}`,
          model: { family: 'opensora-v1.2', name: opts.modelName ?? DECODE_ARCH },
          stages: { decode: stage },
        };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    if (existing) {
      await fs.rename(tmp, fs.join(outDir, 'decode'));
      done = true;
      const tmpManifest = `${manifestPath}.partial`;
      await fs.writeFile(tmpManifest, text);
      await fs.rename(tmpManifest, manifestPath);
    } else {
      await fs.writeFile(fs.join(tmp, MANIFEST_FILE), text);
      await fs.rename(tmp, outDir);
      done = true;
    }
    return { outDir, stage, manifest, bytes: total };
  } finally {
    await ckpt.close();
    if (!done) await fs.remove(tmp).catch(() => undefined);
  }
}
