/**
 * Shape-only tensors computed in TypeScript, float32, emulating PyTorch's float32 rounding op by op (spec 3.3-3.5,
 * 3.9 and 4): timestep/fps sinusoids, the 2D position embedding, RoPE tables and the caption key bias.
 */
import { floatTensor, type FloatTensor } from '../tensor';

const f32 = Math.fround;

/** Width of the timestep / fps sinusoid (frequency_embedding_size). */
export const SINUSOID_WIDTH = 256;

/** Additive bias of an invalid caption key: −FLT_MAX, as in the iPhone graph (spec 3.9). */
export const MASKED_KEY_BIAS = -3.4028235e38;

/** The 128 sinusoid frequencies exp(−ln(10000)·k/128), rounded to float32 after every op as PyTorch does. */
export function timestepFreqTable(): Float32Array {
  const half = SINUSOID_WIDTH / 2;
  const out = new Float32Array(half);
  const negLog = f32(-Math.log(10000));
  for (let k = 0; k < half; k++) out[k] = f32(Math.exp(f32(f32(negLog * k) / half)));
  return out;
}

/** Sinusoids of scalars: [B, 256] rows `concat(cos(v·f), sin(v·f))` (cos first), float32 products. */
export function sinusoid(values: Float32Array, freqTable: Float32Array = timestepFreqTable()): FloatTensor {
  const half = freqTable.length;
  const out = new Float32Array(values.length * 2 * half);
  values.forEach((v, b) => {
    for (let k = 0; k < half; k++) {
      const arg = f32(v * (freqTable[k] as number));
      out[b * 2 * half + k] = Math.cos(arg);
      out[b * 2 * half + half + k] = Math.sin(arg);
    }
  });
  return floatTensor([values.length, 2 * half], out);
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The [S, C] 2D sin-cos position embedding for an Hp×Wp patch grid (spec 3.3-3.4): row h·Wp+w holds
 * `sin(Xω), cos(Xω), sin(Yω), cos(Yω)` with X the column and Y the row coordinate,
 * base_size = round(√S) (half to even) and scale = √(heightPx·widthPx) / inputSqSize.
 */
export function positionEmbedding2d(
  C: number,
  Hp: number,
  Wp: number,
  heightPx: number,
  widthPx: number,
  inputSqSize = 512,
): FloatTensor {
  if (C % 4 !== 0) throw new Error(`position embedding width ${C} must be divisible by 4`);
  const q = C / 4;
  const half = C / 2;
  // inv_freq = 1 / 10000 ** (arange(0, half, 2).float() / half)
  const omega = new Float32Array(q);
  for (let k = 0; k < q; k++) omega[k] = f32(1 / f32(Math.pow(10000, f32((2 * k) / half))));
  const baseSize = roundHalfEven(Math.sqrt(Hp * Wp));
  const scale = f32(Math.sqrt(heightPx * widthPx) / inputSqSize);
  // grid = arange(n) / scale, then *= base_size / n (a Python float, applied in float32).
  const coord = (i: number, n: number): number => f32(f32(i / scale) * f32(baseSize / n));
  const out = new Float32Array(Hp * Wp * C);
  for (let h = 0; h < Hp; h++) {
    const Y = coord(h, Hp);
    for (let w = 0; w < Wp; w++) {
      const X = coord(w, Wp);
      const row = (h * Wp + w) * C;
      for (let k = 0; k < q; k++) {
        const ax = f32(X * (omega[k] as number));
        const ay = f32(Y * (omega[k] as number));
        out[row + k] = Math.sin(ax);
        out[row + q + k] = Math.cos(ax);
        out[row + 2 * q + k] = Math.sin(ay);
        out[row + 3 * q + k] = Math.cos(ay);
      }
    }
  }
  return floatTensor([Hp * Wp, C], out);
}

/** RoPE inverse frequencies 10000^(−2j/hd) in float32, for checkpoints that lack `rope.freqs`. */
export function ropeFreqs(hd: number): Float32Array {
  const out = new Float32Array(hd / 2);
  for (let j = 0; j < hd / 2; j++) out[j] = f32(1 / f32(Math.pow(10000, f32((2 * j) / hd))));
  return out;
}

/** RoPE tables for positions 0..seqLen−1, each [seqLen, hd], in the interleaved-pair layout of spec 4. */
export interface RopeTables {
  /** cos[p, 2j] = cos[p, 2j+1] = cos(p·freqs[j]). */
  cos: FloatTensor;
  /** Sign-folded: sin[p, 2j] = −sin(p·freqs[j]), sin[p, 2j+1] = +sin(p·freqs[j]), so that
   * rope(x) = x·cos + pairSwap(x)·sin with pairSwap exchanging x[2j] and x[2j+1]. */
  sin: FloatTensor;
}

/** Interleaved RoPE tables (rotary_embedding_torch 0.5.3 layout), angles p·freqs[j] rounded to float32. */
export function ropeTables(freqs: Float32Array, seqLen: number): RopeTables {
  const hd = freqs.length * 2;
  const cos = new Float32Array(seqLen * hd);
  const sin = new Float32Array(seqLen * hd);
  for (let p = 0; p < seqLen; p++) {
    for (let j = 0; j < freqs.length; j++) {
      const a = f32(p * (freqs[j] as number));
      const c = Math.cos(a);
      const s = Math.sin(a);
      cos[p * hd + 2 * j] = c;
      cos[p * hd + 2 * j + 1] = c;
      sin[p * hd + 2 * j] = -s;
      sin[p * hd + 2 * j + 1] = s;
    }
  }
  return { cos: floatTensor([seqLen, hd], cos), sin: floatTensor([seqLen, hd], sin) };
}

/**
 * The additive cross-attention key bias [B, 1, 1, L]: 0 for valid caption tokens, −FLT_MAX for padding. `mask`
 * is [rows, L] (non-zero = valid); with fewer rows than B it is tiled (`mask.repeat(B // rows, 1)`).
 */
export function captionKeyBias(
  mask: { rows: number; data: Int32Array | BigInt64Array },
  B: number,
  L: number,
): FloatTensor {
  const { rows, data } = mask;
  if (rows <= 0 || data.length !== rows * L) {
    throw new Error(`caption mask has ${data.length} values, expected rows (${rows}) × L (${L})`);
  }
  if (B % rows !== 0) throw new Error(`caption mask rows (${rows}) must divide the batch (${B})`);
  const out = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    const r = b % rows;
    for (let l = 0; l < L; l++) {
      const v = data[r * L + l] as number | bigint;
      out[b * L + l] = v === 0 || v === 0n ? MASKED_KEY_BIAS : 0;
    }
  }
  return floatTensor([B, 1, 1, L], out);
}
