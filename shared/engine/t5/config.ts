/**
 * T5 v1.1 encoder configuration (Hugging Face `T5Config` JSON) and the checkpoint's key list grouped into the
 * text stage's CI-DL blocks (spec section 8): `embed`, `block.{i}`, `final`.
 */

/** T5 v1.1 encoder hyper-parameters (camelCase mirror of the HF config keys named in each field). */
export interface T5Config {
  /** `d_model`: token width D (4096 for XXL). */
  dModel: number;
  /** `num_layers`: encoder blocks (24 for XXL). */
  numLayers: number;
  /** `num_heads`: attention heads H. */
  numHeads: number;
  /** `d_kv`: per-head width (inner attention width = H·d_kv, need not equal D). */
  dKv: number;
  /** `d_ff`: feed-forward width F. */
  dFf: number;
  /** `vocab_size`: rows of the embedding table. */
  vocabSize: number;
  /** `relative_attention_num_buckets` (32). */
  numBuckets: number;
  /** `relative_attention_max_distance` (128). */
  maxDistance: number;
  /** `layer_norm_epsilon` of every RMSNorm (1e-6). */
  layerNormEpsilon: number;
  /** `feed_forward_proj`: only T5 v1.1's gated-GELU (tanh approximation, `gelu_new`) is supported. */
  feedForwardProj: 'gated-gelu';
}

/** The static shape one set of compiled T5 graphs is built for. */
export interface T5Shape {
  /** Batch B (prompts encoded together; 1 in the app). */
  batch: number;
  /** Token count L (300 in Open-Sora). */
  length: number;
}

function fail(msg: string): never {
  throw new Error(`T5 config: ${msg}`);
}

function field(o: Record<string, unknown>, key: string): unknown {
  if (!(key in o) || o[key] === undefined || o[key] === null) fail(`missing key '${key}'`);
  return o[key];
}

