/**
 * Weight precision of a block-set stage — the one definition of what each tensor is stored as, how the converter
 * encodes it, how a graph widens it back to float32, and how TypeScript-side code reads it:
 *
 * - `f32`: float32 as converted (the default, and the golden fixtures' numerics).
 * - `f16`: IEEE half, rounded to nearest even from float32; a graph `Cast`s it to float32.
 * - `int8`: weight-only, symmetric, per output channel (axis 0): `scale[o] = max|w[o, …]| / 127`,
 *   `q = round(w / scale)` in [−127, 127]; a graph `DequantizeLinear`s it (`q · scale[o]`) to float32. The scales
 *   are stored beside the weight as `<key>::scale` (float32, [out]).
 *
 * Only matrices and kernels go below float32 (`storageOf`): keys ending in `.weight`, of rank ≥ 2 and at least
 * {@link LOW_PRECISION_MIN_ELEMENTS} elements, except T5's relative-attention table. Biases, norm gains, modulation
 * tables, buffers (`y_embedding`, `rope.freqs`, the VAE's `scale`/`shift`) and that table stay float32: they are a
 * few bytes and the most sensitive numbers of the model. Compute is float32 throughout either way.
 */
import { z } from 'zod';
import { int, type GraphBuilder, type Value } from '../onnx/graph-builder';
import { decodeFloat } from '../safetensors/dtype';
import { numel, type Float16Tensor, type FloatTensor, type Tensor } from '../tensor';

/** The precisions a stage can be stored in. */
const PRECISIONS = ['f32', 'f16', 'int8'] as const;
/** A stage's (or one tensor's) storage precision. */
export type Precision = (typeof PRECISIONS)[number];
/** Manifest schema of a stage's precision. */
export const precisionSchema = z.enum(PRECISIONS);

/** Smaller matrices stay float32 whatever the stage precision (they save next to nothing). */
const LOW_PRECISION_MIN_ELEMENTS = 1024;
/** T5's relative-attention table: a [buckets, heads] lookup of additive biases, not a matrix to multiply. */
const RELATIVE_BIAS_SUFFIX = 'relative_attention_bias.weight';
/** Key suffix of an int8 tensor's per-output-channel scales in a block file. */
const INT8_SCALE_SUFFIX = '::scale';
/** Largest magnitude of a symmetric int8 code. */
const INT8_MAX = 127;

/** The block-file key holding the scales of int8 tensor `name`. */
export function scaleKey(name: string): string {
  return `${name}${INT8_SCALE_SUFFIX}`;
}

/** How tensor `name` of shape `dims` is stored in a stage of precision `precision` (see the module comment). */
export function storageOf(precision: Precision, name: string, dims: readonly number[]): Precision {
  if (precision === 'f32') return 'f32';
  const matrix =
    name.endsWith('.weight') &&
    !name.endsWith(RELATIVE_BIAS_SUFFIX) &&
    dims.length >= 2 &&
    numel(dims) >= LOW_PRECISION_MIN_ELEMENTS;
  return matrix ? precision : 'f32';
}

/** An int8 weight with its per-output-channel (axis 0) scales. */
export interface Int8Weight {
  readonly type: 'int8';
  readonly dims: readonly number[];
  readonly data: Int8Array;
  /** float32 [dims[0]]. */
  readonly scale: Float32Array;
}

/** A stored weight as loaded from a block file. */
export type WeightTensor = FloatTensor | Float16Tensor | Int8Weight;
/** Weights by full checkpoint key. */
export type WeightMap = ReadonlyMap<string, WeightTensor>;

/** The precision a loaded weight is stored in. */
function precisionOf(w: WeightTensor): Precision {
  return w.type === 'float32' ? 'f32' : w.type === 'float16' ? 'f16' : 'int8';
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding (the converter)

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits of a float32 value, rounded to nearest even (overflow → ±inf, NaN kept quiet). */
export function floatToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa (with its hidden bit) into place, round to nearest even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1) === 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and becomes inf at the top).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? 1 : 0));
}

/** Encodes float32 values as half bits into `out` (same length). */
export function encodeHalf(src: Float32Array, out: Uint16Array): void {
  if (out.length !== src.length) throw new Error(`encodeHalf: ${src.length} values into ${out.length}`);
  for (let i = 0; i < src.length; i++) out[i] = floatToHalfBits(src[i] as number);
}

/**
 * Quantizes `src` ([rows, …] row-major) to symmetric int8 per row: `scales[r] = max|row r| / 127` (1 for an
 * all-zero row), `out = round(src / scale)` (ties away from zero, as `Math.round` on magnitudes), clamped to ±127.
 */
