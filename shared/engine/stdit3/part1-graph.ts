/**
 * The `part1` graph: patch embedding + position embedding, timestep/fps embedders, t_block and the caption MLP
 * (spec 3.1-3.6). Inputs: `x [B,Cin,T,H,W]`, `t_sinus [B,256]`, `fps_sinus [B,256]`, `pos_emb [S,C]`,
 * `y [B,L,Cc]` and the part1 weights by full Open-Sora key. Outputs: `tokens [B,T,S,C]`, `t [B,C]`,
 * `t_mlp [B,6C]`, `y_proj [B,L,C]`.
 */
import { storageOf, weightInput, type Precision } from '../blockset/precision';
import { GraphBuilder, type Value } from '../onnx/graph-builder';
import type { GraphTarget } from '../onnx/graph-target';
import { stdit3Dims, type Stdit3Config, type Stdit3Shape } from './config';
import { SINUSOID_WIDTH } from './embeddings';

/** Part1 weight keys the graph takes as inputs (rope.freqs and y_embedding are used on the TS side). */
export const PART1_GRAPH_WEIGHTS = [
  'x_embedder.proj.weight',
  'x_embedder.proj.bias',
  't_embedder.mlp.0.weight',
  't_embedder.mlp.0.bias',
  't_embedder.mlp.2.weight',
  't_embedder.mlp.2.bias',
  'fps_embedder.mlp.0.weight',
  'fps_embedder.mlp.0.bias',
  'fps_embedder.mlp.2.weight',
  'fps_embedder.mlp.2.bias',
  't_block.1.weight',
  't_block.1.bias',
  'y_embedder.y_proj.fc1.weight',
  'y_embedder.y_proj.fc1.bias',
  'y_embedder.y_proj.fc2.weight',
  'y_embedder.y_proj.fc2.bias',
] as const;

/** Part1 graph weight shapes by key. */
export function part1WeightShapes(
  cfg: Stdit3Config,
): Record<(typeof PART1_GRAPH_WEIGHTS)[number], readonly number[]> {
  const C = cfg.hiddenSize;
  const [pT, pH, pW] = cfg.patchSize;
  const Cin = cfg.inChannels;
  const Cc = cfg.captionChannels;
  return {
    'x_embedder.proj.weight': [C, Cin, pT, pH, pW],
    'x_embedder.proj.bias': [C],
    't_embedder.mlp.0.weight': [C, SINUSOID_WIDTH],
    't_embedder.mlp.0.bias': [C],
    't_embedder.mlp.2.weight': [C, C],
    't_embedder.mlp.2.bias': [C],
    'fps_embedder.mlp.0.weight': [C, SINUSOID_WIDTH],
    'fps_embedder.mlp.0.bias': [C],
    'fps_embedder.mlp.2.weight': [C, C],
    'fps_embedder.mlp.2.bias': [C],
    't_block.1.weight': [6 * C, C],
    't_block.1.bias': [6 * C],
    'y_embedder.y_proj.fc1.weight': [C, Cc],
    'y_embedder.y_proj.fc1.bias': [C],
    'y_embedder.y_proj.fc2.weight': [C, C],
    'y_embedder.y_proj.fc2.bias': [C],
  };
}

