/**
 * The whole text-to-video pipeline (spec sections 6–10): prompt preparation → T5 tokenisation → the text stage →
 * the denoise stage (RFLOW + LPL, STDiT3 with TDTM, CI-DL) → the VAE decode stage → save_sample-style 8-bit frames.
 *
 * Defaults come from the model: `manifest.stages.denoiser.config.sampling` (the `sampling` object of the
 * checkpoint's `stdit/config.json`, stored verbatim by the converter; the Open-Sora Nano export writes one), else
 * Open-Sora v1.2's inference defaults (30 steps, CFG 7, discrete timesteps with the transform, 51 frames of
 * 256×256 at 24 fps, the Python prompt preparation with aesthetic score 6.5).
 *
 * Sizes: the latent height/width are the pixel sizes over the VAE's spatial factor (2^(up blocks − 1): 8 released,
 * 4 for Nano) and must be integral; latent frames follow the temporal VAE's chunk rule (spec 7.2: 17 → 5, 51 → 15)
 * or equal the pixel frames when the VAE has no temporal part.
 *
 * Each stage (text, denoise, decode) plans CI-DL against the same budget spec resolved on its own blocks, and they
 * run one after another, so at most one stage's blocks are resident at a time.
 *
 * Previews (`ctx.previews`): see generate-previews.ts.
 */
import { BlockBufferPool } from '../blockset/buffer-pool';
import type { BlockSet } from '../blockset/load';
import type { Precision } from '../blockset/precision';
import { gaussianNoise } from '../noise/gaussian';
import type { InferenceBackend } from '../ports';
import { runTextStage, T5EncoderCache } from '../t5/text-stage';
import { TEXT_SPIECE_FILE, TEXT_TOKENIZER_FILE } from '../t5/text-manifest';
import { T5Tokenizer } from '../t5/tokenizer';
import type { FloatTensor } from '../tensor';
import type { VaeConfig } from '../vae/config';
import { decodeConfig, decodePrecision, runDecodeStage, toUint8Frames } from '../vae/decode-stage';
import { VaeDecoderModel } from '../vae/model';
import type { StageMemoryReport } from '../cidl/memory-limit';
import { denoiserConfig, runDenoise, Stdit3ModelCache, type DenoiseResult } from '../stdit3/denoise-stage';
import { preflightJobMemory, refuseIfUnfit, type JobMemoryPreflight } from './memory-preflight';
import { Previewer, type GeneratePreviewOptions } from './generate-previews';
import { stagePorts, type StagePorts } from '../cidl/stage-scheduler';
import { resolveGenerateParams, type GenerateParams, type ResolvedGenerateParams } from './generate-params';

export {
  GenerateParamsError,
  modelRunDefaults,
  OPENSORA_SAMPLING_DEFAULTS,
  resolveGenerateParams,
  samplingDefaults,
  type GenerateParams,
  type ModelRunDefaults,
  type PromptStyle,
  type ResolvedGenerateParams,
  type SamplingDefaults,
} from './generate-params';
export { previewFrameIndices, type GeneratePreview, type GeneratePreviewOptions } from './generate-previews';

/** Compiled sessions and the parsed tokenizer, reused across generations on one host and backend. */
export class GenerateCaches {
  readonly denoiser = new Stdit3ModelCache();
  readonly text = new T5EncoderCache();
  private readonly vae = new Map<string, VaeDecoderModel>();
  private readonly tokenizers = new Map<string, T5Tokenizer>();

  /** The VAE decoder model for a config and weight precision. */
  vaeFor(backend: InferenceBackend, cfg: VaeConfig, precision: Precision = 'f32'): VaeDecoderModel {
    const key = JSON.stringify([cfg, precision]);
    let m = this.vae.get(key);
    if (!m) {
      m = new VaeDecoderModel(backend, cfg, precision);
      this.vae.set(key, m);
    }
    return m;
  }

  /** The tokenizer of a block set directory, parsed once. */
  async tokenizerFor(blockSet: BlockSet): Promise<T5Tokenizer> {
    let t = this.tokenizers.get(blockSet.dir);
    if (!t) {
      t = await loadTokenizer(blockSet);
      this.tokenizers.set(blockSet.dir, t);
    }
    return t;
  }

