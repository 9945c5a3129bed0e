import { describe, expect, it } from 'vitest';
import {
  captionKeyBias,
  MASKED_KEY_BIAS,
  positionEmbedding2d,
  ropeFreqs,
  ropeTables,
  sinusoid,
  timestepFreqTable,
} from '../../../../../shared/engine/stdit3/embeddings';
import { compareClose, getFloat, readSafetensorsLite } from '../../../../helpers/safetensors-lite';

const fwd = readSafetensorsLite(
  new URL('../../../../fixtures/opensora-tiny/forward.safetensors', import.meta.url).pathname,
);
const weights = readSafetensorsLite(
  new URL('../../../../fixtures/opensora-tiny/weights.safetensors', import.meta.url).pathname,
);

describe('STDiT3 TypeScript embeddings', () => {
  it('reproduces the fixture position embedding (column coordinate first) within 1 float32 ulp', () => {
    // Fixture: C 64, 4×4 patches, 192×256 px → base_size 4, scale 0.4330.
    const pe = positionEmbedding2d(64, 4, 4, 192, 256, 512);
    expect(pe.dims).toEqual([16, 64]);
    expect(compareClose(pe.data, getFloat(fwd, 'ref.pos_emb').data, 1.2e-7, 0).ok).toBe(true);
  });

  it('computes the timestep frequency table within 1 ulp of PyTorch float32', () => {
    const golden = getFloat(fwd, 'const.t_freq_table').data;
    const ours = timestepFreqTable();
    for (let k = 0; k < 128; k++)
      expect(Math.abs((ours[k] as number) - (golden[k] as number))).toBeLessThanOrEqual(3e-8);
  });

  it('orders the sinusoid cos first, then sin', () => {
    const table = getFloat(fwd, 'const.t_freq_table').data;
    const s = sinusoid(Float32Array.from([970.5, 0]), table);
    expect(s.dims).toEqual([2, 256]);
    expect(s.data[0]).toBeCloseTo(Math.cos(970.5), 6);
    expect(s.data[128]).toBeCloseTo(Math.sin(970.5), 6);
    expect(Array.from(s.data.subarray(256, 512))).toEqual([...Array(128).fill(1), ...Array(128).fill(0)]);
  });

  it('builds interleaved, sign-folded RoPE tables from rope.freqs', () => {
    const freqs = getFloat(weights, 'rope.freqs').data;
    expect(compareClose(ropeFreqs(16), freqs, 0, 0).ok).toBe(true);
    const { cos, sin } = ropeTables(freqs, 3);
    expect(cos.dims).toEqual([3, 16]);
    const a = Math.fround(2 * (freqs[1] as number));
    expect(cos.data[2 * 16 + 2]).toBe(Math.fround(Math.cos(a)));
    expect(cos.data[2 * 16 + 3]).toBe(Math.fround(Math.cos(a)));
    expect(sin.data[2 * 16 + 2]).toBe(Math.fround(-Math.sin(a)));
    expect(sin.data[2 * 16 + 3]).toBe(Math.fround(Math.sin(a)));
  });

  it('builds the additive caption key bias and tiles a one-row mask over the batch', () => {
    const bias = captionKeyBias({ rows: 1, data: BigInt64Array.from([1n, 1n, 0n]) }, 2, 3);
    expect(bias.dims).toEqual([2, 1, 1, 3]);
    expect(Array.from(bias.data)).toEqual([0, 0, MASKED_KEY_BIAS, 0, 0, MASKED_KEY_BIAS].map(Math.fround));
    const perRow = captionKeyBias({ rows: 2, data: Int32Array.from([1, 0, 1, 1]) }, 2, 2);
    expect(Array.from(perRow.data)).toEqual([0, Math.fround(MASKED_KEY_BIAS), 0, 0]);
    expect(() => captionKeyBias({ rows: 3, data: new Int32Array(6) }, 2, 2)).toThrow(/divide/);
  });
});
