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
 * Previews (`ctx.previews`): after every N-th denoising step the host gets x̂0 = z_i + v_i·t_i/1000, the clean-sample
 * estimate an LPL leap at that step would return, and in `vae` mode its decoded frames. A preview decode runs the
 * decode stage *inside* the denoise stage, with the denoiser's retained (and prefetched) blocks still resident, so
 * it gets only what the denoise stage's resolved budget has left: allowance = budget − denoiser resident bytes at
 * that step boundary, and the decode's own CI-DL plan is made under that allowance (blocks streamed through it as
 * the final decode would be). When the decode stage cannot fit the allowance (a block larger than what is left) the
 * preview falls back to x̂0 alone and says why (`fallback`); an unlimited budget always decodes. The job's resident
 * block bytes therefore never exceed the denoise budget because of previews. On the step that ends the run (last
 * step or leap) x̂0 is the final latent, so its frames are taken from the final decode instead of decoding twice.
 * Previews never change the result: the sampler only reads its tensors, and the final video is bit-identical with
 * previews on or off. The preview decodes' telemetry stays out of `ctx.emit` (the run's stages stay in order); each
 * preview reports its own cost instead.
 */
import type { BlockSet } from '../blockset/load';
import { isAbortError, type AbortSignalLike } from '../cidl/abort';
import type { BudgetSpec } from '../cidl/budget';
import type { RetentionPolicy } from '../cidl/plan';
import { gaussianNoise, validateNoiseSeed } from '../noise/gaussian';
import type { Clock, InferenceBackend, MemoryProbe } from '../ports';
import { validateLplOptions, type LplOptions } from '../sampler/lpl';
import type { StepRecord, StepState } from '../sampler/rectified-flow';
import type { RatioTime } from '../sampler/timesteps';
import type { Stdit3Config } from '../stdit3/config';
import { runTextStage, T5EncoderCache, textBlocks } from '../t5/text-stage';
import { TEXT_TOKENIZER_FILE } from '../t5/text-manifest';
import { preparePrompt, T5Tokenizer } from '../t5/tokenizer';
import type { EngineEvent, EventSink } from '../telemetry';
import type { FloatTensor } from '../tensor';
import {
  latentChannelsOf,
  latentFramesFor,
  spatialFactorOf,
  timeFactorOf,
  type VaeConfig,
} from '../vae/config';
import {
  decodeConfig,
  planDecodeStage,
  runDecodeStage,
  toUint8Frames,
  type Uint8Frames,
} from '../vae/decode-stage';
import { VaeDecoderModel } from '../vae/model';
import { denoiserConfig, runDenoise, Stdit3ModelCache, type DenoiseResult } from './denoise';
import type { VerifyPolicy } from './denoise-job';

/** How the prompt is prepared before tokenisation (spec 8 "Prompt preparation", spec 10 item 4). */
export type PromptStyle = 'python' | 'app' | 'none';

/** One text-to-video request. Unset fields take the model's sampling defaults (see the module comment). */
export interface GenerateParams {
  prompt: string;
  /** Seed of the portable Gaussian noise z0 (ignored when `z0` is given). */
  seed: number;
  /** Sampling steps (model default, else 30). */
  steps?: number;
  /** Classifier-free guidance scale (model default, else 7.0). */
  cfgScale?: number;
  /** Pixel frames (model default, else 51). */
  numFrames?: number;
  /** Pixel height (model default, else 256); a multiple of the VAE's spatial factor. */
  heightPx?: number;
  /** Pixel width (model default, else 256); a multiple of the VAE's spatial factor. */
  widthPx?: number;
  /** fps conditioning (model default, else 24). */
  fps?: number;
  /** Linear Proportional Leap (default off). */
  lpl?: LplOptions;
  /** TDTM: steps with index < mergeSteps run merged (default 0 = off). */
  tdtm?: { mergeSteps: number };
  /** CI-DL: one budget spec, resolved per stage on that stage's blocks (default: unlimited). */
  cidl?: { budget: BudgetSpec; policy?: RetentionPolicy; prefetch?: boolean; verify?: VerifyPolicy };
  /** Not a field: the prompt style is `promptStyle`. */
  prompt_style?: never;
  /** Prompt preparation (model default, else 'python'). 'none': the prompt verbatim, no suffix. */
  promptStyle?: PromptStyle;
  /** Aesthetic-score suffix; null = none (model default, else 6.5 for 'python', none for 'app'). */
  aestheticScore?: number | null;
  /** Timestep schedule (model defaults, else discrete + transform with Python's ratio_time). */
  timesteps?: { discrete?: boolean; transform?: boolean; ratioTime?: RatioTime };
  /** Initial noise [1, C, T, H, W] (baseline comparisons reuse the exact noise); otherwise drawn from `seed`. */
  z0?: FloatTensor;
}

