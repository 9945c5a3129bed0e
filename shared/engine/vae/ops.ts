/**
 * VAE graph ops on top of the shared GraphBuilder (opset 17): convolutions with the causal / "same" paddings of the
 * checkpoints, GroupNorm (opset 17 has no GroupNormalization), nearest ×2 upsampling and depth-to-time. Kept as free
 * functions over a builder so `onnx/graph-builder.ts` and its users are untouched. Each follows the builder's
 * target (onnx/graph-target.ts).
 */
import { float, ints, type GraphBuilder, type Value } from '../onnx/graph-builder';

/**
 * Conv with explicit `pads` ([begin per spatial axis…, end per spatial axis…]), stride 1; bias optional. The
 * `coreml` target adds the bias after the Conv (Core ML takes a Conv weight input, not a bias input).
 */
export function conv(
  g: GraphBuilder,
  x: Value,
  w: Value,
  bias: Value | undefined,
  kernel: readonly number[],
  pads: readonly number[],
): Value {
  const attrs = { kernel_shape: ints(kernel), pads: ints(pads) };
  if (g.target !== 'coreml' || bias === undefined)
    return g.node('Conv', bias === undefined ? [x, w] : [x, w, bias], attrs);
  const y = g.node('Conv', [x, w], attrs);
  return g.add(y, g.reshape(bias, [g.shape(y).dims[1] as number, ...kernel.map(() => 1)]));
}

/**
 * CausalConv3d (spec 7.4) with a cubic kernel k: k − 1 zero frames at the front of time only, k//2 zeros on both
 * sides of H and W, then Conv3d with stride 1 (folded into the Conv's asymmetric `pads`, no separate Pad copy).
 * The `coreml` target (Core ML has 1-D and 2-D Conv only) writes the sum over the k temporal taps of a Conv2d on
 * every frame: x [B, C, T, H, W] gets its k − 1 zero frames by a Concat, goes frame-major [B, T + k − 1, C, H, W],
 * and tap τ convolves frames τ … τ + T − 1 with the kernel's slice τ; the bias is added once, at the end.
 */
export function causalConv3d(g: GraphBuilder, x: Value, w: Value, bias: Value | undefined, k: number): Value {
  const p = Math.floor(k / 2);
  if (g.target !== 'coreml') return conv(g, x, w, bias, [k, k, k], [k - 1, p, p, 0, p, p]);
  const [B, C, T, H, W] = g.shape(x).dims as [number, number, number, number, number];
  const [Co, Ci] = g.shape(w).dims as [number, number];
  const frames = g.transpose(k > 1 ? g.pad(x, [0, 0, k - 1, 0, 0, 0, 0, 0, 0, 0]) : x, [0, 2, 1, 3, 4]);
  let sum: Value | undefined;
  for (let tau = 0; tau < k; tau++) {
    const xs = g.reshape(k > 1 ? g.slice(frames, [tau], [tau + T], [1]) : frames, [B * T, C, H, W]);
    const ws = g.reshape(k > 1 ? g.slice(w, [tau], [tau + 1], [2]) : w, [Co, Ci, k, k]);
    const y = conv(g, xs, ws, undefined, [k, k], [p, p, p, p]);
    sum = sum === undefined ? y : g.add(sum, y);
  }
  let y = g.reshape(sum as Value, [B, T, Co, H, W]);
  if (bias !== undefined) y = g.add(y, g.reshape(bias, [Co, 1, 1]));
  return g.transpose(y, [0, 2, 1, 3, 4]);
}

/** 2D conv with a square kernel k and zero padding k//2 on every side (diffusers' 3×3 and 1×1 convs). */
export function conv2d(g: GraphBuilder, x: Value, w: Value, bias: Value | undefined, k: number): Value {
  const p = Math.floor(k / 2);
  return conv(g, x, w, bias, [k, k], [p, p, p, p]);
}

