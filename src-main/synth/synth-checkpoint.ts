/**
 * `odsora synth-checkpoint`: a model directory with random weights in exactly the layouts a user downloads —
 *
 *   <out>/stdit/          config.json + model.safetensors                      (hpcai-tech/OpenSora-STDiT-v3)
 *   <out>/vae/            config.json + model.safetensors (encoders included)  (hpcai-tech/OpenSora-VAE-v1.2)
 *   <out>/text_encoder/   config.json + spiece.model + sharded weights          (DeepFloyd/t5-v1_1-xxl)
 *                         pytorch_model-0000N-of-0000M.bin + pytorch_model.bin.index.json   (--t5-format bin)
 *                         model-0000N-of-0000M.safetensors + model.safetensors.index.json   (--t5-format safetensors)
 *
 * with every key name and shape of the released files (presets.ts). Streamed: tensors are generated and written a
 * chunk at a time (safetensors) or a tensor at a time (PyTorch zip records need their CRC first), so memory stays
 * bounded by one tensor however large the model. Each file is written under a temporary name and renamed when
 * complete, so a killed run leaves no file that looks finished. Random weights make meaningless videos.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TorchZipWriter } from '../../shared/engine/checkpoint/torch-writer';
import type { FileSystemPort } from '../../shared/engine/ports';
import { SafetensorsStreamWriter } from '../../shared/engine/safetensors/writer';
import { stdit3ConfigFromJson, stdit3WeightNames } from '../../shared/engine/stdit3/config';
import { t5ConfigFromJson, t5WeightNames } from '../../shared/engine/t5/config';
import { syntheticT5SentencePiece } from '../../shared/engine/t5/sentencepiece/synthetic';
import { numel } from '../../shared/engine/tensor';
import { vaeConfigFromJson, vaeWeightNames } from '../../shared/engine/vae/config';
import { decoderConfigJson, vaeEncoderWeightNames } from '../../shared/engine/vae/released-config';
import { presetConfigs, type SynthPreset } from './presets';
import { SYNTH_DTYPE_BYTES, syntheticChunks, type SynthDtype } from './random-weights';

/** One tensor of a synthetic file. */
interface SynthTensor {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Options of {@link writeSyntheticModelDir}. */
export interface SynthOptions {
  readonly fs: FileSystemPort;
  readonly outDir: string;
  readonly preset: SynthPreset;
  readonly dtype: SynthDtype;
  readonly t5Format: 'bin' | 'safetensors';
  /** T5 shard count (default 2, as DeepFloyd/t5-v1_1-xxl). */
  readonly t5Shards?: number;
  readonly seed?: number;
  /** Called after each tensor with the file (relative to the model directory) and bytes written so far and in total. */
  readonly onProgress?: (p: { file: string; bytesDone: number; bytesTotal: number }) => void;
}

/** What was written. */
export interface SynthResult {
  readonly outDir: string;
  /** Numbers in the three checkpoints (state-dict elements, buffers included). */
  readonly parameters: { stdit: number; t5: number; vae: number; total: number };
  readonly bytes: number;
  readonly files: string[];
}

/** The tensors of each checkpoint, in file order. */
export function synthTensors(preset: SynthPreset): {
  stdit: SynthTensor[];
  t5: SynthTensor[];
  vae: SynthTensor[];
} {
  const c = presetConfigs(preset);
  const stdit = stdit3WeightNames(stdit3ConfigFromJson(c.stdit)).flatMap((g) => g.keys);
  const t5 = t5WeightNames(t5ConfigFromJson(c.t5)).flatMap((g) => g.keys);
  const vaeCfg = vaeConfigFromJson(decoderConfigJson(c.vae));
  const vae = [...vaeWeightNames(vaeCfg).flatMap((g) => g.keys), ...vaeEncoderWeightNames(vaeCfg)];
  return { stdit, t5, vae };
}

const count = (ts: readonly SynthTensor[]): number => ts.reduce((s, t) => s + numel(t.shape), 0);

/** Splits tensors into `n` consecutive shards of about equal bytes (Hugging Face shards in key order too). */
function shard(tensors: readonly SynthTensor[], n: number): SynthTensor[][] {
  const total = count(tensors);
  const shards: SynthTensor[][] = Array.from({ length: n }, () => []);
  let done = 0;
  for (const t of tensors) {
    const i = Math.min(n - 1, Math.floor((done / total) * n));
    (shards[i] as SynthTensor[]).push(t);
    done += numel(t.shape);
  }
  return shards.filter((s) => s.length > 0);
}

/** Writes the model directory (see the module comment); `outDir` must not exist. */
export async function writeSyntheticModelDir(o: SynthOptions): Promise<SynthResult> {
  const { fs, outDir, dtype } = o;
  const seed = o.seed ?? 0;
  if (await fs.exists(outDir)) throw new Error(`${outDir}: already exists; choose a new directory`);
  const cfgs = presetConfigs(o.preset);
  const tensors = synthTensors(o.preset);
  const bytesTotal =
    SYNTH_DTYPE_BYTES[dtype] * (count(tensors.stdit) + count(tensors.t5) + count(tensors.vae));
  const files: string[] = [];
  let bytesDone = 0;
  const tmp = `${outDir}.partial-${process.pid}`;
  const progress = (file: string, bytes: number): void => {
    bytesDone += bytes;
    o.onProgress?.({ file: file.slice(tmp.length + 1), bytesDone, bytesTotal });
  };
  await rm(tmp, { recursive: true, force: true });
  try {
    for (const sub of ['stdit', 'vae', 'text_encoder']) await fs.mkdirp(join(tmp, sub));
    await fs.writeFile(join(tmp, 'stdit', 'config.json'), `${JSON.stringify(cfgs.stdit, null, 2)}\n`);
    await writeSafetensorsFile(
      fs,
      join(tmp, 'stdit', 'model.safetensors'),
      tensors.stdit,
      dtype,
      seed,
      progress,
    );
    await fs.writeFile(join(tmp, 'vae', 'config.json'), `${JSON.stringify(cfgs.vae, null, 2)}\n`);
    await writeSafetensorsFile(fs, join(tmp, 'vae', 'model.safetensors'), tensors.vae, dtype, seed, progress);
    const te = join(tmp, 'text_encoder');
    await fs.writeFile(join(te, 'config.json'), `${JSON.stringify(cfgs.t5, null, 2)}\n`);
    await fs.writeFile(join(te, 'spiece.model'), syntheticT5SentencePiece({ vocabSize: cfgs.spieceVocab }));
    const shards = shard(tensors.t5, Math.max(1, o.t5Shards ?? 2));
    const weightMap: Record<string, string> = {};
    const stem = o.t5Format === 'bin' ? 'pytorch_model' : 'model';
    for (const [i, list] of shards.entries()) {
      const name = `${stem}-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}`;
      const file = `${name}.${o.t5Format === 'bin' ? 'bin' : 'safetensors'}`;
      if (o.t5Format === 'bin') await writeTorchFile(fs, join(te, file), name, list, dtype, seed, progress);
      else await writeSafetensorsFile(fs, join(te, file), list, dtype, seed, progress);
      for (const t of list) weightMap[t.name] = file;
    }
    const index = {
      metadata: { total_size: SYNTH_DTYPE_BYTES[dtype] * count(tensors.t5) },
      weight_map: weightMap,
    };
    const indexName = o.t5Format === 'bin' ? 'pytorch_model.bin.index.json' : 'model.safetensors.index.json';
    await fs.writeFile(join(te, indexName), `${JSON.stringify(index, null, 2)}\n`);
    await rename(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  for (const f of [
    'stdit/config.json',
    'stdit/model.safetensors',
    'vae/config.json',
    'vae/model.safetensors',
  ])
    files.push(join(outDir, f));
  const stdit = count(tensors.stdit);
  const t5 = count(tensors.t5);
  const vae = count(tensors.vae);
  return { outDir, parameters: { stdit, t5, vae, total: stdit + t5 + vae }, bytes: bytesTotal, files };
}

/** Writes one safetensors file of synthetic tensors, streamed chunk by chunk. */
async function writeSafetensorsFile(
  fs: FileSystemPort,
  path: string,
  tensors: readonly SynthTensor[],
  dtype: SynthDtype,
  seed: number,
  progress: (file: string, bytes: number) => void = () => undefined,
): Promise<void> {
  const out = await fs.createWriter(path);
  const w = await SafetensorsStreamWriter.begin(
    out,
    tensors.map((t) => ({ name: t.name, dtype, shape: t.shape })),
    { file: path, metadata: { format: 'pt' } },
  );
  for (const t of tensors) {
    await w.writeTensorChunks(t.name, syntheticChunks(seed, t.name, t.shape, dtype));
    progress(path, numel(t.shape) * SYNTH_DTYPE_BYTES[dtype]);
  }
  await w.finish();
}

async function writeTorchFile(
  fs: FileSystemPort,
  path: string,
  archiveName: string,
  tensors: readonly SynthTensor[],
  dtype: SynthDtype,
  seed: number,
  progress: (file: string, bytes: number) => void,
): Promise<void> {
  const out = await fs.createWriter(path);
  const w = await TorchZipWriter.create(out, {
    archiveName,
    file: path,
    tensors: tensors.map((t) => ({ name: t.name, dtype, shape: t.shape })),
  });
  for (const t of tensors) {
    // A zip record's CRC goes in its header: the tensor is assembled whole (the largest, the embedding table,
    // is 526 MB in float32).
    const bytes = new Uint8Array(numel(t.shape) * SYNTH_DTYPE_BYTES[dtype]);
    let at = 0;
    for (const chunk of syntheticChunks(seed, t.name, t.shape, dtype)) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    await w.writeTensor(t.name, bytes);
    progress(path, bytes.byteLength);
  }
  await w.finish();
}

/**
 * A synthetic STDiT3 checkpoint (float32 safetensors with the real key layout) for the snake_case `config`; returns
 * its number of parameters. Benchmarks and tests at sizes no fixture covers use it.
 */
export async function writeSyntheticStdit3(
  fs: FileSystemPort,
  path: string,
  config: Record<string, unknown>,
  seed: number,
): Promise<number> {
  const tensors = stdit3WeightNames(stdit3ConfigFromJson(config)).flatMap((g) => g.keys);
  await writeSafetensorsFile(fs, path, tensors, 'F32', seed);
  return count(tensors);
}
