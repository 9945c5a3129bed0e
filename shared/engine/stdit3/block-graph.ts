/**
 * STDiT3 blocks as ONNX graphs (spec 3.7-3.10, 4, 5). `addBlock` appends one block's nodes (spatial or temporal,
 * plain or TDTM) to a GraphBuilder; two graphs are built from it:
 *
 * - the **block graph** (`buildBlockGraph`): inputs `x [B,T,S,C]`, `t_mlp [B,6C]`, `y [B,L,C]` (projected captions),
 *   `y_bias [B,1,1,L]`, temporal blocks also `rope_cos`/`rope_sin [Tseq,hd]` (Tseq = T, or T_m = ⌊T/2⌋ under TDTM),
 *   plus the block's weights named by key suffix (`attn.qkv.weight`, ...). Output: `x_out [B,T,S,C]`.
 * - the **pair graph** (`buildPairGraph`): spatial block i then temporal block i in one graph, so a denoise step
 *   runs one session `depth` times instead of alternating two (each ORT session owns an intra-op thread pool).
 *   Same shared inputs as the temporal block graph; weights named `spatial.<suffix>` and `temporal.<suffix>`
 *   (`pairWeightInput`). Outputs `x_out` and, with `withMid`, `x_mid` (the spatial block's output).
 */
import { storageOf, weightInput, type Precision } from '../blockset/precision';
import { GraphBuilder, type Value } from '../onnx/graph-builder';
import type { GraphTarget } from '../onnx/graph-target';
import {
  stdit3BlockWeightSuffixes,
  stdit3Dims,
  type Stdit3Config,
  type Stdit3Dims,
  type Stdit3Shape,
} from './config';

/** Which attention grouping a block uses: per frame (spatial) or per patch position across frames (temporal). */
export type BlockKind = 'spatial' | 'temporal';

const LN_EPS = 1e-6;
const RMS_EPS = 1e-6;

/** How TDTM's unmerge maps merged frames back to T frames. */
export interface TdtmFrameMap {
  /** Merged frame count T_m = ⌊T/2⌋. */
  merged: number;
  /** For each of the T output frames, the merged frame it copies. */
  map: number[];
  /** True where the authors' Python unmerge yields exactly T frames (T ≡ 0, 3 mod 4, or T = 30). */
  matchesReference: boolean;
}

/**
 * TDTM frame map for T latent frames (spec 5.2-5.4), the single source of truth for unmerge. Reference rule: repeat
 * each merged frame twice and, if T_m is odd and T_m ≠ 15, append one more copy of the last merged frame. Where
 * that does not give T frames (T = 2, 5, 6, 9, 10, ...: the reference crashes), our defined behaviour is: truncate
 * to T, or pad with copies of the last merged frame up to T (T = 5 → [m0, m0, m1, m1, m1]). Needs T ≥ 2.
 */
export function tdtmFrameMap(T: number): TdtmFrameMap {
  if (!Number.isInteger(T) || T < 2) throw new Error(`TDTM needs at least 2 latent frames, got ${T}`);
  const merged = Math.floor(T / 2);
  const ref: number[] = [];
  for (let k = 0; k < merged; k++) ref.push(k, k);
  if (merged % 2 === 1 && merged !== 15) ref.push(merged - 1);
  const matchesReference = ref.length === T;
  const map = ref.slice(0, T);
  while (map.length < T) map.push(merged - 1);
  return { merged, map, matchesReference };
}

/** The values one block reads, already present in the graph being built. */
export interface BlockIo {
  /** Tokens [B, T, S, C] (or any shape with B·T·S·C elements in that order). */
  x: Value;
  /** Modulation input [B, 6C]. */
  tMlp: Value;
  /** Projected captions [B, L, C]. */
  y: Value;
  /** Additive caption key bias [B, 1, 1, L]. */
  yBias: Value;
  /** RoPE tables [Tseq, hd] (temporal blocks only). */
  ropeCos?: Value;
  ropeSin?: Value;
  /** The block's weight value by key suffix (`attn.qkv.weight`, ...). */
  weight: (suffix: string) => Value;
}