  /** Releases one stage's compiled sessions (their runtime arenas and the inputs they still hold). */
  async releaseStage(stage: 'text' | 'denoise' | 'decode'): Promise<void> {
    if (stage === 'text') await this.text.clear();
    else if (stage === 'denoise') await this.denoiser.clear();
    else {
      const vae = [...this.vae.values()];
      this.vae.clear();
      for (const m of vae) await m.release();
    }
  }

  /** Releases every compiled session. */
  async clear(): Promise<void> {
    await this.denoiser.clear();
    await this.text.clear();
    const vae = [...this.vae.values()];
    this.vae.clear();
    this.tokenizers.clear();
    for (const m of vae) await m.release();
  }
}

/** What a generation needs from its host: the ports, and optionally caches and previews. */
export interface GenerateContext extends StagePorts {
  /** Reuse compiled sessions across calls (otherwise compiled and released per call). */
  readonly caches?: GenerateCaches;
  /** Previews during denoising (see generate-previews.ts). */
  readonly previews?: GeneratePreviewOptions;
}

/** What a generation returns. */
export interface GenerateResult {
  /** The decoded video [1, 3, F, H, W] in about [−1, 1] (not clamped). */
  video: FloatTensor;
  /** save_sample's uint8 conversion, interleaved RGB, one buffer per frame. */
  frames: { width: number; height: number; channels: 3; frames: Uint8Array[] };
  /** The initial noise. */
  z0: FloatTensor;
  /** The denoised latent [1, C, T, H, W]. */
  latent: FloatTensor;
  denoise: DenoiseResult;
  tokens: {
    ids: BigInt64Array;
    mask: Int32Array;
    validLength: number;
    truncated: boolean;
    unknown: string[];
  };
  params: ResolvedGenerateParams;
  /** Wall times: load = tokenizer + denoiser graph compilation; text, denoise (sampling loop), decode; total. */
  timings: { loadMs: number; textMs: number; denoiseMs: number; decodeMs: number; totalMs: number };
  /**
   * Memory: the process limit (null unless the budget is `process`), the up-front preflight under it, and per stage
   * the prediction next to the measured process peak (cidl/memory-limit.ts).
   */
  memory: {
    limitBytes: number | null;
    preflight: JobMemoryPreflight | null;
    stages: StageMemoryReport[];
  };
}

/**
 * Builds the T5 tokenizer the block set carries: `text/tokenizer.json` (Hugging Face tokenizers) or, when the
 * checkpoint came with only a SentencePiece model, `text/spiece.model`.
 */
export async function loadTokenizer(blockSet: BlockSet): Promise<T5Tokenizer> {
  const raw = blockSet.manifest.stages.text;
  if (!raw)
    throw new Error(`${blockSet.dir}: the block set has no text stage (convert the T5 encoder into it)`);
  const file = raw.tokenizer;
  if ((file !== TEXT_TOKENIZER_FILE && file !== TEXT_SPIECE_FILE) || !(await blockSet.hasFile(file)))
    throw new Error(
      `${blockSet.dir}: the block set has no tokenizer (convert the model directory with text_encoder/tokenizer.json or spiece.model)`,
    );
  if (file === TEXT_SPIECE_FILE)
    return T5Tokenizer.fromSentencePiece(await blockSet.readBytes(file), blockSet.path(file));
  let json: unknown;
  try {
    json = JSON.parse(await blockSet.readText(file));
  } catch (e) {
    throw new Error(`${blockSet.path(file)}: not valid JSON (${(e as Error).message})`);
  }
  return T5Tokenizer.fromJson(json);
}