export function quantizeInt8Rows(
  src: Float32Array,
  rows: number,
  out: Int8Array,
  scales: Float32Array,
): void {
  if (rows <= 0 || src.length % rows !== 0 || out.length !== src.length || scales.length !== rows)
    throw new Error(
      `quantizeInt8Rows: ${src.length} values in ${rows} rows into ${out.length} / ${scales.length}`,
    );
  const width = src.length / rows;
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    let max = 0;
    for (let i = 0; i < width; i++) {
      const a = Math.abs(src[o + i] as number);
      if (a > max) max = a;
    }
    if (!Number.isFinite(max)) throw new Error(`quantizeInt8Rows: row ${r} holds a non-finite value`);
    const scale = max > 0 ? Math.fround(max / INT8_MAX) : 1;
    scales[r] = scale;
    for (let i = 0; i < width; i++) {
      const v = (src[o + i] as number) / scale;
      const q = Math.sign(v) * Math.round(Math.abs(v));
      out[o + i] = Math.max(-INT8_MAX, Math.min(INT8_MAX, q));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading on the TypeScript side (embedding rows, the null caption, RoPE frequencies, …)

/**
 * Rows [row, row + count) of a stored weight ([rows, …]) as float32, into `out` at `offset` — the exact values a
 * graph computes (`Cast` for f16, `q · scale` rounded to float32 for int8).
 */
export function weightRowsInto(
  w: WeightTensor,
  row: number,
  count: number,
  out: Float32Array,
  offset = 0,
): void {
  const rows = w.dims[0] ?? 1;
  const width = w.data.length / rows;
  if (row < 0 || count < 0 || row + count > rows)
    throw new Error(`rows ${row}..${row + count - 1} are outside 0..${rows - 1}`);
  const start = row * width;
  const n = count * width;
  if (w.type === 'float32') {
    out.set(w.data.subarray(start, start + n), offset);
    return;
  }
  if (w.type === 'float16') {
    const bytes = new Uint8Array(w.data.buffer, w.data.byteOffset + 2 * start, 2 * n);
    decodeFloat('F16', bytes, out.subarray(offset, offset + n));
    return;
  }
  for (let r = 0; r < count; r++) {
    const s = w.scale[row + r] as number;
    const o = (row + r) * width;
    for (let i = 0; i < width; i++) out[offset + r * width + i] = Math.fround((w.data[o + i] as number) * s);
  }
}

/** A stored weight as a float32 tensor (a view for float32, a widened copy otherwise). */
export function weightToFloat32(w: WeightTensor): FloatTensor {
  if (w.type === 'float32') return w;
  const out = new Float32Array(w.data.length);
  weightRowsInto(w, 0, w.dims[0] ?? 1, out);
  return { type: 'float32', dims: w.dims, data: out };
}

// ---------------------------------------------------------------------------------------------------------------
// Graphs: declaring a weight input and feeding it

/**
 * Declares graph input `name` for a weight stored as `storage` and returns the float32 value to compute with:
 * the input itself (f32), `Cast(input)` (f16), or `DequantizeLinear(input, <name>::scale, axis 0)` (int8).
 * A `coreml` graph refuses int8: Core ML's ML Program has no DequantizeLinear and its Cast takes no int8 input, so
 * the layer would run on the CPU EP (use f16 or f32 block sets with Core ML).
 */
export function weightInput(
  g: GraphBuilder,
  name: string,
  dims: readonly number[],
  storage: Precision,
): Value {
  if (storage === 'f32') return g.input(name, dims);
  if (storage === 'f16') return g.node('Cast', [g.input(name, dims, 'float16')], { to: int(1) });
  if (g.target === 'coreml')
    throw new Error(
      `weight '${name}' is stored as int8, which the coreml graph target does not take (Core ML has no DequantizeLinear and no int8 Cast): convert the block set to f16 or f32`,
    );
  const q = g.input(name, dims, 'int8');
  const s = g.input(scaleKey(name), [dims[0] as number]);
  return g.node('DequantizeLinear', [q, s], { axis: int(0) });
}

/**
 * Adds weight `w` to a run's feeds as graph input `name` (plus `<name>::scale` for int8), checking it is stored
 * as the graph expects (`expected`, from {@link storageOf}); `where` names the block and key in the error.
 */
export function feedWeight(
  feeds: Record<string, Tensor>,
  name: string,
  w: WeightTensor,
  expected: Precision,
  where: string,
): void {
  const got = precisionOf(w);
  if (got !== expected)
    throw new Error(
      `${where} is stored as ${got}, but the stage's precision makes the graph expect ${expected} (convert the block set again)`,
    );
  if (w.type === 'int8') {
    feeds[name] = { type: 'int8', dims: w.dims, data: w.data };
    feeds[scaleKey(name)] = { type: 'float32', dims: [w.scale.length], data: w.scale };
  } else feeds[name] = w;
}

/** Bytes a tensor of `dims` takes when stored as `storage` (int8 includes its float32 scales). */
export function storedBytes(dims: readonly number[], storage: Precision): number {
  const n = numel(dims);
  if (storage === 'f32') return 4 * n;
  if (storage === 'f16') return 2 * n;
  return n + 4 * (dims[0] ?? 1);
}

/** Parses a precision name (`f32`, `f16`, `int8`, also `fp32`/`float32`, `fp16`/`float16`). */
export function parsePrecision(text: string): Precision {
  const t = text.trim().toLowerCase();
  const alias: Record<string, Precision> = {
    f32: 'f32',
    fp32: 'f32',
    float32: 'f32',
    f16: 'f16',
    fp16: 'f16',
    float16: 'f16',
    int8: 'int8',
    i8: 'int8',
  };
  const p = alias[t];
  if (p === undefined) throw new Error(`unknown precision '${text}' (expected f32, f16 or int8)`);
  return p;
}
