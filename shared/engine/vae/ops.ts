/**
 * VAE graph ops on top of the shared GraphBuilder (opset 17): convolutions with the causal / "same" paddings of the
 * checkpoints, GroupNorm (opset 17 has no GroupNormalization), nearest ×2 upsampling and depth-to-time. Kept as free
 * functions over a builder so `onnx/graph-builder.ts` and its users are untouched.
 */
import { float, ints, type GraphBuilder, type Value } from '../onnx/graph-builder';

/** Conv with explicit `pads` ([begin per spatial axis…, end per spatial axis…]), stride 1; bias optional. */
export function conv(
  g: GraphBuilder,
  x: Value,
  w: Value,
  bias: Value | undefined,
  kernel: readonly number[],
  pads: readonly number[],
): Value {
  return g.node('Conv', bias === undefined ? [x, w] : [x, w, bias], {
    kernel_shape: ints(kernel),
    pads: ints(pads),
  });
}

/**
 * CausalConv3d (spec 7.4) with a cubic kernel k: k − 1 zero frames at the front of time only, k//2 zeros on both
 * sides of H and W, then Conv3d with stride 1 (folded into the Conv's asymmetric `pads`, no separate Pad copy).
 */
export function causalConv3d(g: GraphBuilder, x: Value, w: Value, bias: Value | undefined, k: number): Value {
  const p = Math.floor(k / 2);
  return conv(g, x, w, bias, [k, k, k], [k - 1, p, p, 0, p, p]);
}

/** 2D conv with a square kernel k and zero padding k//2 on every side (diffusers' 3×3 and 1×1 convs). */
export function conv2d(g: GraphBuilder, x: Value, w: Value, bias: Value | undefined, k: number): Value {
  const p = Math.floor(k / 2);
  return conv(g, x, w, bias, [k, k], [p, p, p, p]);
}

/**
 * GroupNorm over x of shape `dims` = [N, C, ...]: statistics per (sample, group of C/G channels) over the group's
 * channels and every other axis, biased variance, then the per-channel affine `gamma`, `beta` ([C] inputs).
 * Built as Reshape [N, G, rest] → InstanceNormalization (unit scale, zero bias) → Reshape → Mul/Add.
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
  const grouped = g.reshape(x, [N, groups, rest]);
  const normed = g.node(
    'InstanceNormalization',
    [grouped, g.constF(new Float32Array(groups).fill(1)), g.constF(new Float32Array(groups))],
    { epsilon: float(eps) },
  );
  const back = g.reshape(normed, dims);
  const bshape = [C, ...dims.slice(2).map(() => 1)];
  return g.add(g.mul(back, g.reshape(gamma, bshape)), g.reshape(beta, bshape));
}

/** Nearest-neighbour ×2 upsampling of [N, C, H, W] (F.interpolate(scale_factor=2, mode="nearest")), via Expand. */
export function upsampleNearest2x(g: GraphBuilder, x: Value, dims: readonly number[]): Value {
  const [N, C, H, W] = dims as [number, number, number, number];
  const six = g.reshape(x, [N, C, H, 1, W, 1]);
  const wide = g.node('Expand', [six, g.constI64([N, C, H, 2, W, 2])]);
  return g.reshape(wide, [N, C, 2 * H, 2 * W]);
}

/**
 * Depth-to-time ×2 of [B, 2C, T, H, W] → [B, C, 2T, H, W]: channel c·2 + k goes to frame 2t + k
 * (einops "B (C ts) T H W -> B C (T ts) H W", ts = 2).
 */
export function depthToTime(g: GraphBuilder, x: Value, dims: readonly number[]): Value {
  const [B, C2, T, H, W] = dims as [number, number, number, number, number];
  const C = C2 / 2;
  const split = g.reshape(x, [B, C, 2, T, H, W]);
  const moved = g.transpose(split, [0, 1, 3, 2, 4, 5]);
  return g.reshape(moved, [B, C, 2 * T, H, W]);
}
