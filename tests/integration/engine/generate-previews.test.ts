// Previews during denoising (generate.ts `ctx.previews`) on the fixture model directory: x̂0 every N steps, decoded
// through the VAE under what the denoise budget leaves free (else a latent fallback), never changing the result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockSet } from '../../../shared/engine/blockset/load';
import {
  GenerateCaches,
  generateVideo,
  previewFrameIndices,
  type GenerateParams,
  type GeneratePreview,
  type GeneratePreviewOptions,
  type GenerateResult,
} from '../../../shared/engine/pipeline/generate';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { readDecodeStage } from '../../../shared/engine/vae/decode-manifest';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { ensureModelBlockSet } from '../../../src-main/models/bundled';
import { FIXTURE_SAMPLING, fixtureModelDir } from '../../helpers/fixture-model-dir';

let host: NodeEngineHost;
let blockSet: BlockSet;
let modelDir: string;
let cacheRoot: string;
const caches = new GenerateCaches();
const { num_frames: F, height: H, width: W } = FIXTURE_SAMPLING;
const base: GenerateParams = { prompt: 'a red ball', seed: 3, steps: 4 };

beforeAll(async () => {
  host = await createNodeEngineHost({ placement: 'inline', threads: 1 });
  modelDir = fixtureModelDir();
  cacheRoot = mkdtempSync(join(tmpdir(), 'odsora-cache-'));
  blockSet = (await ensureModelBlockSet(host, modelDir, { cacheRoot })).blockSet;
});

afterAll(async () => {
  await caches.clear();
  await host.close();
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(cacheRoot, { recursive: true, force: true });
});

async function gen(
  params: GenerateParams,
  previews?: Omit<GeneratePreviewOptions, 'onPreview'>,
): Promise<{ r: GenerateResult; events: EngineEvent[]; previews: GeneratePreview[] }> {
  const events: EngineEvent[] = [];
  const got: GeneratePreview[] = [];
  const r = await generateVideo(
    {
      blockSet,
      backend: host.backend,
      clock: host.clock,
      emit: (e) => events.push(e),
      probe: host.probe,
      caches,
      ...(previews ? { previews: { ...previews, onPreview: (p: GeneratePreview) => void got.push(p) } } : {}),
    },
    params,
  );
  return { r, events, previews: got };
}

let plain: Awaited<ReturnType<typeof gen>>;

