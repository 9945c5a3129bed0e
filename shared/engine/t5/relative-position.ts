/**
 * T5's relative position bias (spec 8, steps 2-3), computed once per job in TypeScript and shared by every block:
 * the bucket table [L, L], the per-head bias [1, H, L, L], the additive key mask [B, 1, 1, L] and their sum
 * [B, H, L, L] that each block graph adds to its attention scores.
 */
import { floatTensor, type FloatTensor } from '../tensor';

/** float32 minimum, the key mask's "minus infinity" (`torch.finfo(torch.float32).min`). */
export const F32_MIN = -3.4028234663852886e38;

/**
 * Bucket of one relative position n = key − query, bidirectional, exactly as Hugging Face `_relative_position_bucket`
 * evaluates it: the log-spaced part in float32 (each float32 op emulated with Math.fround), truncated toward zero.
 */
export function relativePositionBucket(n: number, numBuckets: number, maxDistance: number): number {
  const half = Math.floor(numBuckets / 2);
  const maxExact = Math.floor(half / 2);
  const base = n > 0 ? half : 0;
  const m = Math.abs(n);
  if (m < maxExact) return base + m;
  // torch: log(m.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact), all float32
  // (the Python scalars are cast to float32 by the tensor ops).
  const ratio = Math.fround(Math.fround(m) / maxExact);
  const logRatio = Math.fround(Math.log(ratio));
  const scaled = Math.fround(
    Math.fround(logRatio / Math.fround(Math.log(maxDistance / maxExact))) * (half - maxExact),
  );
  const large = Math.min(maxExact + Math.trunc(scaled), half - 1);
  return base + large;
}

/** The bucket of every (query i, key j) pair, row-major [L, L] (`ref.relative_position_bucket`). */
export function relativePositionBuckets(length: number, numBuckets: number, maxDistance: number): Int32Array {
  const out = new Int32Array(length * length);
  // Depends on j − i only: evaluate each distance once.
  const byDistance = new Int32Array(2 * length - 1);
  for (let n = -(length - 1); n < length; n++)
    byDistance[n + length - 1] = relativePositionBucket(n, numBuckets, maxDistance);
  for (let i = 0; i < length; i++)
    for (let j = 0; j < length; j++) out[i * length + j] = byDistance[j - i + length - 1] as number;
  return out;
}

/**
 * The unmasked position bias [1, H, L, L]: `bias[h, i, j] = table[bucket(i, j), h]` from block 0's
 * `relative_attention_bias.weight` [buckets, H] (`ref.position_bias`).
 */
export function positionBias(table: FloatTensor, length: number, maxDistance: number): FloatTensor {
  if (table.dims.length !== 2)
    throw new Error(`T5: relative_attention_bias must be 2-D, got [${table.dims.join(', ')}]`);
  const [numBuckets, heads] = table.dims as [number, number];
  const buckets = relativePositionBuckets(length, numBuckets, maxDistance);
  const LL = length * length;
  const out = new Float32Array(heads * LL);
  for (let h = 0; h < heads; h++) {
    const row = h * LL;
    for (let k = 0; k < LL; k++) out[row + k] = table.data[(buckets[k] as number) * heads + h] as number;
  }
  return floatTensor([1, heads, length, length], out);
}

/** The additive key mask [B, 1, 1, L]: 0 where `mask` ≠ 0, float32 min elsewhere (`ref.extended_attention_mask`). */
export function extendedAttentionMask(
  mask: Int32Array | BigInt64Array | readonly number[],
  batch: number,
  length: number,
): FloatTensor {
  if (mask.length !== batch * length)
    throw new Error(`T5: attention mask has ${mask.length} values, expected ${batch} × ${length}`);
  const out = new Float32Array(batch * length);
  for (let k = 0; k < out.length; k++) out[k] = Number(mask[k]) !== 0 ? 0 : F32_MIN;
  return floatTensor([batch, 1, 1, length], out);
}

/**
 * position bias + key mask, [B, H, L, L] in float32: what Hugging Face computes once in block 0 and adds to every
 * block's attention scores. (L = 300, H = 64: 23 MB per prompt, small next to one 805 MB block.)
 */
export function attentionBias(posBias: FloatTensor, extMask: FloatTensor): FloatTensor {
  const [, heads, length] = posBias.dims as [number, number, number];
  const batch = extMask.dims[0] as number;
  const LL = length * length;
  const out = new Float32Array(batch * heads * LL);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      const o = (b * heads + h) * LL;
      for (let i = 0; i < length; i++)
        for (let j = 0; j < length; j++) {
          const k = i * length + j;
          out[o + k] = Math.fround(
            (posBias.data[h * LL + k] as number) + (extMask.data[b * length + j] as number),
          );
        }
    }
  return floatTensor([batch, heads, length, length], out);
}
