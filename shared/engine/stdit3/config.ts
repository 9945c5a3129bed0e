/**
 * STDiT3 configuration, job shapes and the checkpoint's key list (spec sections 1-2).
 */

/** STDiT3 hyper-parameters (camelCase mirror of Open-Sora's STDiT3Config). */
export interface Stdit3Config {
  /** Number of (spatial, temporal) block pairs; 28 for STDiT3-XL/2. */
  depth: number;
  /** Token width C. */
  hiddenSize: number;
  /** Attention heads; head dim = hiddenSize / numHeads. */
  numHeads: number;
  /** Patch size [pT, pH, pW]. */
  patchSize: readonly [number, number, number];
  /** Latent channels Cin. */
  inChannels: number;
  /** Caption (T5) width Cc. */
  captionChannels: number;
  /** Caption tokens L of the null-caption buffer. */
  modelMaxLength: number;
  /** RMSNorm on q and k (self-attention). Only `true` is supported by the graphs. */
  qkNorm: boolean;
  /** Output channels are 2·inChannels when true. */
  predSigma: boolean;
  /** MLP hidden width = mlpRatio · hiddenSize. */
  mlpRatio: number;
  /** Reference resolution of the position-embedding scale (512). */
  inputSqSize: number;
}

/** The static shape one set of compiled graphs is built for. */
export interface Stdit3Shape {
  /** Batch B (2 with CFG). */
  batch: number;
  /** Latent frames T. */
  frames: number;
  /** Latent height H (unpadded). */
  height: number;
  /** Latent width W (unpadded). */
  width: number;
  /** Caption tokens L fed to the model. */
  captionLength: number;
}

/** Sizes derived from a config and shape. */
export interface Stdit3Dims {
  B: number;
  C: number;
  heads: number;
  hd: number;
  /** Patch-grid frames (= padded T / pT), height, width; S = Hp·Wp. */
  Tp: number;
  Hp: number;
  Wp: number;
  S: number;
  L: number;
  Cout: number;
  mlpHidden: number;
}

/** Derives the sizes every graph builder needs; throws on an inconsistent config. */
export function stdit3Dims(cfg: Stdit3Config, shape: Stdit3Shape): Stdit3Dims {
  const [pT, pH, pW] = cfg.patchSize;
  if (cfg.hiddenSize % cfg.numHeads !== 0) throw new Error('hidden_size must be divisible by num_heads');
  const hd = cfg.hiddenSize / cfg.numHeads;
  if (hd % 2 !== 0) throw new Error('head dim must be even (RoPE pairs)');
  const Hp = Math.ceil(shape.height / pH);
  const Wp = Math.ceil(shape.width / pW);
  return {
    B: shape.batch,
    C: cfg.hiddenSize,
    heads: cfg.numHeads,
    hd,
    Tp: Math.ceil(shape.frames / pT),
    Hp,
    Wp,
    S: Hp * Wp,
    L: shape.captionLength,
    Cout: cfg.predSigma ? 2 * cfg.inChannels : cfg.inChannels,
    mlpHidden: Math.round(cfg.hiddenSize * cfg.mlpRatio),
  };
}

function field(obj: Record<string, unknown>, key: string): unknown {
  if (!(key in obj) || obj[key] === undefined || obj[key] === null) {
    throw new Error(`STDiT3 config: missing key '${key}'`);
  }
  return obj[key];
}

function posInt(obj: Record<string, unknown>, key: string): number {
  const v = field(obj, key);
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new Error(`STDiT3 config: '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(obj: Record<string, unknown>, key: string): boolean {
  const v = field(obj, key);
  if (typeof v !== 'boolean')
    throw new Error(`STDiT3 config: '${key}' must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses an Open-Sora / Hugging Face STDiT3 config.json (snake_case keys; unknown keys are ignored). */
export function stdit3ConfigFromJson(json: unknown): Stdit3Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error('STDiT3 config: expected a JSON object');
  }
  const o = json as Record<string, unknown>;
  const patch = field(o, 'patch_size');
  if (
    !Array.isArray(patch) ||
    patch.length !== 3 ||
    !patch.every((p) => typeof p === 'number' && Number.isInteger(p) && p > 0)
  ) {
    throw new Error(`STDiT3 config: 'patch_size' must be 3 positive integers, got ${JSON.stringify(patch)}`);
  }
  const mlpRatio = field(o, 'mlp_ratio');
  if (typeof mlpRatio !== 'number' || !(mlpRatio > 0)) {
    throw new Error(`STDiT3 config: 'mlp_ratio' must be a positive number, got ${JSON.stringify(mlpRatio)}`);
  }
  const cfg: Stdit3Config = {
    depth: posInt(o, 'depth'),
    hiddenSize: posInt(o, 'hidden_size'),
    numHeads: posInt(o, 'num_heads'),
    patchSize: [patch[0], patch[1], patch[2]] as [number, number, number],
    inChannels: posInt(o, 'in_channels'),
    captionChannels: posInt(o, 'caption_channels'),
    modelMaxLength: posInt(o, 'model_max_length'),
    qkNorm: bool(o, 'qk_norm'),
    predSigma: bool(o, 'pred_sigma'),
    mlpRatio,
    inputSqSize: posInt(o, 'input_sq_size'),
  };
  if (cfg.hiddenSize % cfg.numHeads !== 0) {
    throw new Error(`STDiT3 config: 'hidden_size' (${cfg.hiddenSize}) must be divisible by 'num_heads'`);
  }
  if (cfg.hiddenSize % 4 !== 0) throw new Error(`STDiT3 config: 'hidden_size' must be divisible by 4`);
  return cfg;
}

