import { describe, expect, it } from 'vitest';
import { floatTensor } from '../../../../../shared/engine/tensor';
import type { InferenceBackend } from '../../../../../shared/engine/ports';
import { t5ConfigFromJson } from '../../../../../shared/engine/t5/config';
import { T5Encoder } from '../../../../../shared/engine/t5/model';
import { buildT5BlockGraph, buildT5FinalGraph } from '../../../../../shared/engine/t5/graphs';

const cfg = t5ConfigFromJson({
  d_model: 4,
  num_layers: 2,
  num_heads: 2,
  d_kv: 3,
  d_ff: 8,
  vocab_size: 5,
  relative_attention_num_buckets: 8,
  relative_attention_max_distance: 16,
  layer_norm_epsilon: 1e-6,
  feed_forward_proj: 'gated-gelu',
});
const noBackend: InferenceBackend = {
  name: 'none',
  createSession: () => Promise.reject(new Error('no backend in this test')),
};

describe('T5Encoder (TypeScript parts)', () => {
  const model = T5Encoder.create(noBackend, cfg, { batch: 2, length: 3 });
  const table = floatTensor(
    [5, 4],
    Float32Array.from({ length: 20 }, (_, k) => k),
  );

  it('embeds by copying rows of shared.weight (or its encoder.embed_tokens alias), unscaled', () => {
    for (const key of ['shared.weight', 'encoder.embed_tokens.weight']) {
      const e = model.embed(new Map([[key, table]]), BigInt64Array.from([4n, 0n, 1n, 2n, 2n, 3n]));
      expect(e.dims).toEqual([2, 3, 4]);
      expect(Array.from(e.data.subarray(0, 8))).toEqual([16, 17, 18, 19, 0, 1, 2, 3]);
    }
  });

  it('rejects ids outside the vocabulary, wrong lengths and a missing table', () => {
    const w = new Map([['shared.weight', table]]);
    expect(() => model.embed(w, [0, 1, 5, 0, 0, 0])).toThrow(
      /token id 5 at position 2 is outside the vocabulary/,
    );
    expect(() => model.embed(w, [0, 1])).toThrow(/2 token ids, expected 2 × 3/);
    expect(() => model.embed(new Map(), [0, 0, 0, 0, 0, 0])).toThrow(/missing weight 'shared.weight'/);
  });

  it('needs block 0 (the relative bias) before any other block', async () => {
    const state = model.initialState(
      new Map([['shared.weight', table]]),
      [0, 0, 0, 0, 0, 0],
      [1, 1, 1, 1, 0, 0],
    );
    await expect(model.block(1, new Map(), state)).rejects.toThrow(/block 1 ran before block 0/);
    await expect(model.block(0, new Map(), state)).rejects.toThrow(/relative_attention_bias/);
  });

  it('builds the block and final graphs for a static shape', () => {
    expect(buildT5BlockGraph(cfg, { batch: 2, length: 3 }).byteLength).toBeGreaterThan(0);
    expect(buildT5FinalGraph(cfg, { batch: 1, length: 300 }).byteLength).toBeGreaterThan(0);
    expect(() => T5Encoder.create(noBackend, cfg, { batch: 0, length: 3 })).toThrow(/invalid shape/);
  });
});
