import { describe, expect, it } from 'vitest';
import {
  stdit3ConfigFromJson,
  stdit3Dims,
  stdit3WeightNames,
} from '../../../../../shared/engine/stdit3/config';
import { readSafetensorsLite } from '../../../../helpers/safetensors-lite';
import manifest from '../../../../fixtures/opensora-tiny/manifest.json';

const released = {
  depth: 28,
  hidden_size: 1152,
  num_heads: 16,
  patch_size: [1, 2, 2],
  in_channels: 4,
  caption_channels: 4096,
  model_max_length: 300,
  qk_norm: true,
  pred_sigma: true,
  mlp_ratio: 4.0,
  input_sq_size: 512,
  class_dropout_prob: 0.1,
  architectures: ['STDiT3'],
};

describe('STDiT3 config', () => {
  it('parses the snake_case Open-Sora config and ignores unknown keys', () => {
    expect(stdit3ConfigFromJson(released)).toEqual({
      depth: 28,
      hiddenSize: 1152,
      numHeads: 16,
      patchSize: [1, 2, 2],
      inChannels: 4,
      captionChannels: 4096,
      modelMaxLength: 300,
      qkNorm: true,
      predSigma: true,
      mlpRatio: 4,
      inputSqSize: 512,
    });
  });

  it('names the missing or bad key in its error', () => {
    const { depth: _depth, ...noDepth } = released;
    expect(() => stdit3ConfigFromJson(noDepth)).toThrow(/missing key 'depth'/);
    expect(() => stdit3ConfigFromJson({ ...released, num_heads: 2.5 })).toThrow(/'num_heads'/);
    expect(() => stdit3ConfigFromJson({ ...released, patch_size: [1, 2] })).toThrow(/'patch_size'/);
    expect(() => stdit3ConfigFromJson({ ...released, qk_norm: 'yes' })).toThrow(/'qk_norm'/);
    expect(() => stdit3ConfigFromJson([])).toThrow(/JSON object/);
  });

  it('lists the 973 released keys grouped as part1, pair.0..27 and part2', () => {
    const groups = stdit3WeightNames(stdit3ConfigFromJson(released));
    expect(groups.map((g) => g.id)).toEqual([
      'part1',
      ...Array.from({ length: 28 }, (_, i) => `pair.${i}`),
      'part2',
    ]);
    expect(groups.reduce((n, g) => n + g.keys.length, 0)).toBe(973);
    const all = new Map(groups.flatMap((g) => g.keys.map((k) => [k.name, k.shape] as const)));
    expect(all.get('x_embedder.proj.weight')).toEqual([1152, 4, 1, 2, 2]);
    expect(all.get('rope.freqs')).toEqual([36]);
    expect(all.get('temporal_blocks.27.attn.qkv.weight')).toEqual([3456, 1152]);
    expect(all.get('final_layer.linear.weight')).toEqual([32, 1152]);
    const numbers = [...all.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    expect(numbers).toBe(1_208_872_772);
  });

  it('matches every key and shape of the tiny fixture checkpoint', () => {
    const cfg = stdit3ConfigFromJson(manifest.config.model);
    const fixture = readSafetensorsLite(
      new URL('../../../../fixtures/opensora-tiny/weights.safetensors', import.meta.url).pathname,
    );
    const listed = stdit3WeightNames(cfg).flatMap((g) => g.keys);
    expect(listed.map((k) => k.name).sort()).toEqual([...fixture.keys()].sort());
    for (const k of listed) expect(fixture.get(k.name)?.dims, k.name).toEqual(k.shape);
  });

  it('derives the padded patch grid', () => {
    const cfg = stdit3ConfigFromJson(released);
    const d = stdit3Dims(cfg, { batch: 2, frames: 20, height: 20, width: 27, captionLength: 300 });
    expect([d.Hp, d.Wp, d.S, d.hd, d.Cout, d.mlpHidden]).toEqual([10, 14, 140, 72, 8, 4608]);
  });
});
