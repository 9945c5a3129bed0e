/**
 * Deterministic random weights for synthetic checkpoints, generated chunk by chunk so a 526 MB embedding table
 * never has to exist in float32 at once. Each tensor's values depend only on (seed, key, element index), never on
 * the order tensors are written in or the chunk size.
 *
 * The values are shaped so a full-size forward pass stays finite and roughly unit-scaled (the videos are still
 * noise): matrices and kernels uniform with standard deviation 1/√fan-in, norm gains 1 ± 0.1, biases ±0.02,
 * modulation tables and the null caption scaled like the fixtures' initialisation, and the deterministic buffers
 * (`rope.freqs`, the VAE's `scale`/`shift`) their real values.
 */
import { encodeHalf } from '../../shared/engine/blockset/precision';
import { ropeFreqs } from '../../shared/engine/stdit3/embeddings';
import { numel } from '../../shared/engine/tensor';

/** How a synthetic tensor's values are stored on disk. */
export type SynthDtype = 'F32' | 'F16' | 'BF16';

/** Bytes per element of a synthetic dtype. */
export const SYNTH_DTYPE_BYTES: Readonly<Record<SynthDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

/** The real VAE latent scale/shift (spec 7), so a synthetic VAE de-normalises like the released one. */
const VAE_SCALE = [3.85, 2.32, 2.33, 3.06];
const VAE_SHIFT = [-0.1, 0.34, 0.27, 0.98];

/** FNV-1a of a string, mixed with the seed: the tensor's stream id. */
function streamId(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A uniform value in [−1, 1) for element `i` of stream `id` (a stateless integer hash: any chunking agrees). */
function uniformAt(id: number, i: number): number {
  let x = (Math.imul(i, 0x9e3779b1) ^ id) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / 2147483648 - 1;
}

/** The value rule of a key: `value(i) = shift + scale · u(i)` with u uniform in [−1, 1), or fixed values. */
interface Rule {
  readonly scale: number;
  readonly shift: number;
  readonly fixed?: (i: number) => number;
}

function ruleOf(name: string, shape: readonly number[]): Rule {
  const last = name.split('.').pop() ?? name;
  if (name === 'rope.freqs') {
    const freqs = ropeFreqs(2 * (shape[0] ?? 1));
    return { scale: 0, shift: 0, fixed: (i) => freqs[i] as number };
  }
  if (name === 'scale') return { scale: 0, shift: 0, fixed: (i) => VAE_SCALE[i % 4] as number };
  if (name === 'shift') return { scale: 0, shift: 0, fixed: (i) => VAE_SHIFT[i % 4] as number };
  if (name.endsWith('scale_shift_table')) return { scale: Math.sqrt(3) * 0.05, shift: 0 };
  if (name.endsWith('y_embedding')) return { scale: Math.sqrt(3) * 0.1, shift: 0 };
  if (last === 'bias') return { scale: 0.02, shift: 0 };
  if (shape.length <= 1) return { scale: 0.1, shift: 1 }; // norm gains
  if (name.endsWith('relative_attention_bias.weight')) return { scale: 0.5, shift: 0 };
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  // Embedding tables (rows looked up, not multiplied) get unit-ish rows; matrices std 1/√fan-in.
  const std =
    name.endsWith('shared.weight') || name.endsWith('embed_tokens.weight') ? 1 : 1 / Math.sqrt(fanIn);
  return { scale: Math.sqrt(3) * std, shift: 0 };
}

/** Fills `out` with elements [start, start + out.length) of synthetic tensor `name`. */
function fillSynthetic(
  seed: number,
  name: string,
  shape: readonly number[],
  start: number,
  out: Float32Array,
): void {
  const rule = ruleOf(name, shape);
  if (rule.fixed) {
    for (let i = 0; i < out.length; i++) out[i] = rule.fixed(start + i);
    return;
  }
  const id = streamId(seed, name);
  for (let i = 0; i < out.length; i++) out[i] = rule.shift + rule.scale * uniformAt(id, start + i);
}

/** Float32 values as `dtype` bytes into `out` (bf16 keeps the top half of each float32, rounded to nearest even). */
function encodeAs(dtype: SynthDtype, values: Float32Array, out: Uint8Array): void {
  const n = values.length;
  if (out.byteLength !== n * SYNTH_DTYPE_BYTES[dtype])
    throw new Error(`encodeAs: ${n} values of ${dtype} into ${out.byteLength} bytes`);
  if (dtype === 'F32') {
    out.set(new Uint8Array(values.buffer, values.byteOffset, n * 4));
    return;
  }
  const words = new Uint16Array(out.buffer, out.byteOffset, n);
  if (dtype === 'F16') {
    encodeHalf(values, words);
    return;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const b = bits[i] as number;
    words[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
}

/** Elements generated per chunk (8 Mi floats: 32 MiB of float32). */
const SYNTH_CHUNK_ELEMENTS = 8 * 1024 * 1024;

/**
 * The bytes of synthetic tensor `name` as `dtype`, one chunk at a time (a fresh Uint8Array per chunk, so callers
 * may hand it to an asynchronous writer).
 */
export function* syntheticChunks(
  seed: number,
  name: string,
  shape: readonly number[],
  dtype: SynthDtype,
): Generator<Uint8Array> {
  const n = numel(shape);
  const values = new Float32Array(Math.min(n, SYNTH_CHUNK_ELEMENTS));
  for (let start = 0; start < n; start += values.length) {
    const count = Math.min(values.length, n - start);
    const v = values.subarray(0, count);
    fillSynthetic(seed, name, shape, start, v);
    const out = new Uint8Array(count * SYNTH_DTYPE_BYTES[dtype]);
    encodeAs(dtype, v, out);
    yield out;
  }
}