/** Compiled sessions and the parsed tokenizer, reused across generations on one host and backend. */
export class GenerateCaches {
  readonly denoiser = new Stdit3ModelCache();
  readonly text = new T5EncoderCache();
  private readonly vae = new Map<string, VaeDecoderModel>();
  private readonly tokenizers = new Map<string, T5Tokenizer>();

  /** The VAE decoder model for a config. */
  vaeFor(backend: InferenceBackend, cfg: VaeConfig): VaeDecoderModel {
    const key = JSON.stringify(cfg);
    let m = this.vae.get(key);
    if (!m) {
      m = new VaeDecoderModel(backend, cfg);
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

/** Previews during denoising (a host concern, not a generation parameter: they never change the result). */
export interface GeneratePreviewOptions {
  /** A preview after every `everySteps`-th step (steps everySteps−1, 2·everySteps−1, …). */
  readonly everySteps: number;
  /** `vae`: decode x̂0 when the budget has room (else fall back to `latent`); `latent`: x̂0 only, no decode. */
  readonly decode: 'vae' | 'latent';
  /** Decode at most this many frames, evenly spaced over the video (first and last included). Default: all. */
  readonly maxFrames?: number;
  /** Receives each preview; awaited before the next step (backpressure). A throw fails the run. */
  readonly onPreview: (preview: GeneratePreview) => void | Promise<void>;
}

/** One denoising preview. */
export interface GeneratePreview {
  readonly step: number;
  readonly t: number;
  /** This step ends the run (last step or LPL leap): x0 is the final latent. */
  readonly final: boolean;
  /** x̂0 = z_i + v_i·t_i/1000 [1, C, T, H, W]: exactly what an LPL leap at this step would return. Read-only. */
  readonly x0: FloatTensor;
  /** Decoded RGB frames of x̂0 (`vae` mode) at the video's size; `indices` are their video frame numbers. */
  readonly frames: (Uint8Frames & { readonly channels: 3; readonly indices: readonly number[] }) | null;
  /** Why a `vae` preview carries no frames (null when it does, or in `latent` mode). */
  readonly fallback: string | null;
  /**
   * What the preview decode cost: wall time, its CI-DL allowance (the denoise budget minus `denoiserResidentBytes`;
   * null = unlimited), its peak block bytes and loads. Null when nothing was decoded for it (latent mode, a
   * fallback, or the final step, whose frames come from the final decode).
   */
  readonly cost: {
    readonly ms: number;
    readonly allowanceBytes: number | null;
    readonly denoiserResidentBytes: number;
    readonly peakBytes: number;
    readonly loads: { readonly count: number; readonly bytes: number };
  } | null;
}

/** What a generation needs from its host. */
export interface GenerateContext {
  readonly blockSet: BlockSet;
  readonly backend: InferenceBackend;
  readonly clock: Clock;
  readonly emit: EventSink;
  readonly probe?: MemoryProbe;
  readonly signal?: AbortSignalLike;
  /** Reuse compiled sessions across calls (otherwise compiled and released per call). */
  readonly caches?: GenerateCaches;
  /** Previews during denoising (see the module comment). */
  readonly previews?: GeneratePreviewOptions;
}

/** The parameters a generation actually used: every default resolved, plus the derived sizes. */
export interface ResolvedGenerateParams {
  prompt: string;
  seed: number;
  steps: number;
  cfgScale: number;
  numFrames: number;
  heightPx: number;
  widthPx: number;
  fps: number;
  lpl: LplOptions;
  tdtm: { mergeSteps: number };
  cidl: { budget: BudgetSpec; policy: RetentionPolicy; prefetch: boolean; verify: VerifyPolicy };
  promptStyle: PromptStyle;
  aestheticScore: number | null;
  timesteps: { discrete: boolean; transform: boolean; ratioTime: RatioTime };
  /** Whether z0 came from the caller (true) or from `seed` (false). */
  z0Given: boolean;
  /** Derived: the text actually tokenised. */
  preparedPrompt: string;
  /** Derived: caption tokens L (the denoiser's model_max_length). */
  captionLength: number;
  /** Derived: latent size [C, T, H, W]. */
  latent: { channels: number; frames: number; height: number; width: number };
  /** Derived: the VAE's factors. */
  vae: { spatialFactor: number; timeFactor: number; temporal: boolean };
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
}

/** A rejected parameter; `field` names it (`heightPx`, `lpl.leapStep`, …). */
export class GenerateParamsError extends Error {
  override readonly name = 'GenerateParamsError';
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(`invalid generate params: ${field} ${why}`);
  }
}

/** The model's recommended sampling settings, from `stages.denoiser.config.sampling` (all optional). */
export interface SamplingDefaults {
  steps?: number;
  cfgScale?: number;
  discrete?: boolean;
  transform?: boolean;
  numFrames?: number;
  heightPx?: number;
  widthPx?: number;
  fps?: number;
  /** Present (possibly null) when the config says; absent otherwise. */
  aestheticScore?: number | null;
  promptStyle?: PromptStyle;
}

/** Open-Sora v1.2's inference defaults, used where the model's sampling config is silent. */
export const OPENSORA_SAMPLING_DEFAULTS = {
  steps: 30,
  cfgScale: 7.0,
  discrete: true,
  transform: true,
  numFrames: 51,
  heightPx: 256,
  widthPx: 256,
  fps: 24,
} as const;

/** Reads the block set's sampling defaults; a malformed value throws naming its key. */
export function samplingDefaults(blockSet: BlockSet): SamplingDefaults {
  const stage = blockSet.manifest.stages.denoiser;
  const raw = stage?.config['sampling'];
  if (raw === undefined || raw === null) return {};
  const where = 'stages.denoiser.config.sampling';
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${blockSet.dir}: ${where} must be an object`);
  const s = raw as Record<string, unknown>;
  const out: SamplingDefaults = {};
  const num = (key: string, check: (v: number) => boolean, what: string): number | undefined => {
    const v = s[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !check(v))
      throw new Error(`${blockSet.dir}: ${where}.${key} must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = s[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean')
      throw new Error(`${blockSet.dir}: ${where}.${key} must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  };
  const posInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  const set = <K extends keyof SamplingDefaults>(k: K, v: SamplingDefaults[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('steps', num('num_sampling_steps', posInt, 'a positive integer'));
  set('cfgScale', num('cfg_scale', Number.isFinite, 'a number'));
  set('discrete', bool('use_discrete_timesteps'));
  set('transform', bool('use_timestep_transform'));
  set('numFrames', num('num_frames', posInt, 'a positive integer'));
  set('heightPx', num('height', posInt, 'a positive integer'));
  set('widthPx', num('width', posInt, 'a positive integer'));
  set(
    'fps',
    num('fps', (v) => Number.isFinite(v) && v > 0, 'a positive number'),
  );
  if ('aesthetic_score' in s) {
    const a = s['aesthetic_score'];
    if (a !== null && (typeof a !== 'number' || !Number.isFinite(a)))
      throw new Error(
        `${blockSet.dir}: ${where}.aesthetic_score must be a number or null, got ${JSON.stringify(a)}`,
      );
    out.aestheticScore = a as number | null;
  }
  const style = s['prompt_style'];
  if (style !== undefined && style !== null) {
    if (style !== 'python' && style !== 'app' && style !== 'none')
      throw new Error(
        `${blockSet.dir}: ${where}.prompt_style must be python, app or none, got ${JSON.stringify(style)}`,
      );
    out.promptStyle = style;
  }
  return out;
}

/** Builds the T5 tokenizer from the block set's `text/tokenizer.json`. */
export async function loadTokenizer(blockSet: BlockSet): Promise<T5Tokenizer> {
  const raw = (blockSet.manifest.stages as Record<string, unknown>)['text'] as
    { tokenizer?: unknown } | undefined;
  if (!raw)
    throw new Error(`${blockSet.dir}: the block set has no text stage (convert the T5 encoder into it)`);
  if (raw.tokenizer !== TEXT_TOKENIZER_FILE || !(await blockSet.hasFile(TEXT_TOKENIZER_FILE)))
    throw new Error(
      `${blockSet.dir}: the block set has no ${TEXT_TOKENIZER_FILE} (convert the model directory with text_encoder/tokenizer.json)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(await blockSet.readText(TEXT_TOKENIZER_FILE));
  } catch (e) {
    throw new Error(`${blockSet.path(TEXT_TOKENIZER_FILE)}: not valid JSON (${(e as Error).message})`);
  }
  return T5Tokenizer.fromJson(json);
}

const bad = (field: string, why: string): never => {
  throw new GenerateParamsError(field, why);
};

function checkPosInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    bad(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/**
 * Resolves and validates the parameters against the block set (without running anything). Throws a
 * GenerateParamsError naming the first bad field.
 */
export function resolveGenerateParams(blockSet: BlockSet, params: GenerateParams): ResolvedGenerateParams {
  if (params === null || typeof params !== 'object') bad('params', 'must be an object');
  if ((params as { prompt_style?: unknown }).prompt_style !== undefined)
    bad('prompt_style', 'is not a field: use promptStyle');
  const defaults = samplingDefaults(blockSet);
  const den: Stdit3Config = denoiserConfig(blockSet);
  let vae: VaeConfig;
  try {
    vae = decodeConfig(blockSet);
  } catch (e) {
    throw new Error(`${blockSet.dir}: cannot generate without a VAE decoder: ${(e as Error).message}`);
  }
  textBlocks(blockSet.manifest); // throws when the text stage is missing or invalid

  if (typeof params.prompt !== 'string') bad('prompt', 'must be a string');
  if (params.prompt.trim() === '') bad('prompt', 'must not be empty');
  if (typeof params.seed !== 'number') bad('seed', `must be a number, got ${JSON.stringify(params.seed)}`);
  try {
    validateNoiseSeed(params.seed);
  } catch (e) {
    bad('seed', `is invalid: ${(e as Error).message}`);
  }
  const steps = checkPosInt('steps', params.steps ?? defaults.steps ?? OPENSORA_SAMPLING_DEFAULTS.steps);
  const cfgScale = params.cfgScale ?? defaults.cfgScale ?? OPENSORA_SAMPLING_DEFAULTS.cfgScale;
  if (typeof cfgScale !== 'number' || !Number.isFinite(cfgScale))
    bad('cfgScale', `must be a finite number, got ${JSON.stringify(cfgScale)}`);
  const numFrames = checkPosInt(
    'numFrames',
    params.numFrames ?? defaults.numFrames ?? OPENSORA_SAMPLING_DEFAULTS.numFrames,
  );
  const heightPx = checkPosInt(
    'heightPx',
    params.heightPx ?? defaults.heightPx ?? OPENSORA_SAMPLING_DEFAULTS.heightPx,
  );
  const widthPx = checkPosInt(
    'widthPx',
    params.widthPx ?? defaults.widthPx ?? OPENSORA_SAMPLING_DEFAULTS.widthPx,
  );
  const fps = params.fps ?? defaults.fps ?? OPENSORA_SAMPLING_DEFAULTS.fps;
  if (typeof fps !== 'number' || !Number.isFinite(fps) || fps <= 0)
    bad('fps', `must be a positive number, got ${JSON.stringify(fps)}`);

  // Sizes the VAE and the denoiser can take.
  const spatialFactor = spatialFactorOf(vae);
  const timeFactor = timeFactorOf(vae);
  if (heightPx % spatialFactor !== 0)
    bad(
      'heightPx',
      `${heightPx} is not a multiple of the VAE's spatial factor ${spatialFactor} (the latent height ${heightPx}/${spatialFactor} must be an integer)`,
    );
  if (widthPx % spatialFactor !== 0)
    bad(
      'widthPx',
      `${widthPx} is not a multiple of the VAE's spatial factor ${spatialFactor} (the latent width ${widthPx}/${spatialFactor} must be an integer)`,
    );
  const channels = latentChannelsOf(vae);
  if (channels !== den.inChannels)
    throw new Error(
      `${blockSet.dir}: the VAE's latent has ${channels} channels but the denoiser takes ${den.inChannels}`,
    );
  const latentFrames = vae.temporal ? latentFramesFor(numFrames, vae.microFrameSize, timeFactor) : numFrames;
  const latent = {
    channels,
    frames: latentFrames,
    height: heightPx / spatialFactor,
    width: widthPx / spatialFactor,
  };

  // Sampler knobs.
  const lpl: LplOptions = params.lpl ?? { mode: 'off' };
  try {
    validateLplOptions(lpl, steps);
  } catch (e) {
    bad('lpl', `is invalid: ${(e as Error).message}`);
  }
  const mergeSteps = params.tdtm?.mergeSteps ?? 0;
  if (typeof mergeSteps !== 'number' || !Number.isInteger(mergeSteps) || mergeSteps < 0)
    bad('tdtm.mergeSteps', `must be a non-negative integer, got ${JSON.stringify(mergeSteps)}`);
  if (mergeSteps > steps) bad('tdtm.mergeSteps', `(${mergeSteps}) exceeds the step count ${steps}`);
  if (mergeSteps > 0 && latentFrames < 2)
    bad(
      'tdtm.mergeSteps',
      `needs at least 2 latent frames to merge; ${numFrames} frames give ${latentFrames}`,
    );
  const ts = params.timesteps ?? {};
  const discrete = ts.discrete ?? defaults.discrete ?? OPENSORA_SAMPLING_DEFAULTS.discrete;
  const transform = ts.transform ?? defaults.transform ?? OPENSORA_SAMPLING_DEFAULTS.transform;
  if (typeof discrete !== 'boolean') bad('timesteps.discrete', 'must be a boolean');
  if (typeof transform !== 'boolean') bad('timesteps.transform', 'must be a boolean');
  const ratioTime: RatioTime = ts.ratioTime ?? 'python';
  if (
    ratioTime !== 'python' &&
    ratioTime !== 'app' &&
    !(typeof ratioTime === 'number' && Number.isFinite(ratioTime) && ratioTime > 0)
  )
    bad(
      'timesteps.ratioTime',
      `must be 'python', 'app' or a positive number, got ${JSON.stringify(ratioTime)}`,
    );

  if (transform && ratioTime === 'python' && numFrames > 1 && Math.floor(numFrames / 17) === 0)
    bad(
      'timesteps.transform',
      `with ratioTime 'python' needs numFrames ≥ 17 (or 1): Open-Sora's frame factor (${numFrames} // 17)·5 is 0, which makes every timestep 0; set timesteps.transform false or ratioTime 'app' / a number`,
    );

  // CI-DL.
  const cidl = params.cidl ?? { budget: { kind: 'unlimited' } };
  const policy = cidl.policy ?? 'paper';
  if (!['paper', 'none', 'largest-first'].includes(policy))
    bad('cidl.policy', `must be paper, none or largest-first, got ${JSON.stringify(policy)}`);
  const verify = cidl.verify ?? 'first-load';
  if (!['first-load', 'every-load', 'off'].includes(verify))
    bad('cidl.verify', `must be first-load, every-load or off, got ${JSON.stringify(verify)}`);
  const budgetKinds = ['unlimited', 'bytes', 'fraction', 'auto'];
  if (!cidl.budget || !budgetKinds.includes((cidl.budget as { kind?: string }).kind ?? ''))
    bad('cidl.budget', `must be one of ${budgetKinds.join(', ')} (a BudgetSpec)`);

  // Prompt preparation.
  const promptStyle = params.promptStyle ?? defaults.promptStyle ?? 'python';
  if (promptStyle !== 'python' && promptStyle !== 'app' && promptStyle !== 'none')
    bad('promptStyle', `must be python, app or none, got ${JSON.stringify(promptStyle)}`);
  let aestheticScore: number | null;
  if (params.aestheticScore !== undefined) aestheticScore = params.aestheticScore;
  else if (defaults.aestheticScore !== undefined) aestheticScore = defaults.aestheticScore;
  else aestheticScore = promptStyle === 'python' ? 6.5 : null;
  if (aestheticScore !== null && (typeof aestheticScore !== 'number' || !Number.isFinite(aestheticScore)))
    bad('aestheticScore', `must be a finite number or null, got ${JSON.stringify(aestheticScore)}`);
  if (promptStyle === 'none' && aestheticScore !== null) {
    if (params.aestheticScore !== undefined)
      bad('aestheticScore', "has no effect with promptStyle 'none' (the prompt is used verbatim); pass null");
    aestheticScore = null;
  }
  const preparedPrompt =
    promptStyle === 'none'
      ? params.prompt
      : preparePrompt(params.prompt, { style: promptStyle, aestheticScore });

  // Initial noise.
  const want = [1, channels, latent.frames, latent.height, latent.width];
  if (params.z0 !== undefined && params.z0.dims.join() !== want.join())
    bad('z0', `has shape [${params.z0.dims.join(', ')}], the job's latent is [${want.join(', ')}]`);

  return {
    prompt: params.prompt,
    seed: params.seed,
    steps,
    cfgScale,
    numFrames,
    heightPx,
    widthPx,
    fps,
    lpl,
    tdtm: { mergeSteps },
    cidl: { budget: cidl.budget, policy, prefetch: cidl.prefetch ?? true, verify },
    promptStyle,
    aestheticScore,
    timesteps: { discrete, transform, ratioTime },
    z0Given: params.z0 !== undefined,
    preparedPrompt,
    captionLength: den.modelMaxLength,
    latent,
    vae: { spatialFactor, timeFactor, temporal: vae.temporal },
  };
}

/** Runs text → denoise → decode for one prompt (see the module comment). */
export async function generateVideo(ctx: GenerateContext, params: GenerateParams): Promise<GenerateResult> {
  const { blockSet, clock } = ctx;
  const tStart = clock.nowMs();
  const p = resolveGenerateParams(blockSet, params);
  const caches = ctx.caches ?? new GenerateCaches();
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
      { ...ctxPorts(ctx), models: caches.text },
      { ids: tok.ids, mask: tok.mask },
      stageOpts,
    );
    const textMs = clock.nowMs() - tText;
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
        ...ctxPorts(ctx),
        models: caches.denoiser,
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

    // Decode.
    const tDecode = clock.nowMs();
    const video = await runDecodeStage(
      { ...ctxPorts(ctx), models: caches.vaeFor(ctx.backend, decodeConfig(blockSet)) },
      denoise.z,
      { numFrames: p.numFrames, ...stageOpts },
    );
    const decodeMs = clock.nowMs() - tDecode;
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
    };
  } finally {
    if (!ctx.caches) await caches.clear();
  }
}

/** Validates preview options (a throw names the field). */
function checkPreviewOptions(o: GeneratePreviewOptions): void {
  checkPosInt('previews.everySteps', o.everySteps);
  if (o.decode !== 'vae' && o.decode !== 'latent')
    bad('previews.decode', `must be vae or latent, got ${JSON.stringify(o.decode)}`);
  if (o.maxFrames !== undefined) checkPosInt('previews.maxFrames', o.maxFrames);
  if (typeof o.onPreview !== 'function') bad('previews.onPreview', 'must be a function');
}

/** `count` frame indices evenly spaced over 0..frames−1 (first and last included; the middle one for 1). */
export function previewFrameIndices(frames: number, count?: number): number[] {
  const m = Math.min(frames, count ?? frames);
  if (m === frames) return Array.from({ length: frames }, (_, i) => i);
  if (m === 1) return [Math.floor((frames - 1) / 2)];
  return Array.from({ length: m }, (_, j) => Math.round((j * (frames - 1)) / (m - 1)));
}

/** Makes the previews of one generation (see the module comment). */
class Previewer {
  private readonly indices: number[];
  /** The spatial decode's frame subset (undefined: every frame). */
  private readonly subset: number[] | undefined;
  private pending: { record: StepRecord; x0: FloatTensor } | null = null;
  /** Set after a preview decode fails: later previews do not retry. */
  private broken: string | null = null;