describe('generateVideo previews', () => {
  beforeAll(async () => {
    plain = await gen(base);
  });

  it('decodes x̂0 every N steps at the video geometry; the final video is bit-identical with previews off', async () => {
    const { r, events, previews } = await gen(base, { everySteps: 2, decode: 'vae' });
    expect(previews.map((p) => [p.step, p.final])).toEqual([
      [1, false],
      [3, true],
    ]);
    for (const p of previews) {
      expect(p.fallback).toBeNull();
      expect(p.x0.dims).toEqual([1, 4, 5, 8, 8]);
      expect(p.frames).toMatchObject({ width: W, height: H, channels: 3 });
      expect(p.frames!.frames).toHaveLength(F);
      expect(p.frames!.indices).toEqual(previewFrameIndices(F));
      for (const f of p.frames!.frames) expect(f.length).toBe(W * H * 3);
    }
    // Step 1 ran a decode (unlimited budget: no allowance); the final step's frames are the final decode's.
    expect(previews[0]!.cost).toMatchObject({ allowanceBytes: null });
    expect(previews[0]!.cost!.ms).toBeGreaterThan(0);
    expect(previews[1]!.cost).toBeNull();
    expect(previews[1]!.frames!.frames).toEqual(r.frames.frames);
    expect(previews[1]!.x0.data).toEqual(r.latent.data);
    // A mid-run preview is not the final video.
    expect(previews[0]!.frames!.frames).not.toEqual(r.frames.frames);
    // Bit-identical result, and the run's telemetry is the same sequence of events (preview decodes stay out).
    expect(r.latent.data).toEqual(plain.r.latent.data);
    expect(r.video.data).toEqual(plain.r.video.data);
    expect(r.frames.frames).toEqual(plain.r.frames.frames);
    const shape = (es: EngineEvent[]): string[] =>
      es.map((e) => `${e.type}:${'block' in e ? e.block : ''}:${'stage' in e ? e.stage : ''}`);
    expect(shape(events)).toEqual(shape(plain.events));
    const cost = previews[0]!.cost!;
    console.log(
      `preview decode (all ${F} frames of ${W}×${H}): ${cost.ms.toFixed(1)} ms; ` +
        `step latency ${plain.r.denoise.steps.map((s) => s.latencyMs.toFixed(1)).join(', ')} ms`,
    );
  });

  it('x̂0 is exactly the LPL leap result; maxFrames decodes an evenly spaced subset', async () => {
    const { r, previews } = await gen(base, { everySteps: 1, decode: 'vae', maxFrames: 5 });
    expect(previews.map((p) => p.step)).toEqual([0, 1, 2, 3]);
    expect(r.video.data).toEqual(plain.r.video.data);
    const idx = [0, 4, 8, 12, 16];
    for (const p of previews) {
      expect(p.frames!.indices).toEqual(idx);
      expect(p.frames!.frames).toHaveLength(5);
      expect(p.frames!.frames[0]!.length).toBe(W * H * 3);
    }
    // The final preview's subset is the final video's frames at those indices.
    expect(previews[3]!.frames!.frames).toEqual(idx.map((i) => r.frames.frames[i]));
    const leap = await gen({ ...base, lpl: { mode: 'fixed', leapStep: 1 } });
    expect(previews[1]!.x0.data).toEqual(leap.r.latent.data);
    // The subset decode of x̂0 matches the leap run's full decode at those frames (the spatial VAE is per frame).
    idx.forEach((i, k) => {
      const a = previews[1]!.frames!.frames[k]!;
      const b = leap.r.frames.frames[i]!;
      let max = 0;
      for (let j = 0; j < a.length; j++) max = Math.max(max, Math.abs(a[j]! - b[j]!));
      expect(max).toBeLessThanOrEqual(1);
    });
    const ms = previews.slice(1, 3).map((p) => p.cost!.ms);
    console.log(`preview decode (5 of ${F} frames, warm): ${ms.map((m) => m.toFixed(1)).join(', ')} ms`);
  });

  it('latent mode gives x̂0 only', async () => {
    const { r, previews } = await gen(base, { everySteps: 3, decode: 'latent' });
    expect(previews.map((p) => [p.step, p.frames, p.fallback, p.cost])).toEqual([[2, null, null, null]]);
    expect(r.video.data).toEqual(plain.r.video.data);
  });

  it('decodes under what the denoise budget leaves free, and falls back to latent when that is too little', async () => {
    const denTotal = blockSet.denoiserBlocks().reduce((s, b) => s + b.bytes, 0);
    const decMax = Math.max(
      ...readDecodeStage(blockSet.manifest, blockSet.dir).stage.blocks.map((b) => b.bytes),
    );
    // Every denoiser block stays resident; the rest is one byte short of the largest decode block.
    const tight = denTotal + decMax - 1;
    const a = await gen(
      { ...base, cidl: { budget: { kind: 'bytes', bytes: tight } } },
      { everySteps: 2, decode: 'vae' },
    );
    expect(a.previews).toHaveLength(2);
    expect(a.previews[0]!.frames).toBeNull();
    expect(a.previews[0]!.cost).toBeNull();
    expect(a.previews[0]!.fallback).toMatch(
      new RegExp(`no room to decode.*${denTotal} B of denoiser blocks resident, leaving ${decMax - 1} B`),
    );
    expect(a.previews[1]!.frames).not.toBeNull(); // the final step's frames come from the final decode
    expect(a.r.video.data).toEqual(plain.r.video.data);

    const roomy = denTotal + 2 * decMax;
    const b = await gen(
      { ...base, cidl: { budget: { kind: 'bytes', bytes: roomy } } },
      { everySteps: 2, decode: 'vae' },
    );
    const cost = b.previews[0]!.cost!;
    expect(b.previews[0]!.fallback).toBeNull();
    expect(cost.denoiserResidentBytes).toBe(denTotal);
    expect(cost.allowanceBytes).toBe(2 * decMax);
    expect(cost.peakBytes).toBeGreaterThan(0);
    expect(cost.peakBytes).toBeLessThanOrEqual(2 * decMax);
    expect(cost.loads.count).toBeGreaterThan(0);
    expect(b.r.video.data).toEqual(plain.r.video.data);
  });

  it('rejects bad preview options naming the field', async () => {
    await expect(gen(base, { everySteps: 0, decode: 'vae' })).rejects.toThrow(/previews\.everySteps/);
    await expect(gen(base, { everySteps: 1, decode: 'vae', maxFrames: 1.5 })).rejects.toThrow(
      /previews\.maxFrames/,
    );
  });
});

describe('previewFrameIndices', () => {
  it('spreads the subset evenly, first and last included', () => {
    expect(previewFrameIndices(17, 5)).toEqual([0, 4, 8, 12, 16]);
    expect(previewFrameIndices(17, 2)).toEqual([0, 16]);
    expect(previewFrameIndices(17, 1)).toEqual([8]);
    expect(previewFrameIndices(3, 10)).toEqual([0, 1, 2]);
    expect(previewFrameIndices(51, 15)).toHaveLength(15);
    expect(new Set(previewFrameIndices(51, 15)).size).toBe(15);
  });
});
