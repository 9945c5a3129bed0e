/**
 * STDiT3 runner: feeds the part1 / pair / block / part2 graphs through an injected InferenceBackend. One compiled
 * session per graph kind serves every block (or block pair) of that kind (weights are inputs); sessions are compiled
 * lazily and cached. Denoising runs `pair` (spatial block i then temporal block i in one session, so consecutive
 * runs reuse one ORT intra-op pool); `block` runs a single block (tests, debugging).
 */
import { PlacementTally } from '../placement-tally';
import {
  feedWeight,
  storageOf,
  weightToFloat32,
  type Precision,
  type WeightMap,
  type WeightTensor,
} from '../blockset/precision';
import type { BackendSession, InferenceBackend } from '../ports';
import { floatTensor, type FloatTensor, type Tensor } from '../tensor';
import {
  buildBlockGraph,
  buildPairGraph,
  pairWeightInput,
  tdtmFrameMap,
  type BlockKind,
} from './block-graph';
import {
  stdit3BlockWeightSuffixes,
  stdit3Dims,
  type Stdit3Config,
  type Stdit3Dims,
  type Stdit3Shape,
} from './config';
import {
  captionKeyBias,
  positionEmbedding2d,
  ropeFreqs,
  ropeTables,
  sinusoid,
  type RopeTables,
} from './embeddings';
import { targetLabel } from '../onnx/graph-target';
import { buildPart1Graph, part1WeightShapes, PART1_GRAPH_WEIGHTS } from './part1-graph';
import { buildPart2Graph, part2WeightShapes } from './part2-graph';

/** The compiled graphs of one job shape (the single-block kinds are only built when `block` is used). */
export type Stdit3SessionKind =
  'part1' | 'pair' | 'pair-tdtm' | 'spatial' | 'temporal' | 'spatial-tdtm' | 'temporal-tdtm' | 'part2';

export type { WeightMap } from '../blockset/precision';

/** Model inputs of one forward call (spec 3, inputs table). */
export interface Stdit3Inputs {
  /** Noisy latent [B, Cin, T, H, W]. */
  x: FloatTensor;
  /** Timesteps [B] in [0, 1000]. */
  timestep: Float32Array;
  /** Caption hidden states [B, 1, L, Cc] or [B, L, Cc] (row 1 = null caption under CFG). */
  y: FloatTensor;
  /** Caption mask [rows, L], non-zero = valid; tiled when rows < B. */
  mask: { rows: number; data: Int32Array | BigInt64Array };
  /** Frames per second (24 for video), tiled to B. */
  fps: number;
  /** Pixel size of the generated video (position-embedding scale). */
  heightPx: number;
  widthPx: number;
  /** The exact float32 sinusoid frequency table, if known (fixtures ship PyTorch's); computed otherwise. */
  tFreqTable?: Float32Array;
}

/** What part1 produces and every block consumes. */
export interface Stdit3State {
  /** Tokens [B, T, S, C]. */
  tokens: FloatTensor;
  /** t = t_emb + fps_emb [B, C] (feeds part2). */
  t: FloatTensor;
  /** Block modulation input [B, 6C]. */
  tMlp: FloatTensor;
  /** Projected captions [B, L, C]. */
  yProj: FloatTensor;
  /** Additive caption key bias [B, 1, 1, L]. */
  yBias: FloatTensor;
  /** RoPE tables for T positions and, when T ≥ 2, for the T_m merged positions. */
  rope: RopeTables;
  ropeMerged?: RopeTables;
}

/** Options of `forward`. */
export interface Stdit3ForwardOptions {
  /** Run every block in its TDTM variant (spec 5.1: steps with index < merge_steps). */
  tdtm: boolean;
  /** Called after each block with `'{i}.spatial'` / `'{i}.temporal'` and its output tokens. */
  onBlock?: (name: string, tokens: FloatTensor) => void;
}

/** Options of `pair`. */
export interface Stdit3PairOptions {
  /** Also return the spatial block's output (`mid`). */
  withMid?: boolean;
}

/** What `pair` returns. */
export interface Stdit3PairResult {
  /** The temporal block's output tokens [B, T, S, C]. */
  tokens: FloatTensor;
  /** The spatial block's output tokens, when asked for with `withMid`. */
  mid?: FloatTensor;
}

/**
 * Whether the pair graph always outputs `x_mid` (so one session serves `pair` with and without `withMid`; a run
 * that does not ask for it only pays an in-graph copy, below the run-to-run noise; see shared/engine/README.md).
 */
const PAIR_GRAPH_WITH_MID = true;

function need(weights: WeightMap, key: string): WeightTensor {
  const t = weights.get(key);
  if (!t) throw new Error(`STDiT3: missing weight '${key}'`);
  return t;
}

function expectDims(what: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
    throw new Error(`STDiT3: ${what} has shape [${got.join(', ')}], expected [${want.join(', ')}]`);
  }
}

function asFloat(t: Tensor | undefined, name: string): FloatTensor {
  if (!t || t.type !== 'float32') throw new Error(`STDiT3: graph output '${name}' missing or not float32`);
  return t;
}