  constructor(
    private readonly ctx: GenerateContext,
    private readonly opts: GeneratePreviewOptions,
    private readonly caches: GenerateCaches,
    private readonly p: ResolvedGenerateParams,
  ) {
    checkPreviewOptions(opts);
    this.indices = previewFrameIndices(p.numFrames, opts.maxFrames);
    this.subset = this.indices.length < p.numFrames ? this.indices : undefined;
  }

  readonly afterStep = async (
    record: StepRecord,
    state: StepState,
    info: { final: boolean; cidl: { budgetBytes: number | null; residentBytes: number } },
  ): Promise<void> => {
    if ((record.step + 1) % this.opts.everySteps !== 0) return;
    const x0 = state.cleanEstimate();
    if (info.final && this.opts.decode === 'vae') {
      this.pending = { record, x0 };
      return;
    }
    const base = { step: record.step, t: record.t, final: info.final, x0 };
    if (this.opts.decode === 'latent') {
      await this.opts.onPreview({ ...base, frames: null, fallback: null, cost: null });
      return;
    }
    const decoded = await this.decode(x0, info.cidl);
    await this.opts.onPreview({ ...base, ...decoded });
  };

  /** The final step's preview, from the final decode's frames (its x̂0 is the final latent). */
  async afterFinalDecode(video: Uint8Frames): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    const pick = this.indices.map((i) => video.frames[i]!.slice());
    await this.opts.onPreview({
      step: pending.record.step,
      t: pending.record.t,
      final: true,
      x0: pending.x0,
      frames: { width: video.width, height: video.height, channels: 3, indices: this.indices, frames: pick },
      fallback: null,
      cost: null,
    });
  }

