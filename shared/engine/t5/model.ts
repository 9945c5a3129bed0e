/**
 * T5 v1.1 encoder runner: the embedding lookup in TypeScript, one compiled block graph serving every encoder
 * block (weights are inputs), and the final RMSNorm graph, on an injected InferenceBackend for one static (B, L).
 *
 * The embedding is a row copy from the loaded `shared.weight` rather than an ONNX Gather: the released table is
 * 32128 × 4096 float32 (526 MB), and feeding it to a session would hand the whole table to the runtime (and, with
 * the worker-thread backend, copy it across threads) on every run to read L = 300 rows (4.9 MB).
 */
import { PlacementTally } from '../placement-tally';
import {
  feedWeight,
  storageOf,
  weightRowsInto,
  weightToFloat32,
  type Precision,
  type WeightMap,
  type WeightTensor,
} from '../blockset/precision';
import type { BackendSession, InferenceBackend } from '../ports';
import { floatTensor, type FloatTensor, type Tensor } from '../tensor';
import {
  t5BlockGraphWeights,
  t5BlockPrefix,
  T5_EMBED_ALIAS,
  T5_EMBED_KEY,
  T5_FINAL_NORM_KEY,
  T5_REL_BIAS_SUFFIX,
  type T5Config,
  type T5Shape,
} from './config';
import { targetLabel } from '../onnx/graph-target';
import { buildT5BlockGraph, buildT5FinalGraph } from './graphs';
import { attentionBias, extendedAttentionMask, positionBias } from './relative-position';

/** Weights by full Hugging Face key, as stored. */
export type T5WeightMap = WeightMap;

/** Token ids or a mask, row-major [B, L]. */
export type T5IntArray = BigInt64Array | Int32Array | readonly number[];

/** The encoder's running state between blocks. */
export interface T5State {
  /** Hidden states [B, L, D]. */
  readonly hidden: FloatTensor;
  /** Attention mask [B, L] (1 = real token incl. EOS). */
  readonly mask: T5IntArray;
  /** position bias + key mask [B, H, L, L], built by block 0 from its `relative_attention_bias` and then shared. */
  readonly bias?: FloatTensor;
  /** After the self-attention sub-layer of the last block run, when asked for with `withAfterAttn`. */
  readonly afterAttn?: FloatTensor;
}

/** Options of `block`. */
export interface T5BlockOptions {
  /** Also return the hidden state after the self-attention sub-layer (`afterAttn`). */
  withAfterAttn?: boolean;
}

function need(weights: T5WeightMap, key: string): WeightTensor {
  const t = weights.get(key);
  if (!t) throw new Error(`T5: missing weight '${key}'`);
  return t;
}

function asFloat(t: Tensor | undefined, name: string): FloatTensor {
  if (!t || t.type !== 'float32') throw new Error(`T5: graph output '${name}' missing or not float32`);
  return t;
}

/** T5 v1.1 encoder on an InferenceBackend, for one static shape. */
export class T5Encoder {
  private readonly sessions = new Map<'block' | 'final', Promise<BackendSession>>();
  /** The placements of the sessions run since the stage last took them (one block's, for `block.compute.end`). */
  readonly placements = new PlacementTally();

  private constructor(
    private readonly backend: InferenceBackend,
    /** The model configuration. */
    readonly cfg: T5Config,
    /** The static shape the graphs are built for. */
    readonly shape: T5Shape,
    /** How the weights are stored (the text stage's precision). */
    readonly precision: Precision,
  ) {}

  /** Creates a runner; the graphs are built and compiled on first use and cached. */
  static create(
    backend: InferenceBackend,
    cfg: T5Config,
    shape: T5Shape,
    precision: Precision = 'f32',
  ): T5Encoder {
    if (
      !Number.isInteger(shape.batch) ||
      shape.batch < 1 ||
      !Number.isInteger(shape.length) ||
      shape.length < 1
    )
      throw new Error(`T5: invalid shape batch ${shape.batch}, length ${shape.length}`);
    return new T5Encoder(backend, cfg, shape, precision);
  }

  /** The compiled session of one graph kind (built on first call). */
  session(kind: 'block' | 'final'): Promise<BackendSession> {
    let s = this.sessions.get(kind);
    if (!s) {
      const target = this.backend.graphTarget ?? 'cpu';
      const bytes =
        kind === 'block'
          ? buildT5BlockGraph(this.cfg, this.shape, this.precision, target)
          : buildT5FinalGraph(this.cfg, this.shape, target);
      s = this.backend.createSession(
        bytes,
        `t5/${kind} [B${this.shape.batch} L${this.shape.length}${this.precision === 'f32' ? '' : ` ${this.precision}`}${targetLabel(target)}]`,
      );
      this.sessions.set(kind, s);
      s.catch(() => this.sessions.delete(kind));
    }
    return s;
  }