/** One checkpoint tensor: its full Open-Sora key and shape. */
export interface Stdit3WeightSpec {
  name: string;
  shape: readonly number[];
}

/** A block id (`part1`, `pair.{i}`, `part2`) with the keys it loads, in a stable order. */
export interface Stdit3WeightGroup {
  id: string;
  keys: readonly Stdit3WeightSpec[];
}

/** Key suffixes and shapes of one spatial or temporal block (spec 2.2), in checkpoint order. */
export function stdit3BlockWeightSuffixes(cfg: Stdit3Config): Stdit3WeightSpec[] {
  const C = cfg.hiddenSize;
  const hd = C / cfg.numHeads;
  const M = Math.round(C * cfg.mlpRatio);
  return [
    { name: 'scale_shift_table', shape: [6, C] },
    { name: 'attn.qkv.weight', shape: [3 * C, C] },
    { name: 'attn.qkv.bias', shape: [3 * C] },
    { name: 'attn.q_norm.weight', shape: [hd] },
    { name: 'attn.k_norm.weight', shape: [hd] },
    { name: 'attn.proj.weight', shape: [C, C] },
    { name: 'attn.proj.bias', shape: [C] },
    { name: 'cross_attn.q_linear.weight', shape: [C, C] },
    { name: 'cross_attn.q_linear.bias', shape: [C] },
    { name: 'cross_attn.kv_linear.weight', shape: [2 * C, C] },
    { name: 'cross_attn.kv_linear.bias', shape: [2 * C] },
    { name: 'cross_attn.proj.weight', shape: [C, C] },
    { name: 'cross_attn.proj.bias', shape: [C] },
    { name: 'mlp.fc1.weight', shape: [M, C] },
    { name: 'mlp.fc1.bias', shape: [M] },
    { name: 'mlp.fc2.weight', shape: [C, M] },
    { name: 'mlp.fc2.bias', shape: [C] },
  ];
}

/**
 * The full checkpoint key list (21 top-level keys + 17 per block × 2 × depth; 973 for the released config) with
 * shapes, grouped by block id: `part1` (embedders, t_block, y_embedder, rope.freqs), `pair.{i}` (spatial_blocks.i.*
 * then temporal_blocks.i.*), `part2` (final_layer.*).
 */
export function stdit3WeightNames(cfg: Stdit3Config): Stdit3WeightGroup[] {
  const C = cfg.hiddenSize;
  const hd = C / cfg.numHeads;
  const [pT, pH, pW] = cfg.patchSize;
  const cout = cfg.predSigma ? 2 * cfg.inChannels : cfg.inChannels;
  const part1: Stdit3WeightSpec[] = [
    { name: 'x_embedder.proj.weight', shape: [C, cfg.inChannels, pT, pH, pW] },
    { name: 'x_embedder.proj.bias', shape: [C] },
    { name: 't_embedder.mlp.0.weight', shape: [C, 256] },
    { name: 't_embedder.mlp.0.bias', shape: [C] },
    { name: 't_embedder.mlp.2.weight', shape: [C, C] },
    { name: 't_embedder.mlp.2.bias', shape: [C] },
    { name: 'fps_embedder.mlp.0.weight', shape: [C, 256] },
    { name: 'fps_embedder.mlp.0.bias', shape: [C] },
    { name: 'fps_embedder.mlp.2.weight', shape: [C, C] },
    { name: 'fps_embedder.mlp.2.bias', shape: [C] },
    { name: 't_block.1.weight', shape: [6 * C, C] },
    { name: 't_block.1.bias', shape: [6 * C] },
    { name: 'y_embedder.y_embedding', shape: [cfg.modelMaxLength, cfg.captionChannels] },
    { name: 'y_embedder.y_proj.fc1.weight', shape: [C, cfg.captionChannels] },
    { name: 'y_embedder.y_proj.fc1.bias', shape: [C] },
    { name: 'y_embedder.y_proj.fc2.weight', shape: [C, C] },
    { name: 'y_embedder.y_proj.fc2.bias', shape: [C] },
    { name: 'rope.freqs', shape: [hd / 2] },
  ];
  const groups: Stdit3WeightGroup[] = [{ id: 'part1', keys: part1 }];
  const suffixes = stdit3BlockWeightSuffixes(cfg);
  for (let i = 0; i < cfg.depth; i++) {
    const keys = (['spatial', 'temporal'] as const).flatMap((kind) =>
      suffixes.map((s) => ({ name: `${kind}_blocks.${i}.${s.name}`, shape: s.shape })),
    );
    groups.push({ id: `pair.${i}`, keys });
  }
  groups.push({
    id: 'part2',
    keys: [
      { name: 'final_layer.scale_shift_table', shape: [2, C] },
      { name: 'final_layer.linear.weight', shape: [pT * pH * pW * cout, C] },
      { name: 'final_layer.linear.bias', shape: [pT * pH * pW * cout] },
    ],
  });
  return groups;
}