/** Appends one block (spatial or temporal, plain or TDTM) to `g`; returns its output tokens [B, T, S, C]. */
export function addBlock(g: GraphBuilder, d: Stdit3Dims, kind: BlockKind, tdtm: boolean, io: BlockIo): Value {
  const { B, C, S, L, heads, hd } = d;
  const T = d.Tp;
  const N = T * S;
  const frameMap = tdtm ? tdtmFrameMap(T) : undefined;
  const Tseq = frameMap ? frameMap.merged : T;
  let rope: { cos: Value; sin: Value } | undefined;
  if (kind === 'temporal') {
    if (io.ropeCos === undefined || io.ropeSin === undefined)
      throw new Error('a temporal block needs rope_cos / rope_sin');
    rope = { cos: io.ropeCos, sin: io.ropeSin };
  }
  const wt = io.weight;
  const coreml = g.target === 'coreml';

  // Merge/unmerge along frames on [B, frames·S, C] sequences (spec 5.2).
  const merge = (v: Value): Value => {
    const m = frameMap?.merged ?? T;
    let v4 = g.reshape(v, [B, T, S, C]);
    if (T !== 2 * m) v4 = g.slice(v4, [0], [2 * m], [1]);
    return g.reshape(g.reduceMean(g.reshape(v4, [B, m, 2, S, C]), [2], false), [B, m * S, C]);
  };
  const unmerge = (v: Value): Value =>
    g.reshape(g.gather(g.reshape(v, [B, Tseq, S, C]), frameMap?.map ?? [], 1), [B, N, C]);

  // Modulation rows: shift/scale/gate (msa), shift/scale/gate (mlp), each [B, 1, C] (spec 3.7).
  const mod = g.add(g.reshape(io.tMlp, [B, 6, C]), wt('scale_shift_table'));
  const [shMsa, scMsa, gMsa, shMlp, scMlp, gMlp] = g.split(mod, 1, 6) as [
    Value,
    Value,
    Value,
    Value,
    Value,
    Value,
  ];
  const one = g.scalar(1);
  const modulate = (v: Value, shift: Value, scale: Value): Value =>
    g.add(g.mul(g.layerNorm(v, C, LN_EPS), g.add(scale, one)), shift);
  const attnScale = g.scalar(1 / Math.sqrt(hd));

  // Self-attention on [B, Tseq·S, C] (spec 3.8); returns the projected output, same shape.
  const selfAttn = (h: Value): Value => {
    const qkv = g.gemm(g.reshape(h, [B * Tseq * S, C]), wt('attn.qkv.weight'), wt('attn.qkv.bias'));
    const G = kind === 'spatial' ? B * Tseq : B * S;
    const Ls = kind === 'spatial' ? S : Tseq;
    const qkvT =
      kind === 'spatial'
        ? g.transpose(g.reshape(qkv, [G, Ls, 3, heads, hd]), [2, 0, 3, 1, 4])
        : coreml
          ? // (t, s, 3, h·d) → (3, s, t, h·d), then (t, h, d) → (h, t, d): the same order in rank ≤ 5 tensors.
            g.reshape(
              g.transpose(
                g.reshape(g.transpose(g.reshape(qkv, [B, Tseq, S, 3, heads * hd]), [3, 0, 2, 1, 4]), [
                  3 * G,
                  Tseq,
                  heads,
                  hd,
                ]),
                [0, 2, 1, 3],
              ),
              [3, G, heads, Ls, hd],
            )
          : g.reshape(g.transpose(g.reshape(qkv, [B, Tseq, S, 3, heads, hd]), [3, 0, 2, 4, 1, 5]), [
              3,
              G,
              heads,
              Ls,
              hd,
            ]);
    let qk = g.slice(qkvT, [0], [2], [0]); // [2, G, heads, Ls, hd]
    const v = g.reshape(g.slice(qkvT, [2], [3], [0]), [G, heads, Ls, hd]);
    // qk RMSNorm over hd; the softmax scale hd^-0.5 is folded into the q gain (q·k is linear in q).
    const gain = g.reshape(
      g.concat([g.mul(wt('attn.q_norm.weight'), attnScale), wt('attn.k_norm.weight')], 0),
      [2, 1, 1, 1, hd],
    );
    const ms = g.reduceMean(g.mul(qk, qk), [-1], true);
    qk = g.mul(g.div(qk, g.node('Sqrt', [g.add(ms, g.scalar(RMS_EPS))])), gain);
    if (rope) {
      // Interleaved pairs (spec 4): rope(x) = x·cos + swap(x)·sin, sin sign-folded by ropeTables().
      const pairs = coreml ? [2 * G, heads, Ls, hd / 2, 2] : [2, G, heads, Ls, hd / 2, 2]; // rank ≤ 5 for Core ML
      const swapped = g.reshape(g.gather(g.reshape(qk, pairs), [1, 0], -1), [2, G, heads, Ls, hd]);
      qk = g.add(g.mul(qk, rope.cos), g.mul(swapped, rope.sin));
    }
    const [q5, k5] = g.split(qk, 0, 2) as [Value, Value];
    const q = g.reshape(q5, [G, heads, Ls, hd]);
    const kT = g.transpose(g.reshape(k5, [G, heads, Ls, hd]), [0, 1, 3, 2]);
    const o = g.matmul(g.softmax(g.matmul(q, kT)), v); // [G, heads, Ls, hd]
    const oTok =
      kind === 'spatial'
        ? g.transpose(o, [0, 2, 1, 3])
        : g.transpose(g.reshape(o, [B, S, heads, Tseq, hd]), [0, 3, 1, 2, 4]);
    const proj = g.gemm(g.reshape(oTok, [B * Tseq * S, C]), wt('attn.proj.weight'), wt('attn.proj.bias'));
    return g.reshape(proj, [B, Tseq * S, C]);
  };

  // Cross-attention of [B, Nq, C] queries on the batch row's own captions, additive key bias (spec 3.9).
  const crossAttn = (xc: Value): Value => {
    const Nq = Tseq * S;
    const q = g.gemm(
      g.reshape(xc, [B * Nq, C]),
      wt('cross_attn.q_linear.weight'),
      wt('cross_attn.q_linear.bias'),
    );
    const qT = g.transpose(g.reshape(q, [B, Nq, heads, hd]), [0, 2, 1, 3]);
    const kv = g.gemm(
      g.reshape(io.y, [B * L, C]),
      wt('cross_attn.kv_linear.weight'),
      wt('cross_attn.kv_linear.bias'),
    );
    const [k5, v5] = g.split(g.reshape(kv, [B, L, 2, heads, hd]), 2, 2) as [Value, Value];
    const kT = g.mul(g.transpose(g.reshape(k5, [B, L, heads, hd]), [0, 2, 3, 1]), attnScale); // [B, heads, hd, L]
    const v = g.transpose(g.reshape(v5, [B, L, heads, hd]), [0, 2, 1, 3]);
    const o = g.matmul(g.softmax(g.add(g.matmul(qT, kT), io.yBias)), v); // [B, heads, Nq, hd]
    const oTok = g.reshape(g.transpose(o, [0, 2, 1, 3]), [B * Nq, C]);
    return g.reshape(g.gemm(oTok, wt('cross_attn.proj.weight'), wt('cross_attn.proj.bias')), [B, Nq, C]);
  };

  let x3 = g.reshape(io.x, [B, N, C]);
  const h = modulate(x3, shMsa, scMsa);
  const a = frameMap ? unmerge(selfAttn(merge(h))) : selfAttn(h);
  x3 = g.add(x3, g.mul(gMsa, a));
  const c = frameMap ? unmerge(crossAttn(merge(x3))) : crossAttn(x3);
  x3 = g.add(x3, c);
  const h2 = g.reshape(modulate(x3, shMlp, scMlp), [B * N, C]);
  const fc1 = g.geluTanh(g.gemm(h2, wt('mlp.fc1.weight'), wt('mlp.fc1.bias')));
  const fc2 = g.reshape(g.gemm(fc1, wt('mlp.fc2.weight'), wt('mlp.fc2.bias')), [B, N, C]);
  x3 = g.add(x3, g.mul(gMlp, fc2));
  return g.reshape(x3, [B, T, S, C]);
}

