/**
 * Parameter resolution and validation of a generation (see generate.ts): the model's sampling defaults, Open-Sora
 * v1.2's fallbacks, and the derived latent / VAE sizes. Re-exported from `generate.ts`.
 */
import type { BlockSet } from '../blockset/load';
import type { BudgetSpec } from '../cidl/budget';
import { validateNoiseSeed } from '../noise/gaussian';
import { CIDL_KNOBS, settingsOf, TDTM_KNOBS } from '../techniques/knobs';
import type { CidlKnobValues, LplOptions, TdtmOptions } from '../techniques/knobs';
import { knobsProblem, LplOptionsError, tdtmProblem, validateLplOptions } from '../techniques/validate';
import type { RatioTime } from '../sampler/timesteps';
import type { Stdit3Config } from '../stdit3/config';
import { textBlocks } from '../t5/text-stage';
import { preparePrompt } from '../t5/tokenizer';
import type { FloatTensor } from '../tensor';
import { latentChannelsOf, latentOf, spatialFactorOf, timeFactorOf, type VaeConfig } from '../vae/config';
import { decodeConfig } from '../vae/decode-stage';
import { denoiserConfig } from '../stdit3/denoise-stage';

/** How the prompt is prepared before tokenisation (spec 8 "Prompt preparation", spec 10 item 4). */
export type PromptStyle = 'python' | 'app' | 'none';

/** One text-to-video request. Unset fields take the model's sampling defaults (see generate.ts). */
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
  /** TDTM: steps with index < mergeSteps run merged; absent knobs take the registry's defaults (0 = off). */
  tdtm?: Partial<TdtmOptions>;
  /**
   * CI-DL: one budget spec, resolved per stage on that stage's blocks (default: unlimited), and the registry's other
   * knobs (absent: their defaults).
   */
  cidl?: { budget: BudgetSpec } & Partial<CidlKnobValues>;
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
  tdtm: TdtmOptions;
  cidl: { budget: BudgetSpec } & CidlKnobValues;
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

/** The aesthetic score a run's prompt preparation gets with no `aestheticScore` param. */
const PYTHON_AESTHETIC_SCORE = 6.5;

/**
 * What each model-dependent parameter of a run is when the request leaves it out: the model's sampling config,
 * else Open-Sora v1.2's defaults. Devices publish this (device info `runModel.defaults`) so a client can learn it.
 */
export interface ModelRunDefaults {
  steps: number;
  cfgScale: number;
  numFrames: number;
  heightPx: number;
  widthPx: number;
  fps: number;
  promptStyle: PromptStyle;
  /** For `promptStyle` above (a request naming another style gets that style's default). */
  aestheticScore: number | null;
  timesteps: { discrete: boolean; transform: boolean; ratioTime: RatioTime };
}

/** The aesthetic score of prompt style `style` when the request names none. */
function defaultAestheticScore(style: PromptStyle, model: SamplingDefaults): number | null {
  if (style === 'none') return null;
  if (model.aestheticScore !== undefined) return model.aestheticScore;
  return style === 'python' ? PYTHON_AESTHETIC_SCORE : null;
}

/** The parameters a run gets on `blockSet` where it names none (throws naming a malformed sampling key). */
export function modelRunDefaults(blockSet: BlockSet): ModelRunDefaults {
  const model = samplingDefaults(blockSet);
  const fallback = OPENSORA_SAMPLING_DEFAULTS;
  const promptStyle = model.promptStyle ?? 'python';
  return {
    steps: model.steps ?? fallback.steps,
    cfgScale: model.cfgScale ?? fallback.cfgScale,
    numFrames: model.numFrames ?? fallback.numFrames,
    heightPx: model.heightPx ?? fallback.heightPx,
    widthPx: model.widthPx ?? fallback.widthPx,
    fps: model.fps ?? fallback.fps,
    promptStyle,
    aestheticScore: defaultAestheticScore(promptStyle, model),
    timesteps: {
      discrete: model.discrete ?? fallback.discrete,
      transform: model.transform ?? fallback.transform,
      ratioTime: 'python',
    },
  };
}

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