/** Runs text → denoise → decode for one prompt (see the module comment). */
export async function generateVideo(ctx: GenerateContext, params: GenerateParams): Promise<GenerateResult> {
  const { blockSet, clock } = ctx;
  const tStart = clock.nowMs();
  const p = resolveGenerateParams(blockSet, params);
  // Under a process limit, refuse a job that cannot fit before any stage runs.
  const preflight =
    p.cidl.budget.kind === 'process' ? await preflightJobMemory(blockSet, p, ctx.probe) : null;
  if (preflight) refuseIfUnfit(preflight);
  const reports: StageMemoryReport[] = [];
  const onMemory = (r: StageMemoryReport): void => void reports.push(r);
  const caches = ctx.caches ?? new GenerateCaches();
  // One buffer pool for the run's block loads: stages reuse block memory instead of waiting for the GC.
  const memory = new BlockBufferPool(ctx.probe?.reclaim?.bind(ctx.probe));
  // After a stage its blocks go back to the OS (the pool's buffers, once nothing the stage ran still points at them)
  // and, under a process limit, so do its compiled sessions: a session keeps its runtime's arena (hundreds of MB for
  // int8 T5) and the last run's inputs, which the next stage's budget would otherwise have to pay for.
  const settle = async (stage: 'text' | 'denoise' | 'decode'): Promise<void> => {
    if (preflight) await caches.releaseStage(stage);
    memory.trim();
    ctx.probe?.reclaim?.();
  };
  const previewer = ctx.previews ? new Previewer(ctx, ctx.previews, caches, p) : null;
  try {
    // Tokenise.
    const tLoad = clock.nowMs();
    const tokenizer = await caches.tokenizerFor(blockSet);
    const tok = tokenizer.encode(p.preparedPrompt, { maxLength: p.captionLength });
    const tokenizerMs = clock.nowMs() - tLoad;

    // Text stage.
    const stageOpts = {
      budget: p.cidl.budget,
      policy: p.cidl.policy,
      prefetch: p.cidl.prefetch,
      verify: p.cidl.verify,
    };
    const tText = clock.nowMs();
    const text = await runTextStage(
      { ...stagePorts(ctx), models: caches.text, memory, onMemory },
      { ids: tok.ids, mask: tok.mask },
      stageOpts,
    );
    const textMs = clock.nowMs() - tText;
    await settle('text');
    const den = denoiserConfig(blockSet);
    const yDims = text.y.dims;
    if (yDims[yDims.length - 1] !== den.captionChannels)
      throw new Error(
        `${blockSet.dir}: the text encoder gives ${String(yDims[yDims.length - 1])}-wide states, the denoiser's caption_channels is ${den.captionChannels}`,
      );

    // Denoise.
    const { channels, frames, height, width } = p.latent;
    const z0 = params.z0 ?? gaussianNoise(p.seed, [1, channels, frames, height, width]);
    const denoise = await runDenoise(
      {
        ...stagePorts(ctx),
        models: caches.denoiser,
        memory,
        onMemory,
        ...(previewer ? { afterStep: previewer.afterStep } : {}),
      },
      {
        caption: { y: text.y, mask: text.mask },
        latent: { frames, height, width },
        video: { heightPx: p.heightPx, widthPx: p.widthPx, numFrames: p.numFrames, fps: p.fps },
        z0,
        seed: p.seed,
        steps: p.steps,
        cfgScale: p.cfgScale,
        timesteps: p.timesteps,
        lpl: p.lpl,
        tdtm: p.tdtm,
        cidl: { ...stageOpts },
      },
    );

    await settle('denoise');

    // Decode.
    const tDecode = clock.nowMs();
    const video = await runDecodeStage(
      {
        ...stagePorts(ctx),
        models: caches.vaeFor(ctx.backend, decodeConfig(blockSet), decodePrecision(blockSet)),
        memory,
        onMemory,
      },
      denoise.z,
      { numFrames: p.numFrames, ...stageOpts },
    );
    const decodeMs = clock.nowMs() - tDecode;
    await settle('decode');
    const u8 = toUint8Frames(video, { format: 'rgb' })[0];
    if (!u8) throw new Error('the decode stage returned an empty batch');
    await previewer?.afterFinalDecode(u8);
    const tEnd = clock.nowMs();
    return {
      video,
      frames: { width: u8.width, height: u8.height, channels: 3, frames: u8.frames },
      z0,
      latent: denoise.z,
      denoise,
      tokens: {
        ids: tok.ids,
        mask: tok.mask,
        validLength: tok.validLength,
        truncated: tok.truncated,
        unknown: tok.unknown,
      },
      params: p,
      timings: {
        loadMs: tokenizerMs + denoise.timings.compileMs,
        textMs,
        denoiseMs: denoise.timings.denoiseMs,
        decodeMs,
        totalMs: tEnd - tStart,
      },
      memory: {
        limitBytes: p.cidl.budget.kind === 'process' ? p.cidl.budget.limitBytes : null,
        preflight,
        stages: reports,
      },
    };
  } finally {
    if (!ctx.caches) await caches.clear();
  }
}
