/**
 * VAE decoder runner: compiles each decode block's graph per static shape (lazily, cached) and runs it on an
 * InferenceBackend with the block's weights. Also the small TypeScript-side steps of the decode path: latent
 * de-normalisation, frame gathering/scattering between [B, C, T, H, W] and flattened (B T) micro-batches, and the
 * temporal front crop.
 */
import { PlacementTally } from '../placement-tally';
import { feedWeight, type Precision, type WeightMap } from '../blockset/precision';
import type { BackendSession, InferenceBackend } from '../ports';
import { floatTensor, type FloatTensor, type Tensor } from '../tensor';
import type { VaeConfig } from './config';
import { targetLabel } from '../onnx/graph-target';
import { buildVaeBlockGraph, type VaeBlockGraph, type VaeBlockShape } from './graphs';

/** Weights by full checkpoint key, as stored. */
export type VaeWeights = WeightMap;

/** What one block run returns. */
export interface VaeBlockResult {
  /** The block's result `y`. */
  readonly y: FloatTensor;
  /** Intermediates by probe name (only when run with probes). */
  readonly probes: ReadonlyMap<string, FloatTensor>;
}

interface Compiled {
  readonly graph: VaeBlockGraph;
  readonly session: BackendSession;
}

/** The VAE decoder's graphs on one backend; sessions are keyed by (block, shape, probes, graph target). */
export class VaeDecoderModel {
  private readonly sessions = new Map<string, Promise<Compiled>>();
  /** The placements of the sessions run since the stage last took them (one block's, for `block.compute.end`). */
  readonly placements = new PlacementTally();

  /** `cfg` is the decoder config every graph is built from; `precision` how the decode stage stores weights. */
  constructor(
    private readonly backend: InferenceBackend,
    /** The VAE config. */
    readonly cfg: VaeConfig,
    /** How the weights are stored (the decode stage's precision). */
    readonly precision: Precision = 'f32',
  ) {}

  private compiled(blockId: string, shape: VaeBlockShape, probes: boolean): Promise<Compiled> {
    const target = this.backend.graphTarget ?? 'cpu';
    const key = JSON.stringify([blockId, shape, probes, target]);
    let s = this.sessions.get(key);
    if (!s) {
      const graph = buildVaeBlockGraph(this.cfg, blockId, shape, {
        probes,
        precision: this.precision,
        target,
      });
      const p = this.precision === 'f32' ? '' : ` ${this.precision}`;
      const label = `vae/${blockId} [${graph.inputDims.join('x')}${p}${targetLabel(target)}]${probes ? ' +probes' : ''}`;
      s = this.backend.createSession(graph.bytes, label).then((session) => ({ graph, session }));
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  /** Runs decode block `blockId` on `x` (its shape must be the graph's input shape for `shape`). */
  async run(
    blockId: string,
    weights: VaeWeights,
    x: FloatTensor,
    shape: VaeBlockShape,
    opts: { probes?: boolean } = {},
  ): Promise<VaeBlockResult> {
    const probes = opts.probes ?? false;
    const { graph, session } = await this.compiled(blockId, shape, probes);
    if (x.dims.length !== graph.inputDims.length || x.dims.some((d, i) => d !== graph.inputDims[i]))
      throw new Error(
        `VAE ${blockId}: input has shape [${x.dims.join(', ')}], the graph takes [${graph.inputDims.join(', ')}]`,
      );
    const feeds: Record<string, Tensor> = { x };
    for (const k of graph.weights) {
      const w = weights.get(k);
      if (!w) throw new Error(`VAE ${blockId}: missing weight '${k}'`);
      feedWeight(feeds, k, w, graph.storage[k] ?? 'f32', `VAE ${blockId} weight '${k}'`);
    }
    const out = await this.placements.ran(session).run(feeds, ['y', ...graph.probes]);
    const take = (name: string): FloatTensor => {
      const t = out[name];
      if (!t || t.type !== 'float32')
        throw new Error(`VAE ${blockId}: graph output '${name}' missing or not float32`);
      return t;
    };
    return { y: take('y'), probes: new Map(graph.probes.map((p) => [p, take(p)])) };
  }

  /** Releases every compiled session. */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.session.release()));
  }
}

