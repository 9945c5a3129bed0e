/**
 * `odsora convert`: an Open-Sora STDiT3 checkpoint (one big safetensors file) → a block set (one float32
 * safetensors file per CI-DL block + manifest.json). The checkpoint is read tensor by tensor and each block is
 * assembled, hashed and written before the next one is started, so memory stays bounded by the largest block
 * (~170 MB for the released model) however large the checkpoint is (4.8 GB).
 */
import type { FileSystemPort, Sha256 } from '../ports';
import type { Stdit3Config, Stdit3WeightGroup } from '../stdit3/config';
import { stdit3ConfigFromJson, stdit3WeightNames } from '../stdit3/config';
import { ropeFreqs } from '../stdit3/embeddings';
import { SafetensorsFile } from '../safetensors/reader';
import { planSafetensors } from '../safetensors/writer';
import { isFloatDtype } from '../safetensors/dtype';
import { ENGINE_VERSION } from '../version';
import type { BlockEntry, BlockSetManifest, FlopReference } from './manifest';
import { BLOCKSET_FORMAT, BLOCKSET_VERSION, MANIFEST_FILE, estimateStdit3Flops } from './manifest';
import { BlockSetError } from './errors';

/** Latent sizes the manifest's per-block FLOPs refer to: the iPhone "base" job (68 frames at 256×256). */
export function defaultFlopReference(cfg: Stdit3Config): FlopReference {
  return { frames: 20, height: 32, width: 32, captionLength: cfg.modelMaxLength };
}

/** Progress of a conversion, for a command line or UI. */
export type ConvertProgress =
  | { readonly type: 'validated'; readonly tensors: number; readonly blocks: number }
  | { readonly type: 'block.start'; readonly block: string; readonly index: number; readonly total: number }
  | {
      readonly type: 'block.done';
      readonly block: string;
      readonly index: number;
      readonly total: number;
      readonly bytes: number;
      readonly sha256: string;
    };

/** What `convertStdit3` needs. */
export interface ConvertOptions {
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
  /** The Open-Sora checkpoint (`model.safetensors`). */
  readonly checkpointPath: string;
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
  readonly onProgress?: (p: ConvertProgress) => void;
}

/** What a conversion produced. */
export interface ConvertResult {
  readonly outDir: string;
  readonly manifest: BlockSetManifest;
  /** Sum of the block files' sizes. */
  readonly bytes: number;
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
const ROPE_KEY = 'rope.freqs';
const MAX_LISTED_PROBLEMS = 8;

/** Checks the checkpoint against the expected key list; throws one error listing the first problems. */
function validateCheckpoint(
  file: string,
  ckpt: SafetensorsFile,
  groups: readonly Stdit3WeightGroup[],
  ignore: ReadonlySet<string>,
): void {
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const g of groups)
    for (const k of g.keys) {
      expected.add(k.name);
      if (!ckpt.has(k.name)) {
        if (k.name !== ROPE_KEY) problems.push(`missing tensor "${k.name}"`);
        continue;
      }
      const info = ckpt.info(k.name);
      if (!isFloatDtype(info.dtype))
        problems.push(`tensor "${k.name}" has dtype ${info.dtype}, expected F32, F16 or BF16`);
      if (info.shape.length !== k.shape.length || info.shape.some((d, i) => d !== k.shape[i]))
        problems.push(`tensor "${k.name}" has shape ${fmtShape(info.shape)}, expected ${fmtShape(k.shape)}`);
    }
  for (const name of ckpt.names())
    if (!expected.has(name) && !ignore.has(name))
      problems.push(
        `unexpected tensor "${name}" (not an STDiT3 key for this config; pass it as ignorable to skip it)`,
      );
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more =
    problems.length > MAX_LISTED_PROBLEMS ? `; and ${problems.length - MAX_LISTED_PROBLEMS} more` : '';
  throw new BlockSetError(
    file,
    `checkpoint does not match the STDiT3 config (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${listed}${more}`,
  );
}

/** File name of a block inside the stage directory: part1, pair-00.., part2. */
function blockFileName(id: string, depth: number): string {
  const m = /^pair\.(\d+)$/.exec(id);
  if (!m) return `${id}.safetensors`;
  const width = Math.max(2, String(depth - 1).length);
  return `pair-${m[1]!.padStart(width, '0')}.safetensors`;
}