/** Declares the shared block inputs (`x`, `t_mlp`, `y`, `y_bias` and, if `rope`, `rope_cos`/`rope_sin`). */
function blockInputs(g: GraphBuilder, d: Stdit3Dims, tdtm: boolean, rope: boolean): Omit<BlockIo, 'weight'> {
  const { B, C, S, L, hd } = d;
  const Tseq = tdtm ? tdtmFrameMap(d.Tp).merged : d.Tp;
  return {
    x: g.input('x', [B, d.Tp, S, C]),
    tMlp: g.input('t_mlp', [B, 6 * C]),
    y: g.input('y', [B, L, C]),
    yBias: g.input('y_bias', [B, 1, 1, L]),
    ...(rope ? { ropeCos: g.input('rope_cos', [Tseq, hd]), ropeSin: g.input('rope_sin', [Tseq, hd]) } : {}),
  };
}

/** Declares the block weights as inputs named `prefix + suffix` (stored as `precision` says); lookup by suffix. */
function weightInputs(
  g: GraphBuilder,
  cfg: Stdit3Config,
  prefix: string,
  precision: Precision,
): (suffix: string) => Value {
  const w = new Map<string, Value>();
  for (const s of stdit3BlockWeightSuffixes(cfg))
    w.set(s.name, weightInput(g, prefix + s.name, s.shape, storageOf(precision, s.name, s.shape)));
  return (suffix) => {
    const v = w.get(suffix);
    if (v === undefined) throw new Error(`unknown block weight ${suffix}`);
    return v;
  };
}

