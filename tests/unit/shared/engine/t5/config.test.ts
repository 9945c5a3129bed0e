import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  t5ConfigFromJson,
  t5WeightNames,
  T5_EMBED_KEY,
  T5_FINAL_NORM_KEY,
} from '../../../../../shared/engine/t5/config';
import { estimateT5Flops, parseTextStage } from '../../../../../shared/engine/t5/text-manifest';

const TINY = JSON.parse(
  readFileSync(join(__dirname, '../../../../fixtures/t5-tiny/config.json'), 'utf8'),
) as Record<string, unknown>;
/** DeepFloyd/t5-v1_1-xxl's config (spec 8). */
const XXL = {
  ...TINY,
  d_model: 4096,
  d_kv: 64,
  num_heads: 64,
  d_ff: 10240,
  num_layers: 24,
  vocab_size: 32128,
};

describe('t5ConfigFromJson', () => {
  it('reads the fixture config', () => {
    expect(t5ConfigFromJson(TINY)).toEqual({
      dModel: 32,
      numLayers: 2,
      numHeads: 4,
      dKv: 8,
      dFf: 64,
      vocabSize: 128,
      numBuckets: 32,
      maxDistance: 128,
      layerNormEpsilon: 1e-6,
      feedForwardProj: 'gated-gelu',
    });
  });

  it('names the bad key', () => {
    expect(() => t5ConfigFromJson([])).toThrow(/JSON object/);
    const { d_model: _drop, ...noD } = TINY;
    expect(() => t5ConfigFromJson(noD)).toThrow(/missing key 'd_model'/);
    expect(() => t5ConfigFromJson({ ...TINY, num_heads: 2.5 })).toThrow(
      /'num_heads' must be a positive integer/,
    );
    expect(() => t5ConfigFromJson({ ...TINY, feed_forward_proj: 'relu' })).toThrow(/only "gated-gelu"/);
    expect(() => t5ConfigFromJson({ ...TINY, dense_act_fn: 'relu' })).toThrow(/gelu_new/);
    expect(() => t5ConfigFromJson({ ...TINY, layer_norm_epsilon: 0 })).toThrow(/layer_norm_epsilon/);
    expect(() => t5ConfigFromJson({ ...TINY, relative_attention_num_buckets: 30 })).toThrow(/multiple of 4/);
  });
});

describe('t5WeightNames', () => {
  it('groups the keys as embed, block.{i}, final with the relative bias in block 0 only', () => {
    const groups = t5WeightNames(t5ConfigFromJson(TINY));
    expect(groups.map((g) => g.id)).toEqual(['embed', 'block.0', 'block.1', 'final']);
    expect(groups[0]!.keys).toEqual([{ name: T5_EMBED_KEY, shape: [128, 32] }]);
    expect(groups[1]!.keys).toHaveLength(10);
    expect(groups[2]!.keys).toHaveLength(9);
    expect(groups[1]!.keys.map((k) => k.name)).toContain(
      'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
    );
    expect(groups[3]!.keys).toEqual([{ name: T5_FINAL_NORM_KEY, shape: [32] }]);
  });

  it('covers the fixture checkpoint exactly (its extra key is the embed_tokens alias)', () => {
    const manifest = JSON.parse(
      readFileSync(join(__dirname, '../../../../fixtures/t5-tiny/manifest.json'), 'utf8'),
    ) as { files: { 'weights.safetensors': { keys: { name: string; shape: number[] }[] } } };
    const fixtureKeys = manifest.files['weights.safetensors'].keys;
    const ours = t5WeightNames(t5ConfigFromJson(TINY)).flatMap((g) => g.keys);
    const byName = new Map(ours.map((k) => [k.name, k.shape]));
    for (const k of fixtureKeys) {
      if (k.name === 'encoder.embed_tokens.weight') continue;
      expect(byName.get(k.name)).toEqual(k.shape);
    }
    expect(ours).toHaveLength(fixtureKeys.length - 1);
  });

  it('has 219 keys and the spec 4,762,310,656 parameters for XXL (220 keys with the alias, spec 8)', () => {
    const keys = t5WeightNames(t5ConfigFromJson(XXL)).flatMap((g) => g.keys);
    expect(keys).toHaveLength(219);
    const params = keys.reduce((n, k) => n + k.shape.reduce((a, b) => a * b, 1), 0);
    expect(params).toBe(4_762_310_656);
    expect(estimateT5Flops(t5ConfigFromJson(XXL), 300).block).toBeGreaterThan(0);
  });
});

describe('parseTextStage', () => {
  const entry = (id: string) => ({
    id,
    file: `text/${id}.safetensors`,
    bytes: 8,
    sha256: 'a'.repeat(64),
    tensors: ['x'],
    variants: ['plain'],
    flops: { reference: { frames: 1, height: 1, width: 1, captionLength: 300 }, plain: 0 },
  });
  const stage = {
    arch: 't5-encoder',
    config: TINY,
    tokenizer: null,
    blocks: ['embed', 'block.0', 'block.1', 'final'].map(entry),
  };

  it('accepts a well-formed stage', () => {
    expect(parseTextStage(stage, 'm.json').config.numLayers).toBe(2);
  });

  it('rejects wrong ids, order, counts, arch and paths with the field named', () => {
    expect(() => parseTextStage({ ...stage, arch: 'stdit3' }, 'm.json')).toThrow(
      /m.json: .*stages.text.arch/,
    );
    expect(() => parseTextStage({ ...stage, blocks: [entry('embed'), entry('pair.0')] }, 'm.json')).toThrow(
      /embed, final or block/,
    );
    expect(() =>
      parseTextStage({ ...stage, blocks: ['embed', 'block.1', 'block.0', 'final'].map(entry) }, 'm.json'),
    ).toThrow(/expected \[embed, block.0, block.1, final\]/);
    expect(() =>
      parseTextStage({ ...stage, blocks: ['embed', 'block.0', 'final'].map(entry) }, 'm.json'),
    ).toThrow(/num_layers 2/);
    expect(() =>
      parseTextStage(
        { ...stage, blocks: [{ ...entry('embed'), file: '../x' }, ...stage.blocks.slice(1)] },
        'm.json',
      ),
    ).toThrow(/inside the block set/);
    expect(() => parseTextStage({ ...stage, config: { ...TINY, d_model: 0 } }, 'm.json')).toThrow(/d_model/);
  });
});
