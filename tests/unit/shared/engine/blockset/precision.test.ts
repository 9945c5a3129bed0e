import { describe, expect, it } from 'vitest';
import {
  encodeHalf,
  floatToHalfBits,
  parsePrecision,
  quantizeInt8Rows,
  storageOf,
  storedBytes,
  weightRowsInto,
  weightToFloat32,
} from '../../../../../shared/engine/blockset/precision';
import { halfToFloat } from '../../../../../shared/engine/safetensors/dtype';

/** Nearest half to x by exhaustive search over finite halves of x's sign (ties to the even code), as a reference. */
function nearestHalfBits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  let best = sign;
  let bestErr = Infinity;
  for (let h = 0; h < 0x7c00; h++) {
    const bits = h | sign;
    const err = Math.abs(halfToFloat(bits) - x);
    if (err < bestErr || (err === bestErr && (bits & 1) === 0 && (best & 1) === 1)) {
      best = bits;
      bestErr = err;
    }
  }
  return best;
}

describe('float32 → half encoding', () => {
  it('round-trips every finite half exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >> 10) & 0x1f;
      if (exp === 0x1f) continue;
      const back = floatToHalfBits(halfToFloat(h));
      // ±0 keep their sign.
      expect(back).toBe(h);
    }
  });

  it('rounds to the nearest half, ties to even, like an exhaustive search', () => {
    const values = [
      1 / 3,
      -2.718281828,
      65504,
      65519.99,
      1e-5,
      6.1e-5,
      2 ** -24,
      2 ** -25,
      2 ** -25 * 1.0000001,
      1.0009765625 + 2 ** -12,
      1.0029296875 + 2 ** -12,
      -0.0001234,
    ];
    let seed = 12345;
    for (let i = 0; i < 40; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      values.push(((seed / 2 ** 32) * 2 - 1) * 2 ** ((seed % 40) - 25));
    }
    for (const v of values) {
      const f = Math.fround(v);
      expect(floatToHalfBits(f), `value ${f}`).toBe(nearestHalfBits(f));
    }
  });

  it('overflows to infinity and keeps NaN a NaN', () => {
    expect(floatToHalfBits(65520)).toBe(0x7c00);
    expect(floatToHalfBits(-1e10)).toBe(0xfc00);
    expect(Number.isNaN(halfToFloat(floatToHalfBits(NaN)))).toBe(true);
    const out = new Uint16Array(2);
    encodeHalf(new Float32Array([1, -2]), out);
    expect([...out]).toEqual([0x3c00, 0xc000]);
  });
});

describe('int8 quantization per output channel', () => {
  it('scales each row to its largest magnitude and errs by at most half a step', () => {
    const rows = 5;
    const width = 64;
    const src = new Float32Array(rows * width);
    for (let i = 0; i < src.length; i++)
      src[i] = Math.fround(Math.sin(i * 1.7) * (1 + (i % width) / 10) * 10 ** ((i / width) | 0) * 1e-3);
    src.fill(0, 3 * width, 4 * width); // an all-zero row
    const q = new Int8Array(src.length);
    const scales = new Float32Array(rows);
    quantizeInt8Rows(src, rows, q, scales);
    const w = { type: 'int8' as const, dims: [rows, width], data: q, scale: scales };
    const back = weightToFloat32(w).data;
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let i = 0; i < width; i++) max = Math.max(max, Math.abs(src[r * width + i]!));
      if (max === 0) {
        expect(scales[r]).toBe(1);
        continue;
      }
      expect(scales[r]).toBe(Math.fround(max / 127));
      expect(Math.max(...q.subarray(r * width, (r + 1) * width).map(Math.abs))).toBe(127);
      for (let i = 0; i < width; i++)
        expect(Math.abs(back[r * width + i]! - src[r * width + i]!)).toBeLessThanOrEqual(
          scales[r]! / 2 + 1e-12,
        );
    }
  });

  it('refuses non-finite weights, naming the row', () => {
    const src = new Float32Array([1, 2, Infinity, 4]);
    expect(() => quantizeInt8Rows(src, 2, new Int8Array(4), new Float32Array(2))).toThrow(/row 1/);
  });
});

describe('which tensors are stored below float32', () => {
  it('stores matrices and kernels in the stage precision and keeps the rest float32', () => {
    expect(storageOf('int8', 'encoder.block.3.layer.1.DenseReluDense.wi_0.weight', [10240, 4096])).toBe(
      'int8',
    );
    expect(storageOf('f16', 'x_embedder.proj.weight', [1152, 4, 1, 2, 2])).toBe('f16');
    expect(storageOf('int8', 'spatial_blocks.0.attn.qkv.bias', [3456])).toBe('f32');
    expect(storageOf('int8', 'spatial_blocks.0.scale_shift_table', [6, 1152])).toBe('f32');
    expect(storageOf('int8', 'y_embedder.y_embedding', [300, 4096])).toBe('f32');
    expect(
      storageOf('int8', 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', [32, 64]),
    ).toBe('f32');
    expect(storageOf('int8', 'tiny.weight', [8, 8])).toBe('f32');
    expect(storageOf('f32', 'shared.weight', [32128, 4096])).toBe('f32');
  });

  it('counts stored bytes including int8 scales', () => {
    expect(storedBytes([4096, 4096], 'f32')).toBe(4096 * 4096 * 4);
    expect(storedBytes([4096, 4096], 'f16')).toBe(4096 * 4096 * 2);
    expect(storedBytes([4096, 4096], 'int8')).toBe(4096 * 4096 + 4096 * 4);
  });

  it('parses precision names and rejects others by name', () => {
    expect(parsePrecision('FP16')).toBe('f16');
    expect(parsePrecision('int8')).toBe('int8');
    expect(() => parsePrecision('int4')).toThrow(/int4/);
  });
});

describe('reading stored rows', () => {
  it('widens f16 and int8 rows exactly as the graphs do', () => {
    const half = {
      type: 'float16' as const,
      dims: [2, 2],
      data: new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001]),
    };
    const out = new Float32Array(2);
    weightRowsInto(half, 1, 1, out);
    expect([...out]).toEqual([0.5, 2 ** -24]);
    const q = {
      type: 'int8' as const,
      dims: [2, 2],
      data: new Int8Array([1, -127, 3, 4]),
      scale: new Float32Array([0.5, 0.1]),
    };
    weightRowsInto(q, 1, 1, out);
    expect([...out]).toEqual([Math.fround(3 * Math.fround(0.1)), Math.fround(4 * Math.fround(0.1))]);
    expect(() => weightRowsInto(q, 2, 1, out)).toThrow(/outside/);
  });
});