/** Throws a GenerateParamsError for `field`. */
export const bad = (field: string, why: string): never => {
  throw new GenerateParamsError(field, why);
};

/** `v` as a positive integer, else a GenerateParamsError for `field`. */
export function checkPosInt(field: string, v: unknown): number {
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
  const model = samplingDefaults(blockSet);
  const defaults = modelRunDefaults(blockSet);
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
  const steps = checkPosInt('steps', params.steps ?? defaults.steps);
  const cfgScale = params.cfgScale ?? defaults.cfgScale;
  if (typeof cfgScale !== 'number' || !Number.isFinite(cfgScale))
    bad('cfgScale', `must be a finite number, got ${JSON.stringify(cfgScale)}`);
  const numFrames = checkPosInt('numFrames', params.numFrames ?? defaults.numFrames);
  const heightPx = checkPosInt('heightPx', params.heightPx ?? defaults.heightPx);
  const widthPx = checkPosInt('widthPx', params.widthPx ?? defaults.widthPx);
  const fps = params.fps ?? defaults.fps;
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
  const latent = { channels, ...latentOf(vae, numFrames, heightPx, widthPx) };
  const latentFrames = latent.frames;

  // Sampler knobs.
  const lpl: LplOptions = params.lpl ?? { mode: 'off' };
  try {
    validateLplOptions(lpl, steps);
  } catch (e) {
    // Name the option itself (`lpl.leapStep`), so a client can point at the field to fix.
    const field = e instanceof LplOptionsError ? e.field : '';
    bad(
      field === '' ? 'lpl' : field === 'steps' ? 'steps' : `lpl.${field}`,
      `is invalid: ${(e as Error).message}`,
    );
  }
  const tdtm = settingsOf(TDTM_KNOBS, params.tdtm);
  const tdtmBad = knobsProblem(TDTM_KNOBS, tdtm);
  if (tdtmBad !== null) bad(`tdtm.${tdtmBad[0]}`, tdtmBad[1]);
  const tdtmWhy = tdtmProblem(tdtm.mergeSteps, { steps, latentFrames });
  if (tdtmWhy !== null) bad('tdtm.mergeSteps', tdtmWhy);
  const ts = params.timesteps ?? {};
  const discrete = ts.discrete ?? defaults.timesteps.discrete;
  const transform = ts.transform ?? defaults.timesteps.transform;
  if (typeof discrete !== 'boolean') bad('timesteps.discrete', 'must be a boolean');
  if (typeof transform !== 'boolean') bad('timesteps.transform', 'must be a boolean');
  const ratioTime: RatioTime = ts.ratioTime ?? defaults.timesteps.ratioTime;
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
  const cidlKnobs = settingsOf(CIDL_KNOBS, cidl);
  const cidlWhy = knobsProblem(CIDL_KNOBS, cidlKnobs);
  if (cidlWhy !== null) bad(`cidl.${cidlWhy[0]}`, cidlWhy[1]);
  const budgetKinds = ['unlimited', 'bytes', 'fraction', 'auto', 'process'];
  if (!cidl.budget || !budgetKinds.includes((cidl.budget as { kind?: string }).kind ?? ''))
    bad('cidl.budget', `must be one of ${budgetKinds.join(', ')} (a BudgetSpec)`);

  // Prompt preparation.
  const promptStyle = params.promptStyle ?? defaults.promptStyle;
  if (promptStyle !== 'python' && promptStyle !== 'app' && promptStyle !== 'none')
    bad('promptStyle', `must be python, app or none, got ${JSON.stringify(promptStyle)}`);
  let aestheticScore =
    params.aestheticScore !== undefined ? params.aestheticScore : defaultAestheticScore(promptStyle, model);
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
    tdtm,
    cidl: { budget: cidl.budget, ...cidlKnobs },
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