  private async decode(
    x0: FloatTensor,
    cidl: { budgetBytes: number | null; residentBytes: number },
  ): Promise<Pick<GeneratePreview, 'frames' | 'fallback' | 'cost'>> {
    if (this.broken) return { frames: null, fallback: this.broken, cost: null };
    const { ctx, p } = this;
    const allowance = cidl.budgetBytes === null ? null : Math.max(0, cidl.budgetBytes - cidl.residentBytes);
    const plan = planDecodeStage(ctx.blockSet, p.latent.frames, allowance, {
      numFrames: p.numFrames,
      policy: p.cidl.policy,
      prefetch: p.cidl.prefetch,
      frames: this.subset,
    });
    if (!plan.fits)
      return {
        frames: null,
        fallback:
          `no room to decode: the denoise budget is ${String(cidl.budgetBytes)} B with ${cidl.residentBytes} B of ` +
          `denoiser blocks resident, leaving ${String(allowance)} B; ${plan.reason ?? 'the decode stage does not fit'}`,
        cost: null,
      };
    let peakBytes = 0;
    const loads = { count: 0, bytes: 0 };
    const sink = (e: EngineEvent): void => {
      if (e.type === 'block.load.start' || e.type === 'block.load.end')
        peakBytes = Math.max(peakBytes, e.residentBytes);
      if (e.type === 'block.load.end') {
        loads.count++;
        loads.bytes += e.bytes;
      }
    };
    const t0 = ctx.clock.nowMs();
    try {
      const video = await runDecodeStage(
        { ...ctxPorts(ctx), emit: sink, models: this.caches.vaeFor(ctx.backend, decodeConfig(ctx.blockSet)) },
        x0,
        {
          numFrames: p.numFrames,
          budget: allowance === null ? { kind: 'unlimited' } : { kind: 'bytes', bytes: allowance },
          policy: p.cidl.policy,
          prefetch: p.cidl.prefetch,
          verify: p.cidl.verify,
          frames: this.subset,
        },
      );
      const u8 = toUint8Frames(video, { format: 'rgb' })[0]!;
      return {
        frames: { width: u8.width, height: u8.height, channels: 3, indices: this.indices, frames: u8.frames },
        fallback: null,
        cost: {
          ms: ctx.clock.nowMs() - t0,
          allowanceBytes: allowance,
          denoiserResidentBytes: cidl.residentBytes,
          peakBytes,
          loads,
        },
      };
    } catch (e) {
      if (isAbortError(e)) throw e;
      this.broken = `the preview decode failed (${(e as Error)?.message ?? String(e)}); previews stay latent for this run`;
      return { frames: null, fallback: this.broken, cost: null };
    }
  }
}

function ctxPorts(ctx: GenerateContext): Omit<GenerateContext, 'caches' | 'previews'> {
  return {
    blockSet: ctx.blockSet,
    backend: ctx.backend,
    clock: ctx.clock,
    emit: ctx.emit,
    probe: ctx.probe,
    signal: ctx.signal,
  };
}
