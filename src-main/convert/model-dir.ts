/**
 * Converts a whole model directory — the three Open-Sora v1.2 stages — into one block set:
 *
 *   <dir>/stdit/          config.json + model.safetensors                 (hpcai-tech/OpenSora-STDiT-v3)
 *   <dir>/text_encoder/   config.json + *.safetensors (shards) + tokenizer.json   (DeepFloyd/t5-v1_1-xxl)
 *   <dir>/vae/            config.json + model.safetensors                 (hpcai-tech/OpenSora-VAE-v1.2)
 *
 * The denoiser is required; the text and decode stages are converted when present. Every stage streams tensor by
 * tensor. The block set is written beside the target and renamed into place only when every stage converted.
 */
import { readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { convertStdit3 } from '../../shared/engine/blockset/convert';
import type { FileSystemPort, Sha256 } from '../../shared/engine/ports';
import { convertT5 } from '../../shared/engine/t5/convert';
import { convertVae } from '../../shared/engine/vae/convert';

/** Options of {@link convertModelDir}. */
export interface ConvertModelDirOptions {
  fs: FileSystemPort;
  sha256: Sha256;
  modelDir: string;
  outDir: string;
  name?: string;
  log?: (line: string) => void;
}

/** What was converted. */
export interface ConvertModelDirResult {
  outDir: string;
  stages: { denoiser: number; text: number; decode: number };
  bytes: number;
}

async function safetensorsIn(dir: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort();
  return files.map((f) => join(dir, f));
}

async function readJson(fs: FileSystemPort, path: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readText(path));
  } catch (e) {
    throw new Error(`${path}: cannot read the config (${(e as Error).message})`);
  }
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
  const partial = `${outDir}.partial-${Date.now().toString(36)}`;
  try {
    const stditFiles = await safetensorsIn(stditDir);
    if (stditFiles.length !== 1)
      throw new Error(`${stditDir}: expected one .safetensors checkpoint, found ${stditFiles.length}`);
    log('denoiser: converting STDiT3');
    const den = await convertStdit3({
      fs,
      sha256,
      checkpointPath: stditFiles[0] as string,
      config: await readJson(fs, join(stditDir, 'config.json')),
      outDir: partial,
      modelName: opts.name ?? basename(modelDir),
    });
    let bytes = den.bytes;
    let text = 0;
    let decode = 0;
    const textDir = join(modelDir, 'text_encoder');
    if (await fs.exists(join(textDir, 'config.json'))) {
      log('text: converting the T5 encoder');
      const tokenizer = join(textDir, 'tokenizer.json');
      const r = await convertT5({
        fs,
        sha256,
        checkpointPaths: await safetensorsIn(textDir),
        config: await readJson(fs, join(textDir, 'config.json')),
        tokenizerPath: (await fs.exists(tokenizer)) ? tokenizer : undefined,
        outDir: partial,
      });
      bytes += r.bytes;
      text = r.stage.blocks.length;
    }
    const vaeDir = join(modelDir, 'vae');
    if (await fs.exists(join(vaeDir, 'config.json'))) {
      const files = await safetensorsIn(vaeDir);
      if (files.length !== 1)
        throw new Error(`${vaeDir}: expected one .safetensors checkpoint, found ${files.length}`);
      log('decode: converting the VAE decoder');
      const r = await convertVae({
        fs,
        sha256,
        checkpointPath: files[0] as string,
        config: await readJson(fs, join(vaeDir, 'config.json')),
        outDir: partial,
      });
      bytes += r.bytes;
      decode = r.stage.blocks.length;
    }
    await rename(partial, outDir);
    return {
      outDir,
      stages: { denoiser: den.manifest.stages.denoiser?.blocks.length ?? 0, text, decode },
      bytes,
    };
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
}
