/**
 * Open-Sora v1.2 VAE decoder configuration (spec 7), the decode-side checkpoint key list grouped into CI-DL blocks,
 * and the chunk plans of the decode path (5-latent temporal chunks, spatial micro-batches).
 *
 * Config JSON (the fixture manifest's `config`, stored verbatim in the block-set manifest's `stages.decode.config`):
 *
 * ```
 * { spatial_vae: { block_out_channels, layers_per_block, latent_channels, norm_num_groups, out_channels, act_fn? },
 *   temporal_vae?: { in_out_channels, latent_embed_dim, embed_dim, filters, num_res_blocks, channel_multipliers,
 *                    temporal_downsample, num_groups, activation_fn? } | null,
 *   pipeline?: { micro_frame_size?: 17, micro_batch_size?: 4 } }
 * ```
 *
 * **No temporal VAE.** Open-Sora v1.2 always runs the temporal VAE. A config may leave `temporal_vae` out (or null),
 * as a small ("nano") model will: decoding is then the SD-VAE alone on `x_z = z·scale + shift`, one output frame
 * per latent frame (`numFrames` must equal the latent frame count), with `scale`/`shift` of shape
 * [1, latent_channels, 1, 1, 1] still read from the checkpoint.
 */

/** The SD-VAE (diffusers AutoencoderKL) decoder's structure. */
export interface SdVaeConfig {
  /** Encoder widths; the decoder's up blocks use them reversed (128/256/512/512 released). */
  readonly blockOutChannels: readonly number[];
  /** ResnetBlock2D per up block = layersPerBlock + 1. */
  readonly layersPerBlock: number;
  /** Latent channels (4). */
  readonly latentChannels: number;
  /** RGB output channels (3). */
  readonly outChannels: number;
  /** GroupNorm groups (32 released). */
  readonly normGroups: number;
}

/** The temporal VAE (`VAE_Temporal`) decoder's structure. */
export interface TemporalVaeConfig {
  /** Channels of the temporal decoder's output = the SD-VAE latent (4). */
  readonly inOutChannels: number;
  /** Width after post_quant_conv, fed to decoder.conv1 (4). */
  readonly latentEmbedDim: number;
  /** Channels of z (4). */
  readonly embedDim: number;
  /** Base width (128 released). */
  readonly filters: number;
  /** ResBlocks per stage and in decoder.res_blocks (4). */
  readonly numResBlocks: number;
  /** Stage widths = filters · multiplier ((1, 2, 2, 4)). */
  readonly channelMultipliers: readonly number[];
  /** Per stage boundary i−1: whether stage i doubles time (depth-to-time) ((false, true, true)). */
  readonly temporalDownsample: readonly boolean[];
  /** GroupNorm groups (32 released). */
  readonly numGroups: number;
}

/** The whole VAE decoder configuration. */
export interface VaeConfig {
  readonly spatial: SdVaeConfig;
  /** Whether the temporal VAE runs (false: spatial-only decode of z·scale+shift, see the module comment). */
  readonly temporal: boolean;
  /** The temporal VAE when `temporal`, else null. */
  readonly temporalVae: TemporalVaeConfig | null;
  /** Pixel frames per temporal chunk (17). */
  readonly microFrameSize: number;
  /** Frames per SD-VAE micro-batch (4). */
  readonly microBatchSize: number;
}

/** GroupNorm epsilon of the temporal VAE. */
export const TEMPORAL_GN_EPS = 1e-5;
/** GroupNorm epsilon of the SD-VAE decoder. */
export const SPATIAL_GN_EPS = 1e-6;
/** The hard-coded SD latent divisor of VideoAutoencoderKL.decode (not the diffusers scaling_factor). */
export const SD_LATENT_DIVISOR = 0.18215;
/** Key prefix of the SD-VAE (diffusers AutoencoderKL inside VideoAutoencoderKL). */
export const SPATIAL_KEY_PREFIX = 'spatial_vae.module.';
/** Key prefix of the temporal VAE. */
export const TEMPORAL_KEY_PREFIX = 'temporal_vae.';

