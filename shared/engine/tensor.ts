/**
 * Element types that cross the engine's ports. The engine computes in float32 throughout; `float16` and `int8` only
 * carry stored weights into graphs, which widen them to float32 (see blockset/precision.ts).
 */
export type TensorType = 'float32' | 'int64' | 'float16' | 'int8';

/** A dense float32 tensor, row-major, with its shape named in `dims` (e.g. `[B, C, T, H, W]`). */
export interface FloatTensor {
  readonly type: 'float32';
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** A dense int64 tensor (masks, token ids). */
export interface Int64Tensor {
  readonly type: 'int64';
  readonly dims: readonly number[];
  readonly data: BigInt64Array;
}

/** A dense IEEE half tensor as its raw 16-bit words (stored weights only). */
export interface Float16Tensor {
  readonly type: 'float16';
  readonly dims: readonly number[];
  readonly data: Uint16Array;
}

/** A dense int8 tensor (quantized weights only; the scales travel as a separate float32 input). */
export interface Int8Tensor {
  readonly type: 'int8';
  readonly dims: readonly number[];
  readonly data: Int8Array;
}

/** Any tensor the engine hands to, or gets from, an inference backend. */
export type Tensor = FloatTensor | Int64Tensor | Float16Tensor | Int8Tensor;

/** Number of elements of a shape. */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Wraps data as a float32 tensor, checking that the length matches the shape. */
export function floatTensor(dims: readonly number[], data?: Float32Array): FloatTensor {
  const n = numel(dims);
  const d = data ?? new Float32Array(n);
  if (d.length !== n)
    throw new Error(`tensor data has ${d.length} elements, shape [${dims.join(', ')}] needs ${n}`);
  return { type: 'float32', dims: [...dims], data: d };
}

/** Wraps data as an int64 tensor, checking that the length matches the shape. */
export function int64Tensor(dims: readonly number[], data: BigInt64Array): Int64Tensor {
  const n = numel(dims);
  if (data.length !== n)
    throw new Error(`tensor data has ${data.length} elements, shape [${dims.join(', ')}] needs ${n}`);
  return { type: 'int64', dims: [...dims], data };
}