/** z·scale + shift per latent channel (spec 7.1), in float32 exactly as PyTorch does it (multiply, round, add, round). */
export function denormalizeLatent(z: FloatTensor, scale: FloatTensor, shift: FloatTensor): FloatTensor {
  const [B, C, ...rest] = z.dims as [number, number, ...number[]];
  if (scale.data.length !== C || shift.data.length !== C)
    throw new Error(
      `VAE: scale/shift have ${scale.data.length}/${shift.data.length} values for a ${C}-channel latent`,
    );
  let inner = 1;
  for (const d of rest) inner *= d;
  const out = new Float32Array(z.data.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      const s = scale.data[c] as number;
      const h = shift.data[c] as number;
      const o = (b * C + c) * inner;
      for (let i = 0; i < inner; i++)
        out[o + i] = Math.fround(Math.fround((z.data[o + i] as number) * s) + h);
    }
  return floatTensor(z.dims, out);
}

/** Frames [t0, t0 + n) of [B, C, T, H, W] as [B, C, n, H, W]. */
export function sliceFrames(x: FloatTensor, t0: number, n: number): FloatTensor {
  const [B, C, T, H, W] = x.dims as [number, number, number, number, number];
  if (t0 < 0 || t0 + n > T) throw new Error(`VAE: frames ${t0}..${t0 + n - 1} are outside 0..${T - 1}`);
  const hw = H * W;
  const out = new Float32Array(B * C * n * hw);
  for (let bc = 0; bc < B * C; bc++)
    out.set(x.data.subarray((bc * T + t0) * hw, (bc * T + t0 + n) * hw), bc * n * hw);
  return floatTensor([B, C, n, H, W], out);
}

/** Writes [B, C, n, H, W] into frames [t0, t0 + n) of `dst` [B, C, T, H, W]. */
export function writeFrames(dst: FloatTensor, src: FloatTensor, t0: number): void {
  const [B, C, T, H, W] = dst.dims as [number, number, number, number, number];
  const n = src.dims[2] as number;
  if (src.dims[0] !== B || src.dims[1] !== C || src.dims[3] !== H || src.dims[4] !== W || t0 + n > T)
    throw new Error(`VAE: cannot place [${src.dims.join(', ')}] at frame ${t0} of [${dst.dims.join(', ')}]`);
  const hw = H * W;
  for (let bc = 0; bc < B * C; bc++)
    dst.data.set(src.data.subarray(bc * n * hw, (bc + 1) * n * hw), (bc * T + t0) * hw);
}

/**
 * Flattened frames [f0, f0 + n) of [B, C, T, H, W] in (B T) order (batch 0's frames first) as [n, C, H, W]: one
 * SD-VAE micro-batch.
 */
export function gatherFlatFrames(x: FloatTensor, f0: number, n: number): FloatTensor {
  const [B, C, T, H, W] = x.dims as [number, number, number, number, number];
  if (f0 < 0 || f0 + n > B * T)
    throw new Error(`VAE: flat frames ${f0}..${f0 + n - 1} are outside 0..${B * T - 1}`);
  const hw = H * W;
  const out = new Float32Array(n * C * hw);
  for (let i = 0; i < n; i++) {
    const b = Math.floor((f0 + i) / T);
    const t = (f0 + i) % T;
    for (let c = 0; c < C; c++)
      out.set(x.data.subarray(((b * C + c) * T + t) * hw, ((b * C + c) * T + t + 1) * hw), (i * C + c) * hw);
  }
  return floatTensor([n, C, H, W], out);
}

/** Writes a micro-batch [n, C, H, W] back to flattened frames [f0, f0 + n) of `dst` [B, C, T, H, W]. */
export function scatterFlatFrames(dst: FloatTensor, src: FloatTensor, f0: number): void {
  const [, C, T, H, W] = dst.dims as [number, number, number, number, number];
  const n = src.dims[0] as number;
  if (src.dims[1] !== C || src.dims[2] !== H || src.dims[3] !== W)
    throw new Error(`VAE: cannot place micro-batch [${src.dims.join(', ')}] into [${dst.dims.join(', ')}]`);
  const hw = H * W;
  for (let i = 0; i < n; i++) {
    const b = Math.floor((f0 + i) / T);
    const t = (f0 + i) % T;
    for (let c = 0; c < C; c++)
      dst.data.set(src.data.subarray((i * C + c) * hw, (i * C + c + 1) * hw), ((b * C + c) * T + t) * hw);
  }
}