  /**
   * Embedding lookup `shared.weight[ids]` (no scaling) → [B, L, D]. Reads `shared.weight` or, failing that,
   * `encoder.embed_tokens.weight` (widened row by row when stored in f16 or int8); throws on an id outside the
   * vocabulary.
   */
  embed(weights: T5WeightMap, ids: T5IntArray): FloatTensor {
    const { batch: B, length: L } = this.shape;
    const D = this.cfg.dModel;
    const table = weights.get(T5_EMBED_KEY) ?? weights.get(T5_EMBED_ALIAS);
    if (!table) throw new Error(`T5: missing weight '${T5_EMBED_KEY}'`);
    const V = table.dims[0] as number;
    if (table.dims.length !== 2 || table.dims[1] !== D)
      throw new Error(`T5: embedding table has shape [${table.dims.join(', ')}], expected [vocab, ${D}]`);
    if (ids.length !== B * L) throw new Error(`T5: ${ids.length} token ids, expected ${B} × ${L}`);
    const out = new Float32Array(B * L * D);
    for (let t = 0; t < B * L; t++) {
      const id = Number(ids[t]);
      if (!Number.isInteger(id) || id < 0 || id >= V)
        throw new Error(`T5: token id ${id} at position ${t} is outside the vocabulary (0..${V - 1})`);
      weightRowsInto(table, id, 1, out, t * D);
    }
    return floatTensor([B, L, D], out);
  }

  /** Starts a pass: the embedded tokens and their mask. */
  initialState(weights: T5WeightMap, ids: T5IntArray, mask: T5IntArray): T5State {
    const { batch: B, length: L } = this.shape;
    if (mask.length !== B * L)
      throw new Error(`T5: attention mask has ${mask.length} values, expected ${B} × ${L}`);
    return { hidden: this.embed(weights, ids), mask };
  }

  /** position bias + key mask [B, H, L, L] from block 0's `relative_attention_bias.weight` (computed once). */
  attentionBias(block0: T5WeightMap, mask: T5IntArray): FloatTensor {
    const table = need(block0, t5BlockPrefix(0) + T5_REL_BIAS_SUFFIX);
    const { numBuckets, numHeads } = this.cfg;
    if (table.dims[0] !== numBuckets || table.dims[1] !== numHeads)
      throw new Error(
        `T5: relative_attention_bias has shape [${table.dims.join(', ')}], expected [${numBuckets}, ${numHeads}]`,
      );
    const { batch: B, length: L } = this.shape;
    return attentionBias(
      positionBias(weightToFloat32(table), L, this.cfg.maxDistance),
      extendedAttentionMask(mask, B, L),
    );
  }

  /**
   * Runs encoder block `index` on `state.hidden`. `weights` holds full keys (`encoder.block.{index}.*`); block 0
   * also builds the shared attention bias from its `relative_attention_bias` when the state has none.
   */
  async block(
    index: number,
    weights: T5WeightMap,
    state: T5State,
    opts: T5BlockOptions = {},
  ): Promise<T5State> {
    let bias = state.bias;
    if (!bias) {
      if (index !== 0) throw new Error(`T5: block ${index} ran before block 0 built the attention bias`);
      bias = this.attentionBias(weights, state.mask);
    }
    const feeds: Record<string, Tensor> = { x: state.hidden, attn_bias: bias };
    const prefix = t5BlockPrefix(index);
    for (const s of t5BlockGraphWeights(this.cfg))
      feedWeight(
        feeds,
        s.name,
        need(weights, prefix + s.name),
        storageOf(this.precision, s.name, s.shape),
        `T5 weight '${prefix + s.name}'`,
      );
    const session = await this.session('block');
    const out = await this.placements
      .ran(session)
      .run(feeds, opts.withAfterAttn ? ['x_out', 'x_attn'] : ['x_out']);
    const hidden = asFloat(out.x_out, 'x_out');
    return opts.withAfterAttn
      ? { hidden, mask: state.mask, bias, afterAttn: asFloat(out.x_attn, 'x_attn') }
      : { hidden, mask: state.mask, bias };
  }

  /** Final RMSNorm: `last_hidden_state` [B, L, D]. */
  async final(weights: T5WeightMap, state: T5State): Promise<FloatTensor> {
    const feeds: Record<string, Tensor> = { x: state.hidden };
    feedWeight(
      feeds,
      T5_FINAL_NORM_KEY,
      need(weights, T5_FINAL_NORM_KEY),
      'f32',
      `T5 weight '${T5_FINAL_NORM_KEY}'`,
    );
    return asFloat((await this.placements.ran(await this.session('final')).run(feeds, ['y'])).y, 'y');
  }

  /** The whole encoder with every weight in one map: embed, blocks 0..N−1, final. */
  async forward(weights: T5WeightMap, ids: T5IntArray, mask: T5IntArray): Promise<FloatTensor> {
    let state = this.initialState(weights, ids, mask);
    for (let i = 0; i < this.cfg.numLayers; i++) state = await this.block(i, weights, state);
    return this.final(weights, state);
  }

  /** Releases every compiled session. */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.release()));
  }
}
