/**
 * Converts a whole model directory — the three Open-Sora v1.2 stages, each as its Hugging Face repo ships it — into
 * one block set:
 *
 *   <dir>/stdit/          config.json + model.safetensors                      (hpcai-tech/OpenSora-STDiT-v3)
 *   <dir>/text_encoder/   config.json + weights + tokenizer.json or spiece.model   (DeepFloyd/t5-v1_1-xxl)
 *   <dir>/vae/            config.json + model.safetensors                      (hpcai-tech/OpenSora-VAE-v1.2)
 *
 * Weights are found as the Hugging Face loaders find them (checkpoint/sharded.ts): `model.safetensors[.index.json]`
 * or `pytorch_model.bin[.index.json]`, sharded or single; a full T5 checkpoint's decoder is skipped without being
 * read. The denoiser is required; the text and decode stages are converted when present. Every stage streams tensor
 * by tensor through one reused block buffer, so memory stays bounded by the largest block.
 *
 * Atomic: the block set is built in `<out>.partial-<pid>` holding a `.converting` marker (openBlockSet refuses such
 * a directory), and renamed to `<out>` only when every stage converted. Partial directories of conversions whose
 * process is gone are removed on the next run.
 */
import { readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BlockBufferPool, type ReclaimMemory } from '../../shared/engine/blockset/buffer-pool';
import { convertStdit3 } from '../../shared/engine/stdit3/convert';
import { CONVERTING_MARKER } from '../../shared/engine/blockset/manifest';
import { storageOf, storedBytes, type Precision } from '../../shared/engine/blockset/precision';
import type { StreamConvertProgress } from '../../shared/engine/blockset/stream-convert';
import type { FileSystemPort, Sha256 } from '../../shared/engine/ports';
import { stdit3ConfigFromJson, stdit3WeightNames } from '../../shared/engine/stdit3/config';
import { t5ConfigFromJson, t5WeightNames } from '../../shared/engine/t5/config';
import { convertT5 } from '../../shared/engine/t5/convert';
import { vaeConfigFromJson, vaeWeightNames } from '../../shared/engine/vae/config';
import { convertVae } from '../../shared/engine/vae/convert';
import { decoderConfigJson } from '../../shared/engine/vae/released-config';

/** The stages of a block set, as `--precision` names them. */
export type StageName = 'text' | 'denoiser' | 'decode';

/** Options of {@link convertModelDir}. */
export interface ConvertModelDirOptions {
  fs: FileSystemPort;
  sha256: Sha256;
  modelDir: string;
  outDir: string;
  name?: string;
  /** Storage precision per stage (default f32 everywhere). */
  precision?: Partial<Record<StageName, Precision>>;
  /** Returns the memory of dropped block buffers now (Node: a forced GC); keeps the peak at one block. */
  reclaim?: ReclaimMemory;
  log?: (line: string) => void;
  /** After each block: the stage, the block, and bytes written of all stages' expected total. */
  onProgress?: (p: { stage: StageName; block: string; bytesDone: number; bytesTotal: number }) => void;
}

/** What was converted. */
export interface ConvertModelDirResult {
  outDir: string;
  stages: { denoiser: number; text: number; decode: number };
  bytes: number;
  precision: Record<StageName, Precision>;
}

/** The tokenizer a text_encoder/ directory carries: tokenizer.json first (as Hugging Face does), else spiece.model. */
async function tokenizerIn(fs: FileSystemPort, dir: string): Promise<string | undefined> {
  for (const name of ['tokenizer.json', 'spiece.model'])
    if (await fs.exists(join(dir, name))) return join(dir, name);
  return undefined;
}

async function readJson(fs: FileSystemPort, path: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readText(path));
  } catch (e) {
    throw new Error(`${path}: cannot read the config (${(e as Error).message})`);
  }
}