function posInt(o: Record<string, unknown>, key: string): number {
  const v = field(o, key);
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    fail(`'${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses a Hugging Face T5 config.json (snake_case; unknown keys are ignored); throws naming the bad key. */
export function t5ConfigFromJson(json: unknown): T5Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('expected a JSON object');
  const o = json as Record<string, unknown>;
  const proj = field(o, 'feed_forward_proj');
  if (proj !== 'gated-gelu')
    fail(
      `'feed_forward_proj' is ${JSON.stringify(proj)}; only "gated-gelu" (T5 v1.1, as DeepFloyd/t5-v1_1-xxl) is supported`,
    );
  if ('dense_act_fn' in o && o['dense_act_fn'] !== undefined && o['dense_act_fn'] !== 'gelu_new')
    fail(`'dense_act_fn' is ${JSON.stringify(o['dense_act_fn'])}; gated-gelu needs "gelu_new"`);
  if (o['is_decoder'] === true) fail("'is_decoder' is true; this is the encoder stage");
  const eps = field(o, 'layer_norm_epsilon');
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps))
    fail(`'layer_norm_epsilon' must be a positive number, got ${JSON.stringify(eps)}`);
  const cfg: T5Config = {
    dModel: posInt(o, 'd_model'),
    numLayers: posInt(o, 'num_layers'),
    numHeads: posInt(o, 'num_heads'),
    dKv: posInt(o, 'd_kv'),
    dFf: posInt(o, 'd_ff'),
    vocabSize: posInt(o, 'vocab_size'),
    numBuckets: posInt(o, 'relative_attention_num_buckets'),
    maxDistance: posInt(o, 'relative_attention_max_distance'),
    layerNormEpsilon: eps,
    feedForwardProj: 'gated-gelu',
  };
  // Bidirectional buckets: half per direction, half of those exact (spec 8 step 2).
  if (cfg.numBuckets < 4 || cfg.numBuckets % 4 !== 0)
    fail(`'relative_attention_num_buckets' must be a multiple of 4 (≥ 4), got ${cfg.numBuckets}`);
  if (cfg.maxDistance <= cfg.numBuckets / 4)
    fail(
      `'relative_attention_max_distance' (${cfg.maxDistance}) must exceed the exact range ${cfg.numBuckets / 4}`,
    );
  return cfg;
}

/** One checkpoint tensor: its full Hugging Face key and shape. */
export interface T5WeightSpec {
  name: string;
  shape: readonly number[];
}

/** A text-stage block id (`embed`, `block.{i}`, `final`) with the keys it loads, in file order. */
export interface T5WeightGroup {
  id: string;
  keys: readonly T5WeightSpec[];
}

/** The embedding table's key in a block set (and in `T5EncoderModel.state_dict()`). */
export const T5_EMBED_KEY = 'shared.weight';
/** The same tensor under its encoder name; a checkpoint may hold either key or both. */
export const T5_EMBED_ALIAS = 'encoder.embed_tokens.weight';
/** The final RMSNorm weight's key. */
export const T5_FINAL_NORM_KEY = 'encoder.final_layer_norm.weight';
/** Key suffix (after `encoder.block.0.`) of the relative position bias table, present in block 0 only. */
export const T5_REL_BIAS_SUFFIX = 'layer.0.SelfAttention.relative_attention_bias.weight';

/** The key prefix of encoder block `i`. */
export function t5BlockPrefix(i: number): string {
  return `encoder.block.${i}.`;
}

/**
 * Key suffixes (after `encoder.block.{i}.`) and shapes of one encoder block as the block graph reads them (the
 * relative-attention table of block 0 is not a graph input: the bias is built once in TypeScript).
 */
export function t5BlockGraphWeights(cfg: T5Config): T5WeightSpec[] {
  const D = cfg.dModel;
  const I = cfg.numHeads * cfg.dKv;
  const F = cfg.dFf;
  return [
    { name: 'layer.0.layer_norm.weight', shape: [D] },
    { name: 'layer.0.SelfAttention.q.weight', shape: [I, D] },
    { name: 'layer.0.SelfAttention.k.weight', shape: [I, D] },
    { name: 'layer.0.SelfAttention.v.weight', shape: [I, D] },
    { name: 'layer.0.SelfAttention.o.weight', shape: [D, I] },
    { name: 'layer.1.layer_norm.weight', shape: [D] },
    { name: 'layer.1.DenseReluDense.wi_0.weight', shape: [F, D] },
    { name: 'layer.1.DenseReluDense.wi_1.weight', shape: [F, D] },
    { name: 'layer.1.DenseReluDense.wo.weight', shape: [D, F] },
  ];
}

/**
 * The encoder's key list with shapes, grouped by text-stage block: `embed` (`shared.weight`), `block.{i}` (its
 * nine matrices/norms, plus `relative_attention_bias` in block 0), `final` (`encoder.final_layer_norm.weight`).
 * The released XXL config gives 1 + 24·9 + 1 + 1 = 219 keys (the state dict's 220th, `encoder.embed_tokens.weight`,
 * is the same tensor as `shared.weight`).
 */
export function t5WeightNames(cfg: T5Config): T5WeightGroup[] {
  const groups: T5WeightGroup[] = [
    { id: 'embed', keys: [{ name: T5_EMBED_KEY, shape: [cfg.vocabSize, cfg.dModel] }] },
  ];
  const suffixes = t5BlockGraphWeights(cfg);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = t5BlockPrefix(i);
    const keys = suffixes.map((s) => ({ name: p + s.name, shape: s.shape }));
    if (i === 0) keys.splice(5, 0, { name: p + T5_REL_BIAS_SUFFIX, shape: [cfg.numBuckets, cfg.numHeads] });
    groups.push({ id: `block.${i}`, keys });
  }
  groups.push({ id: 'final', keys: [{ name: T5_FINAL_NORM_KEY, shape: [cfg.dModel] }] });
  return groups;
}