/** Builds one block's ONNX model for a static job shape. `tdtm` merges frame pairs around both attentions. */
export function buildBlockGraph(
  cfg: Stdit3Config,
  shape: Stdit3Shape,
  kind: BlockKind,
  tdtm: boolean,
  precision: Precision = 'f32',
  target: GraphTarget = 'cpu',
): Uint8Array {
  const d = stdit3Dims(cfg, shape);
  const g = new GraphBuilder(`stdit3_${kind}${tdtm ? '_tdtm' : ''}_block`, target);
  const io = blockInputs(g, d, tdtm, kind === 'temporal');
  const out = addBlock(g, d, kind, tdtm, { ...io, weight: weightInputs(g, cfg, '', precision) });
  g.output(out, 'x_out', [d.B, d.Tp, d.S, d.C]);
  return g.build();
}

/** The pair graph's input name of a block weight: `spatial.<suffix>` or `temporal.<suffix>`. */
export function pairWeightInput(kind: BlockKind, suffix: string): string {
  return `${kind}.${suffix}`;
}

/** Options of {@link buildPairGraph}. */
export interface PairGraphOptions {
  /** Also output `x_mid`, the spatial block's output (fixture verification). */
  withMid?: boolean;
  /** How the weights are stored (default f32). */
  precision?: Precision;
  /** The execution provider the graph is built for (default cpu). */
  target?: GraphTarget;
}

/**
 * Builds the pair graph: spatial block then temporal block (both plain, or both TDTM) for a static job shape.
 * Weight inputs are `spatial.<suffix>` / `temporal.<suffix>` (see `pairWeightInput`).
 */
export function buildPairGraph(
  cfg: Stdit3Config,
  shape: Stdit3Shape,
  tdtm: boolean,
  opts: PairGraphOptions = {},
): Uint8Array {
  const d = stdit3Dims(cfg, shape);
  const dims = [d.B, d.Tp, d.S, d.C];
  const g = new GraphBuilder(`stdit3_pair${tdtm ? '_tdtm' : ''}`, opts.target);
  const io = blockInputs(g, d, tdtm, true);
  const precision = opts.precision ?? 'f32';
  const mid = addBlock(g, d, 'spatial', tdtm, {
    ...io,
    weight: weightInputs(g, cfg, pairWeightInput('spatial', ''), precision),
  });
  const out = addBlock(g, d, 'temporal', tdtm, {
    ...io,
    x: mid,
    weight: weightInputs(g, cfg, pairWeightInput('temporal', ''), precision),
  });
  g.output(out, 'x_out', dims);
  if (opts.withMid) g.output(mid, 'x_mid', dims);
  return g.build();
}