/** The released OpenSora-VAE-v1.2 config in this module's JSON layout. */
export const RELEASED_VAE_CONFIG_JSON = {
  spatial_vae: {
    block_out_channels: [128, 256, 512, 512],
    layers_per_block: 2,
    latent_channels: 4,
    norm_num_groups: 32,
    out_channels: 3,
    act_fn: 'silu',
  },
  temporal_vae: {
    in_out_channels: 4,
    latent_embed_dim: 4,
    embed_dim: 4,
    filters: 128,
    num_res_blocks: 4,
    channel_multipliers: [1, 2, 2, 4],
    temporal_downsample: [false, true, true],
    num_groups: 32,
    activation_fn: 'swish',
  },
  pipeline: { micro_frame_size: 17, micro_batch_size: 4 },
} as const;

type Obj = Record<string, unknown>;

function fail(msg: string): never {
  throw new Error(`VAE config: ${msg}`);
}

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`'${where}' must be an object`);
  return v as Obj;
}

function posInt(o: Obj, key: string, where: string, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (v === undefined) fail(`missing key '${where}.${key}'`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    fail(`'${where}.${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function intList(o: Obj, key: string, where: string): number[] {
  const v = o[key];
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)
  )
    fail(`'${where}.${key}' must be a non-empty list of positive integers, got ${JSON.stringify(v)}`);
  return v as number[];
}

function divisible(width: number, groups: number, what: string): void {
  if (width % groups !== 0) fail(`${what} width ${width} is not divisible by ${groups} GroupNorm groups`);
}

/** Parses the VAE config JSON (see the module comment); unknown keys are ignored, errors name the key. */
export function vaeConfigFromJson(json: unknown): VaeConfig {
  const root = obj(json, '(root)');
  const s = obj(root['spatial_vae'], 'spatial_vae');
  const act = s['act_fn'];
  if (act !== undefined && act !== 'silu')
    fail(`'spatial_vae.act_fn' must be "silu", got ${JSON.stringify(act)}`);
  const spatial: SdVaeConfig = {
    blockOutChannels: intList(s, 'block_out_channels', 'spatial_vae'),
    layersPerBlock: posInt(s, 'layers_per_block', 'spatial_vae'),
    latentChannels: posInt(s, 'latent_channels', 'spatial_vae'),
    outChannels: posInt(s, 'out_channels', 'spatial_vae', 3),
    normGroups: posInt(s, 'norm_num_groups', 'spatial_vae'),
  };
  for (const c of spatial.blockOutChannels) divisible(c, spatial.normGroups, 'spatial_vae block');

  let temporalVae: TemporalVaeConfig | null = null;
  if (root['temporal_vae'] !== undefined && root['temporal_vae'] !== null) {
    const t = obj(root['temporal_vae'], 'temporal_vae');
    const fn = t['activation_fn'];
    if (fn !== undefined && fn !== 'swish' && fn !== 'silu')
      fail(`'temporal_vae.activation_fn' must be "swish", got ${JSON.stringify(fn)}`);
    const mults = intList(t, 'channel_multipliers', 'temporal_vae');
    const td = t['temporal_downsample'];
    if (!Array.isArray(td) || td.length !== mults.length - 1 || !td.every((x) => typeof x === 'boolean'))
      fail(
        `'temporal_vae.temporal_downsample' must be ${mults.length - 1} booleans (one per stage boundary), got ${JSON.stringify(td)}`,
      );
    temporalVae = {
      inOutChannels: posInt(t, 'in_out_channels', 'temporal_vae'),
      latentEmbedDim: posInt(t, 'latent_embed_dim', 'temporal_vae'),
      embedDim: posInt(t, 'embed_dim', 'temporal_vae'),
      filters: posInt(t, 'filters', 'temporal_vae'),
      numResBlocks: posInt(t, 'num_res_blocks', 'temporal_vae'),
      channelMultipliers: mults,
      temporalDownsample: td as boolean[],
      numGroups: posInt(t, 'num_groups', 'temporal_vae'),
    };
    for (const m of mults) divisible(temporalVae.filters * m, temporalVae.numGroups, 'temporal_vae stage');
    if (temporalVae.inOutChannels !== spatial.latentChannels)
      fail(
        `temporal_vae.in_out_channels (${temporalVae.inOutChannels}) must equal spatial_vae.latent_channels (${spatial.latentChannels})`,
      );
  }
  const p = root['pipeline'] === undefined ? {} : obj(root['pipeline'], 'pipeline');
  const microBatchSize = posInt(
    p,
    'micro_batch_size',
    'pipeline',
    (s['micro_batch_size'] as number | undefined) ?? 4,
  );
  const microFrameSize = posInt(p, 'micro_frame_size', 'pipeline', 17);
  return { spatial, temporal: temporalVae !== null, temporalVae, microFrameSize, microBatchSize };
}

/** Channels of the latent z the decoder takes (temporal embed_dim, or the SD latent channels). */
export function latentChannelsOf(cfg: VaeConfig): number {
  return cfg.temporalVae ? cfg.temporalVae.embedDim : cfg.spatial.latentChannels;
}

/** Pixel-frame factor of the temporal VAE: 2^(number of time-upsampling stages); 1 without a temporal VAE. */
export function timeFactorOf(cfg: VaeConfig): number {
  return cfg.temporalVae ? 2 ** cfg.temporalVae.temporalDownsample.filter((x) => x).length : 1;
}

/** Spatial factor of the SD-VAE decoder: 2^(up blocks − 1) (8 released). */
export function spatialFactorOf(cfg: VaeConfig): number {
  return 2 ** (cfg.spatial.blockOutChannels.length - 1);
}

/** One checkpoint tensor: its full key and shape. */
export interface VaeWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** A decode block id (`temporal.in`, `temporal.stage{i}`, `spatial.pre`, `spatial.up.{i}`, `spatial.out`) and its keys. */
export interface VaeWeightGroup {
  readonly id: string;
  readonly keys: readonly VaeWeightSpec[];
}

/** Keys of one temporal ResBlock (in → out channels) under `prefix`. */
export function temporalResBlock(prefix: string, cin: number, cout: number): VaeWeightSpec[] {
  const keys: VaeWeightSpec[] = [
    { name: `${prefix}.norm1.weight`, shape: [cin] },
    { name: `${prefix}.norm1.bias`, shape: [cin] },
    { name: `${prefix}.conv1.conv.weight`, shape: [cout, cin, 3, 3, 3] },
    { name: `${prefix}.norm2.weight`, shape: [cout] },
    { name: `${prefix}.norm2.bias`, shape: [cout] },
    { name: `${prefix}.conv2.conv.weight`, shape: [cout, cout, 3, 3, 3] },
  ];
  if (cin !== cout) keys.push({ name: `${prefix}.conv3.conv.weight`, shape: [cout, cin, 1, 1, 1] });
  return keys;
}

/** Keys of one diffusers ResnetBlock2D (in → out channels) under `prefix`. */
export function resnet2d(prefix: string, cin: number, cout: number): VaeWeightSpec[] {
  const keys: VaeWeightSpec[] = [
    { name: `${prefix}.norm1.weight`, shape: [cin] },
    { name: `${prefix}.norm1.bias`, shape: [cin] },
    { name: `${prefix}.conv1.weight`, shape: [cout, cin, 3, 3] },
    { name: `${prefix}.conv1.bias`, shape: [cout] },
    { name: `${prefix}.norm2.weight`, shape: [cout] },
    { name: `${prefix}.norm2.bias`, shape: [cout] },
    { name: `${prefix}.conv2.weight`, shape: [cout, cout, 3, 3] },
    { name: `${prefix}.conv2.bias`, shape: [cout] },
  ];
  if (cin !== cout)
    keys.push(
      { name: `${prefix}.conv_shortcut.weight`, shape: [cout, cin, 1, 1] },
      { name: `${prefix}.conv_shortcut.bias`, shape: [cout] },
    );
  return keys;
}

/** Width of temporal stage i (filters · multiplier). */
export function temporalStageWidth(t: TemporalVaeConfig, i: number): number {
  return t.filters * (t.channelMultipliers[i] as number);
}

/** Input width of temporal stage i's first ResBlock (the previous stage's width, or the top width). */
export function temporalStageInWidth(t: TemporalVaeConfig, i: number): number {
  const n = t.channelMultipliers.length;
  return i === n - 1 ? temporalStageWidth(t, n - 1) : temporalStageWidth(t, i + 1);
}

/** Whether temporal stage i (> 0) ends with conv_blocks.{i−1} + depth-to-time. */
export function temporalStageUpsamples(t: TemporalVaeConfig, i: number): boolean {
  return i > 0 && t.temporalDownsample[i - 1] === true;
}

/** Output width of SD-VAE up block i (block_out_channels reversed). */
export function spatialUpWidth(s: SdVaeConfig, i: number): number {
  return s.blockOutChannels[s.blockOutChannels.length - 1 - i] as number;
}

/** Input width of SD-VAE up block i. */
export function spatialUpInWidth(s: SdVaeConfig, i: number): number {
  return spatialUpWidth(s, Math.max(0, i - 1));
}

/**
 * The decode-side checkpoint keys (exact names, with shapes), grouped into CI-DL blocks in run order:
 *
 * - `temporal.in`: `scale`, `shift`, `temporal_vae.post_quant_conv`, `decoder.conv1`, `decoder.res_blocks.*`;
 * - `temporal.stage{i}` for i = n−1 … 0: `decoder.block_res_blocks.{i}.*` plus, when stage i upsamples time,
 *   `decoder.conv_blocks.{i−1}`; `temporal.stage0` also holds `decoder.norm1` and `decoder.conv_out`;
 * - `spatial.pre`: `spatial_vae.module.post_quant_conv`, `decoder.conv_in`, `decoder.mid_block.*` (plus `scale`,
 *   `shift` when there is no temporal VAE);
 * - `spatial.up.{i}`: `decoder.up_blocks.{i}.*`;
 * - `spatial.out`: `decoder.conv_norm_out`, `decoder.conv_out`.
 *
 * One block per temporal stage (not the whole temporal decoder): released sizes are about 226 / 283 / 78 / 57 /
 * 16 MB for in / stage3 … stage0 against 661 MB for the whole, comparable to the STDiT3 pairs (~170 MB).
 */
export function vaeWeightNames(cfg: VaeConfig): VaeWeightGroup[] {
  const groups: VaeWeightGroup[] = [];
  const zc = latentChannelsOf(cfg);
  const scaleShift: VaeWeightSpec[] = [
    { name: 'scale', shape: [1, zc, 1, 1, 1] },
    { name: 'shift', shape: [1, zc, 1, 1, 1] },
  ];
  const t = cfg.temporalVae;
  if (t) {
    const P = `${TEMPORAL_KEY_PREFIX}`;
    const n = t.channelMultipliers.length;
    const top = temporalStageWidth(t, n - 1);
    const inKeys: VaeWeightSpec[] = [
      ...scaleShift,
      { name: `${P}post_quant_conv.conv.weight`, shape: [t.latentEmbedDim, t.embedDim, 1, 1, 1] },
      { name: `${P}post_quant_conv.conv.bias`, shape: [t.latentEmbedDim] },
      { name: `${P}decoder.conv1.conv.weight`, shape: [top, t.latentEmbedDim, 3, 3, 3] },
      { name: `${P}decoder.conv1.conv.bias`, shape: [top] },
    ];
    for (let r = 0; r < t.numResBlocks; r++)
      inKeys.push(...temporalResBlock(`${P}decoder.res_blocks.${r}`, top, top));
    groups.push({ id: 'temporal.in', keys: inKeys });
    for (let i = n - 1; i >= 0; i--) {
      const w = temporalStageWidth(t, i);
      const keys: VaeWeightSpec[] = [];
      for (let j = 0; j < t.numResBlocks; j++)
        keys.push(
          ...temporalResBlock(
            `${P}decoder.block_res_blocks.${i}.${j}`,
            j === 0 ? temporalStageInWidth(t, i) : w,
            w,
          ),
        );
      if (temporalStageUpsamples(t, i))
        keys.push(
          { name: `${P}decoder.conv_blocks.${i - 1}.conv.weight`, shape: [2 * w, w, 3, 3, 3] },
          { name: `${P}decoder.conv_blocks.${i - 1}.conv.bias`, shape: [2 * w] },
        );
      if (i === 0)
        keys.push(
          { name: `${P}decoder.norm1.weight`, shape: [w] },
          { name: `${P}decoder.norm1.bias`, shape: [w] },
          { name: `${P}decoder.conv_out.conv.weight`, shape: [t.inOutChannels, w, 3, 3, 3] },
          { name: `${P}decoder.conv_out.conv.bias`, shape: [t.inOutChannels] },
        );
      groups.push({ id: `temporal.stage${i}`, keys });
    }
  }
  const s = cfg.spatial;
  const S = SPATIAL_KEY_PREFIX;
  const L = s.latentChannels;
  const top = spatialUpWidth(s, 0);
  const A = `${S}decoder.mid_block.attentions.0`;
  groups.push({
    id: 'spatial.pre',
    keys: [
      ...(t ? [] : scaleShift),
      { name: `${S}post_quant_conv.weight`, shape: [L, L, 1, 1] },
      { name: `${S}post_quant_conv.bias`, shape: [L] },
      { name: `${S}decoder.conv_in.weight`, shape: [top, L, 3, 3] },
      { name: `${S}decoder.conv_in.bias`, shape: [top] },
      ...resnet2d(`${S}decoder.mid_block.resnets.0`, top, top),
      { name: `${A}.group_norm.weight`, shape: [top] },
      { name: `${A}.group_norm.bias`, shape: [top] },
      ...['to_q', 'to_k', 'to_v', 'to_out.0'].flatMap((m) => [
        { name: `${A}.${m}.weight`, shape: [top, top] },
        { name: `${A}.${m}.bias`, shape: [top] },
      ]),
      ...resnet2d(`${S}decoder.mid_block.resnets.1`, top, top),
    ],
  });
  const nUp = s.blockOutChannels.length;
  for (let i = 0; i < nUp; i++) {
    const out = spatialUpWidth(s, i);
    const keys: VaeWeightSpec[] = [];
    for (let j = 0; j <= s.layersPerBlock; j++)
      keys.push(
        ...resnet2d(`${S}decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? spatialUpInWidth(s, i) : out, out),
      );
    if (i < nUp - 1)
      keys.push(
        { name: `${S}decoder.up_blocks.${i}.upsamplers.0.conv.weight`, shape: [out, out, 3, 3] },
        { name: `${S}decoder.up_blocks.${i}.upsamplers.0.conv.bias`, shape: [out] },
      );
    groups.push({ id: `spatial.up.${i}`, keys });
  }
  const c0 = s.blockOutChannels[0] as number;
  groups.push({
    id: 'spatial.out',
    keys: [
      { name: `${S}decoder.conv_norm_out.weight`, shape: [c0] },
      { name: `${S}decoder.conv_norm_out.bias`, shape: [c0] },
      { name: `${S}decoder.conv_out.weight`, shape: [s.outChannels, c0, 3, 3] },
      { name: `${S}decoder.conv_out.bias`, shape: [s.outChannels] },
    ],
  });
  return groups;
}

