/**
 * The `part2` graph: final layer (t-modulated LayerNorm + linear) and unpatchify (spec 3.12). Inputs:
 * `tokens [B,T,S,C]`, `t [B,C]` and the final_layer.* weights by full key. Output: `out [B,Cout,T,H,W]`, cropped to
 * the unpadded latent size.
 */
import { storageOf, weightInput, type Precision } from '../blockset/precision';
import { GraphBuilder, type Value } from '../onnx/graph-builder';
import type { GraphTarget } from '../onnx/graph-target';
import { stdit3Dims, type Stdit3Config, type Stdit3Shape } from './config';

/** Part2 graph weight shapes by key. */
export function part2WeightShapes(cfg: Stdit3Config): Readonly<Record<string, readonly number[]>> {
  const C = cfg.hiddenSize;
  const [pT, pH, pW] = cfg.patchSize;
  const P = pT * pH * pW * (cfg.predSigma ? 2 * cfg.inChannels : cfg.inChannels);
  return {
    'final_layer.scale_shift_table': [2, C],
    'final_layer.linear.weight': [P, C],
    'final_layer.linear.bias': [P],
  };
}

/** Builds the part2 ONNX model for one static job shape, weight precision and graph target. */
export function buildPart2Graph(
  cfg: Stdit3Config,
  shape: Stdit3Shape,
  precision: Precision = 'f32',
  target: GraphTarget = 'cpu',
): Uint8Array {
  const d = stdit3Dims(cfg, shape);
  const { B, C, S, Tp, Hp, Wp, Cout } = d;
  const [pT, pH, pW] = cfg.patchSize;
  const N = Tp * S;
  const g = new GraphBuilder('stdit3_part2', target);

  const tokens = g.input('tokens', [B, Tp, S, C]);
  const t = g.input('t', [B, C]);
  const shapes = part2WeightShapes(cfg);
  const w = (key: string): string =>
    weightInput(g, key, shapes[key] as readonly number[], storageOf(precision, key, shapes[key] as number[]));
  const sst = w('final_layer.scale_shift_table');
  const lw = w('final_layer.linear.weight');
  const lb = w('final_layer.linear.bias');

  // shift = sst[0] + t, scale = sst[1] + t (t, not t_mlp); h = LN(x)·(1 + scale) + shift.
  const shift = g.reshape(g.add(g.gather(sst, 0, 0), t), [B, 1, C]);
  const scale = g.reshape(g.add(g.gather(sst, 1, 0), t), [B, 1, C]);
  const ln = g.layerNorm(g.reshape(tokens, [B, N, C]), C, 1e-6);
  const h = g.add(g.mul(ln, g.add(scale, g.scalar(1))), shift);
  const tok = g.gemm(g.reshape(h, [B * N, C]), lw, lb); // [B·N, pT·pH·pW·Cout], (i, j, k, c) with c fastest

  // Unpatchify: out[b, c, t·pT+i, h·pH+j, w·pW+k] = tok[b, (t·Hp+h)·Wp+w, ((i·pH+j)·pW+k)·Cout+c].
  let vol: Value;
  if (target === 'coreml') {
    // The same permutation in three transposes of rank ≤ 5 (Core ML's limit): (t,h,w,i,jkc) → (t,i,hw,jkc),
    // (h,w,j,kc) → (h,j,w,kc), then (tihjwk, c) → (c, tihjwk).
    const a = g.transpose(g.reshape(tok, [B * Tp, Hp * Wp, pT, pH * pW * Cout]), [0, 2, 1, 3]);
    const b = g.transpose(g.reshape(a, [B * Tp * pT * Hp, Wp, pH, pW * Cout]), [0, 2, 1, 3]);
    const c = g.transpose(g.reshape(b, [B, N * pT * pH * pW, Cout]), [0, 2, 1]);
    vol = g.reshape(c, [B, Cout, Tp * pT, Hp * pH, Wp * pW]);
  } else {
    const grid = g.reshape(tok, [B, Tp, Hp, Wp, pT, pH, pW, Cout]);
    vol = g.reshape(g.transpose(grid, [0, 7, 1, 4, 2, 5, 3, 6]), [B, Cout, Tp * pT, Hp * pH, Wp * pW]);
  }
  const { frames: T, height: H, width: W } = shape;
  const cropped =
    Tp * pT !== T || Hp * pH !== H || Wp * pW !== W ? g.slice(vol, [0, 0, 0], [T, H, W], [2, 3, 4]) : vol;
  g.output(cropped, 'out', [B, Cout, T, H, W]);
  return g.build();
}
