import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RELEASED_VAE_CONFIG_JSON,
  latentFramesFor,
  spatialMicroBatches,
  temporalChunkPlan,
  vaeConfigFromJson,
  vaeWeightNames,
} from '../../../../../shared/engine/vae/config';

const FIXTURE = join(__dirname, '../../../../fixtures/vae-tiny/manifest.json');
const manifest = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
  config: Record<string, unknown>;
  files: { 'weights.safetensors': { keys: { name: string; shape: number[]; decode: boolean }[] } };
};

describe('VAE chunk plan (spec 7.2, 7.3)', () => {
  it('gives the latent sizes of spec 7.2', () => {
    expect(latentFramesFor(51)).toBe(15);
    expect(latentFramesFor(68)).toBe(20);
    expect(latentFramesFor(102)).toBe(30);
    expect(latentFramesFor(24)).toBe(7);
    expect(latentFramesFor(1)).toBe(1);
  });

  it('splits 24 frames into 17 + 7 with 3 and 1 frames dropped', () => {
    expect(temporalChunkPlan(7, 24)).toEqual([
      { zStart: 0, zFrames: 5, numFrames: 17, drop: 3, outFrames: 17 },
      { zStart: 5, zFrames: 2, numFrames: 7, drop: 1, outFrames: 7 },
    ]);
  });

  it('splits 51 and 68 frames into full chunks and 1 frame into one latent', () => {
    expect(temporalChunkPlan(15, 51).map((c) => [c.zFrames, c.numFrames, c.drop])).toEqual([
      [5, 17, 3],
      [5, 17, 3],
      [5, 17, 3],
    ]);
    const p68 = temporalChunkPlan(20, 68);
    expect(p68).toHaveLength(4);
    expect(p68.every((c) => c.zFrames === 5 && c.numFrames === 17 && c.drop === 3)).toBe(true);
    expect(p68.map((c) => c.zStart)).toEqual([0, 5, 10, 15]);
    expect(temporalChunkPlan(1, 1)).toEqual([{ zStart: 0, zFrames: 1, numFrames: 1, drop: 3, outFrames: 1 }]);
  });

  it('drops (4 − n mod 4) mod 4 frames: none for a multiple of 4', () => {
    expect(temporalChunkPlan(7, 25)[1]).toMatchObject({ numFrames: 8, drop: 0 });
    expect(temporalChunkPlan(7, 22)[1]).toMatchObject({ numFrames: 5, drop: 3 });
  });

  it('rejects frame counts the latent cannot produce', () => {
    expect(() => temporalChunkPlan(7, 30)).toThrow(/do not decode to 30 frames/);
    expect(() => temporalChunkPlan(5, 24)).toThrow(/fewer than 24 frames/);
    expect(() => temporalChunkPlan(10, 17)).toThrow(/num_frames 0/);
  });

  it('cuts micro-batches of 4 with a partial last one', () => {
    expect(spatialMicroBatches(6, 4)).toEqual([4, 2]);
    expect(spatialMicroBatches(48, 4)).toHaveLength(12);
    expect(spatialMicroBatches(1, 4)).toEqual([1]);
  });
});

describe('VAE config and decode keys', () => {
  it('lists exactly the fixture keys marked decode, with their shapes', () => {
    const cfg = vaeConfigFromJson(manifest.config);
    const names = vaeWeightNames(cfg).flatMap((g) => g.keys);
    const want = manifest.files['weights.safetensors'].keys.filter((k) => k.decode);
    expect(names).toHaveLength(276);
    expect(new Map(names.map((k) => [k.name, k.shape]))).toEqual(new Map(want.map((k) => [k.name, k.shape])));
  });

  it('groups the released model into 11 blocks with the spec 7 parameter counts', () => {
    const groups = vaeWeightNames(vaeConfigFromJson(RELEASED_VAE_CONFIG_JSON));
    expect(groups.map((g) => g.id)).toEqual([
      'temporal.in',
      'temporal.stage3',
      'temporal.stage2',
      'temporal.stage1',
      'temporal.stage0',
      'spatial.pre',
      'spatial.up.0',
      'spatial.up.1',
      'spatial.up.2',
      'spatial.up.3',
      'spatial.out',
    ]);
    const count = (g: (typeof groups)[number]) =>
      g.keys.reduce((n, k) => n + k.shape.reduce((a, b) => a * b, 1), 0);
    const temporal = groups.filter((g) => g.id.startsWith('temporal.'));
    const spatial = groups.filter((g) => g.id.startsWith('spatial.'));
    expect(temporal.reduce((n, g) => n + count(g), 0)).toBe(165_265_944 + 8);
    expect(spatial.reduce((n, g) => n + count(g), 0)).toBe(49_490_199);
    expect(temporal.reduce((n, g) => n + g.keys.length, 0)).toBe(134 + 2);
    expect(spatial.reduce((n, g) => n + g.keys.length, 0)).toBe(140);
  });

  it('allows leaving the temporal VAE out (scale/shift move to spatial.pre)', () => {
    const cfg = vaeConfigFromJson({ spatial_vae: manifest.config['spatial_vae'] });
    expect(cfg.temporal).toBe(false);
    const groups = vaeWeightNames(cfg);
    expect(groups[0]?.id).toBe('spatial.pre');
    expect(groups[0]?.keys.slice(0, 2).map((k) => k.name)).toEqual(['scale', 'shift']);
  });

  it('names the bad key in errors', () => {
    expect(() => vaeConfigFromJson({})).toThrow(/'spatial_vae' must be an object/);
    expect(() =>
      vaeConfigFromJson({
        spatial_vae: { ...(manifest.config['spatial_vae'] as object), norm_num_groups: 3 },
      }),
    ).toThrow(/not divisible by 3 GroupNorm groups/);
    expect(() =>
      vaeConfigFromJson({
        ...manifest.config,
        temporal_vae: { ...(manifest.config['temporal_vae'] as object), temporal_downsample: [true] },
      }),
    ).toThrow(/temporal_downsample' must be 3 booleans/);
  });
});