/** One temporal chunk of the decode path (spec 7.3 step 3). */
export interface TemporalChunk {
  /** First latent frame of the chunk. */
  readonly zStart: number;
  /** Latent frames t_k. */
  readonly zFrames: number;
  /** `num_frames` passed to temporal_vae.decode: min(microFrameSize, frames still to produce). */
  readonly numFrames: number;
  /** Frames dropped at the front: (factor − numFrames mod factor) mod factor. */
  readonly drop: number;
  /** Frames the chunk produces (= numFrames). */
  readonly outFrames: number;
}

/** Latent frames per temporal chunk: the latent size of microFrameSize pixel frames (5 for 17). */
export function microZFrameSize(microFrameSize: number, timeFactor: number): number {
  return Math.ceil(microFrameSize / timeFactor);
}

/** Latent frames for `numFrames` pixel frames (spec 7.2): per 17-frame chunk ceil(f/4) (51 → 15, 68 → 20, 24 → 7). */
export function latentFramesFor(numFrames: number, microFrameSize = 17, timeFactor = 4): number {
  if (!Number.isInteger(numFrames) || numFrames < 1)
    throw new Error(`num_frames must be a positive integer, got ${numFrames}`);
  let t = 0;
  for (let left = numFrames; left > 0; left -= microFrameSize)
    t += Math.ceil(Math.min(microFrameSize, left) / timeFactor);
  return t;
}