/**
 * GroupNorm over x of shape `dims` = [N, C, ...]: statistics per (sample, group of C/G channels) over the group's
 * channels and every other axis, biased variance, then the per-channel affine `gamma`, `beta` ([C] inputs).
 * Built as Reshape [N, G, rest] → InstanceNormalization (unit scale, zero bias) → Reshape → Mul/Add; the `coreml`
 * target reshapes to [N, G, rest / b, b] instead (see `coremlSplit`).
 */
export function groupNorm(
  g: GraphBuilder,
  x: Value,
  dims: readonly number[],
  groups: number,
  eps: number,
  gamma: Value,
  beta: Value,
): Value {
  const [N, C] = dims as [number, number];
  if (C % groups !== 0) throw new Error(`GroupNorm: ${C} channels are not divisible by ${groups} groups`);
  let rest = C / groups;
  for (const d of dims.slice(2)) rest *= d;
  const grouped = g.reshape(
    x,
    g.target === 'coreml' ? [N, groups, ...coremlSplit(rest, dims)] : [N, groups, rest],
  );
  const normed = g.node(
    'InstanceNormalization',
    [grouped, g.constF(new Float32Array(groups).fill(1)), g.constF(new Float32Array(groups))],
    { epsilon: float(eps) },
  );
  const back = g.reshape(normed, dims);
  const bshape = [C, ...dims.slice(2).map(() => 1)];
  return g.add(g.mul(back, g.reshape(gamma, bshape)), g.reshape(beta, bshape));
}

/** Core ML's largest input dim (helper.cc IsInputSupported: "CoreML does not support input dim > 16384"). */
const COREML_MAX_DIM = 16384;

/**
 * [rest / b, b] with b the longest product of trailing axes of `dims` ≤ 16384 (at least the last axis): a group's
 * `rest` values as two dims Core ML takes (Core ML's instance_norm needs rank 3 or 4) where one would be too long.
 */
function coremlSplit(rest: number, dims: readonly number[]): [number, number] {
  let b = dims[dims.length - 1] as number;
  for (let k = dims.length - 2; k >= 2 && b * (dims[k] as number) <= COREML_MAX_DIM; k--)
    b *= dims[k] as number;
  return [rest / b, b];
}

/**
 * Nearest-neighbour ×2 upsampling of [N, C, H, W] (F.interpolate(scale_factor=2, mode="nearest")), via Expand; the
 * `coreml` target (no Expand, rank ≤ 5) broadcasts [N·C, H, 1, W, 1] against ones [2, 1, 2] in a Mul instead.
 */
export function upsampleNearest2x(g: GraphBuilder, x: Value, dims: readonly number[]): Value {
  const [N, C, H, W] = dims as [number, number, number, number];
  if (g.target === 'coreml') {
    const wide = g.mul(g.reshape(x, [N * C, H, 1, W, 1]), g.constF([1, 1, 1, 1], [2, 1, 2]));
    return g.reshape(wide, [N, C, 2 * H, 2 * W]);
  }
  const six = g.reshape(x, [N, C, H, 1, W, 1]);
  const wide = g.node('Expand', [six, g.constI64([N, C, H, 2, W, 2])]);
  return g.reshape(wide, [N, C, 2 * H, 2 * W]);
}

/**
 * Depth-to-time ×2 of [B, 2C, T, H, W] → [B, C, 2T, H, W]: channel c·2 + k goes to frame 2t + k
 * (einops "B (C ts) T H W -> B C (T ts) H W", ts = 2). The `coreml` target moves (2, T) on [B·C, 2, T, H·W].
 */
export function depthToTime(g: GraphBuilder, x: Value, dims: readonly number[]): Value {
  const [B, C2, T, H, W] = dims as [number, number, number, number, number];
  const C = C2 / 2;
  if (g.target === 'coreml')
    return g.reshape(g.transpose(g.reshape(x, [B * C, 2, T, H * W]), [0, 2, 1, 3]), [B, C, 2 * T, H, W]);
  const split = g.reshape(x, [B, C, 2, T, H, W]);
  const moved = g.transpose(split, [0, 1, 3, 2, 4, 5]);
  return g.reshape(moved, [B, C, 2 * T, H, W]);
}