/** STDiT3 on an InferenceBackend, for one static job shape. */
export class Stdit3Model {
  private readonly sessions = new Map<Stdit3SessionKind, Promise<BackendSession>>();
  /** The placements of the sessions run since the stage last took them (one block's, for `block.compute.end`). */
  readonly placements = new PlacementTally();
  /** Derived sizes of this shape. */
  readonly dims: Stdit3Dims;

  private constructor(
    private readonly backend: InferenceBackend,
    /** The model configuration. */
    readonly cfg: Stdit3Config,
    /** The static job shape the graphs are built for. */
    readonly shape: Stdit3Shape,
    /** How the weights are stored (the denoiser stage's precision). */
    readonly precision: Precision,
  ) {
    this.dims = stdit3Dims(cfg, shape);
  }

  /** Creates a runner; sessions are built and compiled on first use and cached. */
  static create(
    backend: InferenceBackend,
    cfg: Stdit3Config,
    shape: Stdit3Shape,
    precision: Precision = 'f32',
  ): Stdit3Model {
    return new Stdit3Model(backend, cfg, shape, precision);
  }

  /** Feeds weight `key` as graph input `input` (stored as this model's precision makes the graph expect). */
  private feed(
    feeds: Record<string, Tensor>,
    input: string,
    weights: WeightMap,
    key: string,
    shape: readonly number[],
  ): void {
    feedWeight(
      feeds,
      input,
      need(weights, key),
      storageOf(this.precision, key, shape),
      `STDiT3 weight '${key}'`,
    );
  }

  /** Whether TDTM blocks can run at this shape (needs T ≥ 2; otherwise TDTM requests run plain blocks). */
  get tdtmAvailable(): boolean {
    return this.dims.Tp >= 2;
  }

  /** The compiled session of one graph kind (built on first call). */
  session(kind: Stdit3SessionKind): Promise<BackendSession> {
    let s = this.sessions.get(kind);
    if (!s) {
      const p = this.precision;
      const target = this.backend.graphTarget ?? 'cpu';
      const bytes =
        kind === 'part1'
          ? buildPart1Graph(this.cfg, this.shape, p, target)
          : kind === 'part2'
            ? buildPart2Graph(this.cfg, this.shape, p, target)
            : kind === 'pair' || kind === 'pair-tdtm'
              ? buildPairGraph(this.cfg, this.shape, kind === 'pair-tdtm', {
                  withMid: PAIR_GRAPH_WITH_MID,
                  precision: p,
                  target,
                })
              : buildBlockGraph(
                  this.cfg,
                  this.shape,
                  kind.startsWith('spatial') ? 'spatial' : 'temporal',
                  kind.endsWith('tdtm'),
                  p,
                  target,
                );
      const { batch, frames, height, width, captionLength } = this.shape;
      s = this.backend.createSession(
        bytes,
        `stdit3/${kind} [B${batch} T${frames} ${height}x${width} L${captionLength}${p === 'f32' ? '' : ` ${p}`}${targetLabel(target)}]`,
      );
      this.sessions.set(kind, s);
      s.catch(() => this.sessions.delete(kind));
    }
    return s;
  }

  /** Embeddings: patch + position embedding, t / t_mlp, caption projection, caption bias and RoPE tables. */
  async part1(weights: WeightMap, inputs: Stdit3Inputs): Promise<Stdit3State> {
    const { B, C, L, hd, Tp } = this.dims;
    const { batch, frames, height, width } = this.shape;
    const cfg = this.cfg;
    expectDims('x', inputs.x.dims, [batch, cfg.inChannels, frames, height, width]);
    const yDims = inputs.y.dims.length === 4 ? inputs.y.dims : [B, 1, ...inputs.y.dims.slice(1)];
    expectDims('y', yDims, [B, 1, L, cfg.captionChannels]);
    if (inputs.timestep.length !== B)
      throw new Error(`STDiT3: ${inputs.timestep.length} timesteps for batch ${B}`);
    const feeds: Record<string, Tensor> = {
      x: inputs.x,
      t_sinus: sinusoid(inputs.timestep, inputs.tFreqTable),
      fps_sinus: sinusoid(new Float32Array(B).fill(inputs.fps), inputs.tFreqTable),
      pos_emb: positionEmbedding2d(
        C,
        this.dims.Hp,
        this.dims.Wp,
        inputs.heightPx,
        inputs.widthPx,
        cfg.inputSqSize,
      ),
      y: floatTensor([B, L, cfg.captionChannels], inputs.y.data),
    };
    const shapes = part1WeightShapes(cfg);
    for (const k of PART1_GRAPH_WEIGHTS) this.feed(feeds, k, weights, k, shapes[k]);
    const out = await this.placements.ran(await this.session('part1')).run(feeds);
    const stored = weights.get('rope.freqs');
    const freqs = stored ? weightToFloat32(stored).data : ropeFreqs(hd);
    if (freqs.length !== hd / 2)
      throw new Error(`STDiT3: rope.freqs has ${freqs.length} values, expected ${hd / 2}`);
    return {
      tokens: asFloat(out.tokens, 'tokens'),
      t: asFloat(out.t, 't'),
      tMlp: asFloat(out.t_mlp, 't_mlp'),
      yProj: asFloat(out.y_proj, 'y_proj'),
      yBias: captionKeyBias(inputs.mask, B, L),
      rope: ropeTables(freqs, Tp),
      ...(Tp >= 2 ? { ropeMerged: ropeTables(freqs, tdtmFrameMap(Tp).merged) } : {}),
    };
  }