/** Converts an STDiT3 checkpoint into a block set (see the module comment); returns the manifest it wrote. */
export async function convertStdit3(opts: ConvertOptions): Promise<ConvertResult> {
  const { fs, sha256, checkpointPath, outDir } = opts;
  let cfg: Stdit3Config;
  try {
    cfg = stdit3ConfigFromJson(opts.config);
  } catch (e) {
    throw new BlockSetError('config', (e as Error).message);
  }
  if (await fs.exists(outDir))
    throw new BlockSetError(outDir, 'output directory already exists; remove it or choose another');
  const groups = stdit3WeightNames(cfg);
  const reader = await fs.open(checkpointPath);
  const ckpt = await SafetensorsFile.open(reader).catch(async (e: unknown) => {
    await reader.close();
    throw e;
  });
  const tmpDir = `${outDir}.partial-${Math.random().toString(36).slice(2, 10)}`;
  let renamed = false;
  try {
    validateCheckpoint(checkpointPath, ckpt, groups, new Set(opts.ignoreKeys ?? []));
    opts.onProgress?.({
      type: 'validated',
      tensors: groups.reduce((n, g) => n + g.keys.length, 0),
      blocks: groups.length,
    });
    const hd = cfg.hiddenSize / cfg.numHeads;
    const reference = defaultFlopReference(cfg);
    const plain = estimateStdit3Flops(cfg, reference, 'plain');
    const tdtm = estimateStdit3Flops(cfg, reference, 'tdtm');
    await fs.mkdirp(fs.join(tmpDir, 'denoiser'));
    const blocks: BlockEntry[] = [];
    let total = 0;
    for (const [index, group] of groups.entries()) {
      opts.onProgress?.({ type: 'block.start', block: group.id, index, total: groups.length });
      const layout = planSafetensors(
        group.keys.map((k) => ({ name: k.name, dtype: 'F32', shape: k.shape })),
        { 'odsora.block': `denoiser/${group.id}` },
        group.id,
      );
      // The one block buffer held at a time: header, then each tensor decoded straight into place.
      const buf = new Uint8Array(layout.totalBytes);
      buf.set(layout.header, 0);
      for (const e of layout.entries) {
        const out = new Float32Array(buf.buffer, e.fileOffset, e.byteLength / 4);
        if (e.name === ROPE_KEY && !ckpt.has(ROPE_KEY)) out.set(ropeFreqs(hd));
        else await ckpt.readFloat32Into(e.name, out, { expectShape: e.shape });
      }
      const hash = await sha256(buf);
      const rel = `denoiser/${blockFileName(group.id, cfg.depth)}`;
      const writer = await fs.createWriter(fs.join(tmpDir, rel));
      await writer.write(buf);
      await writer.close();
      total += buf.byteLength;
      const isPair = group.id.startsWith('pair.');
      blocks.push({
        id: group.id,
        file: rel,
        bytes: buf.byteLength,
        sha256: hash,
        tensors: group.keys.map((k) => k.name),
        variants: isPair ? ['plain', 'tdtm'] : ['plain'],
        flops: isPair
          ? { reference, plain: plain.pair, tdtm: tdtm.pair }
          : { reference, plain: group.id === 'part1' ? plain.part1 : plain.part2 },
      });
      opts.onProgress?.({
        type: 'block.done',
        block: group.id,
        index,
        total: groups.length,
        bytes: buf.byteLength,
        sha256: hash,
      });
    }
    const manifest: BlockSetManifest = {
      format: BLOCKSET_FORMAT,
      version: BLOCKSET_VERSION,
      createdBy: opts.createdBy ?? `odsora ${ENGINE_VERSION}`,
      model: { family: 'opensora-v1.2', name: opts.modelName },
      stages: {
        denoiser: { arch: 'stdit3', config: { ...(opts.config as Record<string, unknown>) }, blocks },
      },
    };
    await fs.writeFile(fs.join(tmpDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await fs.rename(tmpDir, outDir);
    renamed = true;
    return { outDir, manifest, bytes: total };
  } finally {
    await ckpt.close();
    if (!renamed) await fs.remove(tmpDir).catch(() => undefined);
  }
}