/** Whether process `pid` is alive (signal 0 probes without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `<out>.partial-<pid>` directories left by conversions whose process is gone; returns what it removed. */
async function removeStalePartials(outDir: string): Promise<string[]> {
  const prefix = `${basename(outDir)}.partial-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dirname(outDir));
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
      await rm(join(dirname(outDir), name), { recursive: true, force: true });
      removed.push(join(dirname(outDir), name));
    }
  }
  return removed;
}

/** Converts every stage found in `modelDir` into the block set `outDir` (which must not exist). */
export async function convertModelDir(opts: ConvertModelDirOptions): Promise<ConvertModelDirResult> {
  const { fs, sha256, modelDir, outDir } = opts;
  const log = opts.log ?? ((): void => undefined);
  if (await fs.exists(outDir)) throw new Error(`${outDir}: already exists; choose a new block-set directory`);
  const stditDir = join(modelDir, 'stdit');
  if (!(await fs.exists(join(stditDir, 'config.json'))))
    throw new Error(
      `${stditDir}/config.json: not found — a model directory needs at least stdit/ (config.json + model.safetensors)`,
    );
  for (const p of await removeStalePartials(outDir))
    log(`removed ${p} (left by a conversion that was killed)`);
  const precision: Record<StageName, Precision> = {
    text: opts.precision?.text ?? 'f32',
    denoiser: opts.precision?.denoiser ?? 'f32',
    decode: opts.precision?.decode ?? 'f32',
  };
  const partial = `${outDir}.partial-${process.pid}`;
  const work = join(partial, 'set');
  const memory = new BlockBufferPool(opts.reclaim);
  const textDir = join(modelDir, 'text_encoder');
  const vaeDir = join(modelDir, 'vae');
  const configs = {
    denoiser: await readJson(fs, join(stditDir, 'config.json')),
    text: (await fs.exists(join(textDir, 'config.json')))
      ? await readJson(fs, join(textDir, 'config.json'))
      : null,
    decode: (await fs.exists(join(vaeDir, 'config.json')))
      ? await readJson(fs, join(vaeDir, 'config.json'))
      : null,
  };
  const bytesTotal = expectedBytes(configs, precision);
  let bytesDone = 0;
  const progress =
    (stage: StageName) =>
    (p: StreamConvertProgress): void => {
      if (p.type !== 'block.done') return;
      bytesDone += p.bytes;
      opts.onProgress?.({ stage, block: p.block, bytesDone, bytesTotal });
    };
  await rm(partial, { recursive: true, force: true });
  await fs.mkdirp(partial);
  try {
    // The marker sits beside the set being built, and inside it once it exists (see openBlockSet).
    await fs.writeFile(join(partial, CONVERTING_MARKER), `${process.pid}\n`);
    log(`denoiser: converting STDiT3 (${precision.denoiser})`);
    const den = await convertStdit3({
      fs,
      sha256,
      checkpoint: { dir: stditDir },
      config: configs.denoiser,
      outDir: work,
      modelName: opts.name ?? basename(modelDir),
      precision: precision.denoiser,
      memory,
      onProgress: progress('denoiser'),
    });
    await fs.writeFile(join(work, CONVERTING_MARKER), `${process.pid}\n`);
    let bytes = den.bytes;
    let text = 0;
    let decode = 0;
    if (configs.text !== null) {
      log(`text: converting the T5 encoder (${precision.text})`);
      const r = await convertT5({
        fs,
        sha256,
        checkpoint: { dir: textDir },
        config: configs.text,
        tokenizerPath: await tokenizerIn(fs, textDir),
        outDir: work,
        precision: precision.text,
        memory,
        onProgress: progress('text'),
      });
      bytes += r.bytes;
      text = r.stage.blocks.length;
    }
    if (configs.decode !== null) {
      log(`decode: converting the VAE decoder (${precision.decode})`);
      const onDecode = progress('decode');
      const r = await convertVae({
        fs,
        sha256,
        checkpoint: { dir: vaeDir },
        config: configs.decode,
        outDir: work,
        precision: precision.decode,
        memory,
        onProgress: (p) => onDecode({ type: 'block.done', sha256: '', ...p }),
      });
      bytes += r.bytes;
      decode = r.stage.blocks.length;
    }
    await fs.remove(join(work, CONVERTING_MARKER));
    await rename(work, outDir);
    await rm(partial, { recursive: true, force: true });
    return {
      outDir,
      stages: { denoiser: den.manifest.stages.denoiser?.blocks.length ?? 0, text, decode },
      bytes,
      precision,
    };
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The block bytes a conversion will write (tensor data only, for progress and ETA); 0 for a stage whose config does
 * not parse (its converter then reports the problem).
 */
function expectedBytes(
  configs: { denoiser: unknown; text: unknown; decode: unknown },
  precision: Record<StageName, Precision>,
): number {
  const sum = (keys: readonly { name: string; shape: readonly number[] }[], p: Precision): number =>
    keys.reduce((s, k) => s + storedBytes(k.shape, storageOf(p, k.name, k.shape)), 0);
  const guard = (f: () => number): number => {
    try {
      return f();
    } catch {
      return 0;
    }
  };
  return (
    guard(() =>
      sum(
        stdit3WeightNames(stdit3ConfigFromJson(configs.denoiser)).flatMap((g) => g.keys),
        precision.denoiser,
      ),
    ) +
    (configs.text === null
      ? 0
      : guard(() =>
          sum(
            t5WeightNames(t5ConfigFromJson(configs.text)).flatMap((g) => g.keys),
            precision.text,
          ),
        )) +
    (configs.decode === null
      ? 0
      : guard(() =>
          sum(
            vaeWeightNames(vaeConfigFromJson(decoderConfigJson(configs.decode))).flatMap((g) => g.keys),
            precision.decode,
          ),
        ))
  );
}