/** Builds the part1 ONNX model for one static job shape, weight precision and graph target. */
export function buildPart1Graph(
  cfg: Stdit3Config,
  shape: Stdit3Shape,
  precision: Precision = 'f32',
  target: GraphTarget = 'cpu',
): Uint8Array {
  const d = stdit3Dims(cfg, shape);
  const { B, C, S, L } = d;
  const [pT, pH, pW] = cfg.patchSize;
  const { frames: T, height: H, width: W } = shape;
  const Cin = cfg.inChannels;
  const Cc = cfg.captionChannels;
  const K = Cin * pT * pH * pW;
  const g = new GraphBuilder('stdit3_part1', target);

  const x = g.input('x', [B, Cin, T, H, W]);
  const tSin = g.input('t_sinus', [B, SINUSOID_WIDTH]);
  const fpsSin = g.input('fps_sinus', [B, SINUSOID_WIDTH]);
  const pos = g.input('pos_emb', [S, C]);
  const y = g.input('y', [B, L, Cc]);
  const wShapes = part1WeightShapes(cfg);
  const w: Record<string, Value> = {};
  for (const name of PART1_GRAPH_WEIGHTS)
    w[name] = weightInput(g, name, wShapes[name], storageOf(precision, name, wShapes[name]));
  const wt = (name: (typeof PART1_GRAPH_WEIGHTS)[number]): Value => w[name] as Value;

  // Patch embedding (spec 3.1-3.2): zero-pad T/H/W at the end, patchify to [B·N, Cin·pT·pH·pW], Gemm.
  const Tq = d.Tp * pT;
  const Hq = d.Hp * pH;
  const Wq = d.Wp * pW;
  const padded =
    Tq !== T || Hq !== H || Wq !== W ? g.pad(x, [0, 0, 0, 0, 0, 0, 0, Tq - T, Hq - H, Wq - W]) : x;
  let emb: Value;
  if (target === 'coreml') {
    // The same patches in rank ≤ 5 steps (Core ML's limit), columns ordered (pT, pH, pW, Cin) instead of
    // (Cin, pT, pH, pW): (c, tihjwk) → (tihjwk, c); (j,w,kc) → (w,j,kc); (i,hw,jkc) → (hw,i,jkc). The kernel is
    // permuted to match, [K, C] for MatMul.
    const a = g.transpose(g.reshape(padded, [B, Cin, Tq * Hq * Wq]), [0, 2, 1]);
    const b = g.transpose(g.reshape(a, [B * d.Tp * pT * d.Hp, pH, d.Wp, pW * Cin]), [0, 2, 1, 3]);
    const c = g.transpose(g.reshape(b, [B * d.Tp, pT, S, pH * pW * Cin]), [0, 2, 1, 3]);
    const kernel = g.transpose(g.reshape(wt('x_embedder.proj.weight'), [C, Cin, pT * pH * pW]), [2, 1, 0]);
    emb = g.add(
      g.matmul(g.reshape(c, [B * d.Tp * S, K]), g.reshape(kernel, [K, C])),
      wt('x_embedder.proj.bias'),
    );
  } else {
    const patches = g.reshape(
      g.transpose(g.reshape(padded, [B, Cin, d.Tp, pT, d.Hp, pH, d.Wp, pW]), [0, 2, 4, 6, 1, 3, 5, 7]),
      [B * d.Tp * S, K],
    );
    emb = g.gemm(patches, g.reshape(wt('x_embedder.proj.weight'), [C, K]), wt('x_embedder.proj.bias'));
  }
  const tokens = g.add(g.reshape(emb, [B, d.Tp, S, C]), pos);
  g.output(tokens, 'tokens', [B, d.Tp, S, C]);

  // Timestep and fps embedders, t = t_emb + fps_emb, t_mlp = t_block(t) (spec 3.5).
  const mlp = (inp: Value, prefix: 't_embedder' | 'fps_embedder'): Value => {
    const h = g.silu(g.gemm(inp, wt(`${prefix}.mlp.0.weight`), wt(`${prefix}.mlp.0.bias`)));
    return g.gemm(h, wt(`${prefix}.mlp.2.weight`), wt(`${prefix}.mlp.2.bias`));
  };
  const t = g.add(mlp(tSin, 't_embedder'), mlp(fpsSin, 'fps_embedder'));
  g.output(t, 't', [B, C]);
  const tMlp = g.gemm(g.silu(t), wt('t_block.1.weight'), wt('t_block.1.bias'));
  g.output(tMlp, 't_mlp', [B, 6 * C]);

  // Caption MLP fc1 → GELU(tanh) → fc2 (spec 3.6), kept padded per batch row.
  const y1 = g.geluTanh(
    g.gemm(g.reshape(y, [B * L, Cc]), wt('y_embedder.y_proj.fc1.weight'), wt('y_embedder.y_proj.fc1.bias')),
  );
  const y2 = g.gemm(y1, wt('y_embedder.y_proj.fc2.weight'), wt('y_embedder.y_proj.fc2.bias'));
  g.output(g.reshape(y2, [B, L, C]), 'y_proj', [B, L, C]);
  return g.build();
}