/** The latent [T, H, W] of a `numFrames` × `heightPx` × `widthPx` video (sizes already checked divisible). */
export function latentOf(
  cfg: VaeConfig,
  numFrames: number,
  heightPx: number,
  widthPx: number,
): { frames: number; height: number; width: number } {
  const f = spatialFactorOf(cfg);
  return {
    frames: cfg.temporal ? latentFramesFor(numFrames, cfg.microFrameSize, timeFactorOf(cfg)) : numFrames,
    height: heightPx / f,
    width: widthPx / f,
  };
}

/**
 * The temporal chunks for a latent of `latentFrames` frames decoded to `numFrames` frames (spec 7.3): chunks of
 * ceil(microFrameSize/factor) latents, num_frames = min(microFrameSize, left), the counter dropping by
 * microFrameSize per chunk. Throws when a chunk cannot produce its num_frames (ceil(num_frames/factor) must equal
 * its latent count) or frames are left over — the reference would silently return a wrong frame count.
 */
export function temporalChunkPlan(
  latentFrames: number,
  numFrames: number,
  microFrameSize = 17,
  timeFactor = 4,
): TemporalChunk[] {
  if (!Number.isInteger(latentFrames) || latentFrames < 1)
    throw new Error(`VAE decode: the latent needs at least one frame, got ${latentFrames}`);
  if (!Number.isInteger(numFrames) || numFrames < 1)
    throw new Error(`VAE decode: num_frames must be a positive integer, got ${numFrames}`);
  const step = microZFrameSize(microFrameSize, timeFactor);
  const chunks: TemporalChunk[] = [];
  let left = numFrames;
  for (let z = 0; z < latentFrames; z += step) {
    const zFrames = Math.min(step, latentFrames - z);
    const nf = Math.min(microFrameSize, left);
    if (nf < 1 || Math.ceil(nf / timeFactor) !== zFrames)
      throw new Error(
        `VAE decode: ${latentFrames} latent frames do not decode to ${numFrames} frames: chunk ${chunks.length} ` +
          `(latents ${z}..${z + zFrames - 1}) would get num_frames ${nf}, which needs ${Math.max(0, Math.ceil(nf / timeFactor))} latents ` +
          `(expected ${latentFramesFor(numFrames, microFrameSize, timeFactor)} latent frames for ${numFrames} frames)`,
      );
    const drop = (timeFactor - (nf % timeFactor)) % timeFactor;
    chunks.push({ zStart: z, zFrames, numFrames: nf, drop, outFrames: nf });
    left -= microFrameSize;
  }
  if (left > 0)
    throw new Error(
      `VAE decode: ${latentFrames} latent frames decode to fewer than ${numFrames} frames (expected ${latentFramesFor(numFrames, microFrameSize, timeFactor)} latent frames)`,
    );
  return chunks;
}

/** Sizes of the SD-VAE micro-batches over `frames` flattened frames: full batches, then the remainder. */
export function spatialMicroBatches(frames: number, microBatchSize: number): number[] {
  const out: number[] = [];
  for (let f = 0; f < frames; f += microBatchSize) out.push(Math.min(microBatchSize, frames - f));
  return out;
}
