/**
 * T5 v1.1 encoder graphs (spec 8, step 4-5), built with the shared GraphBuilder for a static (B, L):
 *
 * - **block graph** (`buildT5BlockGraph`): inputs `x [B,L,D]`, `attn_bias [B,H,L,L]` (position bias + key mask,
 *   computed once in TypeScript) and the block's weights named by key suffix (`layer.0.SelfAttention.q.weight`, …,
 *   see `t5BlockGraphWeights`), stored as the stage's precision says (blockset/precision.ts). Outputs `x_out [B,L,D]` and `x_attn [B,L,D]` (after the self-attention sub-layer;
 *   a run that does not ask for it only pays an in-graph copy). One session serves all encoder blocks.
 * - **final graph** (`buildT5FinalGraph`): `x [B,L,D]` + `encoder.final_layer_norm.weight` → `y [B,L,D]`.
 *
 * The embedding lookup has no graph: it is a row copy in TypeScript (see model.ts).
 */
import { storageOf, weightInput, type Precision } from '../blockset/precision';
import { GraphBuilder, type Value } from '../onnx/graph-builder';
import type { GraphTarget } from '../onnx/graph-target';
import { t5BlockGraphWeights, T5_FINAL_NORM_KEY, type T5Config, type T5Shape } from './config';

/** T5LayerNorm: x·rsqrt(mean(x², last axis) + eps)·w, no mean subtraction, no bias; float32 throughout. */
function rmsNorm(g: GraphBuilder, x: Value, w: Value, eps: number): Value {
  const ms = g.reduceMean(g.mul(x, x), [-1], true);
  return g.mul(g.div(x, g.node('Sqrt', [g.add(ms, g.scalar(eps))])), w);
}

/** Builds the encoder block graph for a static shape, weight precision and graph target. */
export function buildT5BlockGraph(
  cfg: T5Config,
  shape: T5Shape,
  precision: Precision = 'f32',
  target: GraphTarget = 'cpu',
): Uint8Array {
  const { batch: B, length: L } = shape;
  const D = cfg.dModel;
  const H = cfg.numHeads;
  const dk = cfg.dKv;
  const I = H * dk;
  const g = new GraphBuilder('t5_encoder_block', target);
  const x = g.input('x', [B, L, D]);
  const bias = g.input('attn_bias', [B, H, L, L]);
  const w = new Map<string, Value>();
  for (const s of t5BlockGraphWeights(cfg))
    w.set(s.name, weightInput(g, s.name, s.shape, storageOf(precision, s.name, s.shape)));
  const wt = (name: string): Value => {
    const v = w.get(name);
    if (v === undefined) throw new Error(`T5 block graph: unknown weight ${name}`);
    return v;
  };
  const eps = cfg.layerNormEpsilon;

  // Self-attention sub-layer: no 1/sqrt(d_kv) scaling, additive bias, softmax over keys (float32).
  const x2 = g.reshape(x, [B * L, D]);
  const h = rmsNorm(g, x2, wt('layer.0.layer_norm.weight'), eps);
  const heads = (v: Value): Value => g.transpose(g.reshape(v, [B, L, H, dk]), [0, 2, 1, 3]); // [B,H,L,dk]
  const q = heads(g.gemm(h, wt('layer.0.SelfAttention.q.weight')));
  const kT = g.transpose(
    g.reshape(g.gemm(h, wt('layer.0.SelfAttention.k.weight')), [B, L, H, dk]),
    [0, 2, 3, 1],
  );
  const v = heads(g.gemm(h, wt('layer.0.SelfAttention.v.weight')));
  const attn = g.softmax(g.add(g.matmul(q, kT), bias));
  const o = g.reshape(g.transpose(g.matmul(attn, v), [0, 2, 1, 3]), [B * L, I]);
  const xAttn = g.add(x2, g.gemm(o, wt('layer.0.SelfAttention.o.weight')));

  // Gated-GELU feed-forward sub-layer: wo(gelu_tanh(wi_0·h) ⊙ wi_1·h).
  const h2 = rmsNorm(g, xAttn, wt('layer.1.layer_norm.weight'), eps);
  const gate = g.geluTanh(g.gemm(h2, wt('layer.1.DenseReluDense.wi_0.weight')));
  const lin = g.gemm(h2, wt('layer.1.DenseReluDense.wi_1.weight'));
  const xOut = g.add(xAttn, g.gemm(g.mul(gate, lin), wt('layer.1.DenseReluDense.wo.weight')));

  g.output(g.reshape(xOut, [B, L, D]), 'x_out', [B, L, D]);
  g.output(g.reshape(xAttn, [B, L, D]), 'x_attn', [B, L, D]);
  return g.build();
}

/** Builds the final RMSNorm graph (`x` → `y`, weight input `encoder.final_layer_norm.weight`). */
export function buildT5FinalGraph(cfg: T5Config, shape: T5Shape, target: GraphTarget = 'cpu'): Uint8Array {
  const { batch: B, length: L } = shape;
  const D = cfg.dModel;
  const g = new GraphBuilder('t5_encoder_final', target);
  const x = g.input('x', [B, L, D]);
  const w = g.input(T5_FINAL_NORM_KEY, [D]);
  g.output(rmsNorm(g, x, w, cfg.layerNormEpsilon), 'y', [B, L, D]);
  return g.build();
}