  /**
   * Runs block `index` of `kind` on `state.tokens` and returns the new tokens. `weights` holds full Open-Sora keys
   * (`spatial_blocks.{index}.*`); other keys are ignored. TDTM at T < 2 runs the plain block.
   */
  async block(
    kind: BlockKind,
    tdtm: boolean,
    weights: WeightMap,
    index: number,
    state: Stdit3State,
  ): Promise<FloatTensor> {
    const merged = tdtm && this.tdtmAvailable;
    const prefix = `${kind}_blocks.${index}.`;
    const feeds: Record<string, Tensor> = {
      x: state.tokens,
      t_mlp: state.tMlp,
      y: state.yProj,
      y_bias: state.yBias,
    };
    if (kind === 'temporal') {
      const rope = merged ? state.ropeMerged : state.rope;
      if (!rope) throw new Error('STDiT3: state has no merged RoPE tables');
      feeds.rope_cos = rope.cos;
      feeds.rope_sin = rope.sin;
    }
    for (const s of stdit3BlockWeightSuffixes(this.cfg))
      this.feed(feeds, s.name, weights, prefix + s.name, s.shape);
    const session = await this.session(merged ? `${kind}-tdtm` : kind);
    return asFloat((await this.placements.ran(session).run(feeds, ['x_out'])).x_out, 'x_out');
  }

  /**
   * Runs spatial block `index` then temporal block `index` in one session (the pair graph) on `state.tokens`.
   * `weights` holds full Open-Sora keys (`spatial_blocks.{index}.*`, `temporal_blocks.{index}.*`); other keys are
   * ignored. TDTM at T < 2 runs the plain pair. Bit-identical to `block('spatial')` then `block('temporal')` up to
   * ORT's per-graph fusion choices (tested to 1e-6).
   */
  async pair(
    tdtm: boolean,
    weights: WeightMap,
    index: number,
    state: Stdit3State,
    opts: Stdit3PairOptions = {},
  ): Promise<Stdit3PairResult> {
    const merged = tdtm && this.tdtmAvailable;
    const rope = merged ? state.ropeMerged : state.rope;
    if (!rope) throw new Error('STDiT3: state has no merged RoPE tables');
    const feeds: Record<string, Tensor> = {
      x: state.tokens,
      t_mlp: state.tMlp,
      y: state.yProj,
      y_bias: state.yBias,
      rope_cos: rope.cos,
      rope_sin: rope.sin,
    };
    for (const kind of ['spatial', 'temporal'] as const) {
      const prefix = `${kind}_blocks.${index}.`;
      for (const s of stdit3BlockWeightSuffixes(this.cfg))
        this.feed(feeds, pairWeightInput(kind, s.name), weights, prefix + s.name, s.shape);
    }
    const session = await this.session(merged ? 'pair-tdtm' : 'pair');
    const out = await this.placements.ran(session).run(feeds, opts.withMid ? ['x_out', 'x_mid'] : ['x_out']);
    const tokens = asFloat(out.x_out, 'x_out');
    return opts.withMid ? { tokens, mid: asFloat(out.x_mid, 'x_mid') } : { tokens };
  }

  /** Final layer + unpatchify: tokens [B, T, S, C] and t [B, C] → out [B, Cout, T, H, W]. */
  async part2(weights: WeightMap, tokens: FloatTensor, t: FloatTensor): Promise<FloatTensor> {
    const feeds: Record<string, Tensor> = { tokens, t };
    for (const [k, shape] of Object.entries(part2WeightShapes(this.cfg)))
      this.feed(feeds, k, weights, k, shape);
    return asFloat((await this.placements.ran(await this.session('part2')).run(feeds, ['out'])).out, 'out');
  }

  /** The whole denoiser: part1, spatial/temporal block pairs 0..depth−1, part2. */
  async forward(
    allWeights: WeightMap,
    inputs: Stdit3Inputs,
    opts: Stdit3ForwardOptions,
  ): Promise<FloatTensor> {
    const state = await this.part1(allWeights, inputs);
    const onBlock = opts.onBlock;
    for (let i = 0; i < this.cfg.depth; i++) {
      const { tokens, mid } = await this.pair(opts.tdtm, allWeights, i, state, { withMid: !!onBlock });
      if (onBlock && mid) {
        onBlock(`${i}.spatial`, mid);
        onBlock(`${i}.temporal`, tokens);
      }
      state.tokens = tokens;
    }
    return this.part2(allWeights, state.tokens, state.t);
  }

  /** Releases every compiled session. */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.release()));
  }
}
