import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { convertStdit3 } from '../../../shared/engine/stdit3/convert';
import { BlockSetError } from '../../../shared/engine/blockset/errors';
import { openBlockSet } from '../../../shared/engine/blockset/load';
import { parseSafetensors } from '../../../shared/engine/safetensors/reader';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { floatTensor, type FloatTensor } from '../../../shared/engine/tensor';
import { vaeConfigFromJson, vaeWeightNames } from '../../../shared/engine/vae/config';
import { convertVae } from '../../../shared/engine/vae/convert';
import { readDecodeStage } from '../../../shared/engine/vae/decode-manifest';
import { runDecodeStage } from '../../../shared/engine/vae/decode-stage';
import { floatToHalfBits, halfValue, rawSafetensors } from '../../unit/shared/engine/safetensors/raw-file';
import { countingFs } from '../../helpers/counting-fs';

const VAE = join(__dirname, '../../fixtures/vae-tiny');
const STDIT = join(__dirname, '../../fixtures/opensora-tiny');
const manifest = JSON.parse(readFileSync(join(VAE, 'manifest.json'), 'utf8')) as {
  config: Record<string, unknown>;
};
const CONFIG = {
  spatial_vae: manifest.config['spatial_vae'],
  temporal_vae: manifest.config['temporal_vae'],
  pipeline: manifest.config['pipeline'],
};
const decodeData = parseSafetensors(new Uint8Array(readFileSync(join(VAE, 'decode.safetensors'))));
const fs = new NodeFileSystem();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odsora-vae-convert-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<BlockSetError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BlockSetError);
  return e as BlockSetError;
}

/** A synthetic checkpoint in the real key layout: decode keys (one F16, one BF16), plus encoder keys. */
async function syntheticCheckpoint(cfgJson: unknown, edit?: (name: string) => 'drop' | number[] | undefined) {
  const cfg = vaeConfigFromJson(cfgJson);
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let at = 0;
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const add = (name: string, dtype: string, shape: number[], bytes: Uint8Array) => {
    header[name] = { dtype, shape, data_offsets: [at, at + bytes.length] };
    parts.push(bytes);
    at += bytes.length;
  };
  const keys = vaeWeightNames(cfg).flatMap((g) => g.keys);
  const encoder = [
    { name: 'temporal_vae.encoder.conv_in.conv.weight', shape: [64, 4, 3, 3, 3] },
    { name: 'temporal_vae.quant_conv.conv.weight', shape: [8, 4, 1, 1, 1] },
    { name: 'spatial_vae.module.encoder.conv_in.weight', shape: [16, 3, 3, 3] },
    { name: 'spatial_vae.module.quant_conv.weight', shape: [8, 8, 1, 1] },
  ];
  const values = new Map<string, Float32Array>();
  for (const k of [...keys, ...encoder]) {
    const e = edit?.(k.name);
    if (e === 'drop') continue;
    const shape = e ?? [...k.shape];
    const n = shape.reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, rnd);
    if (k.name === 'temporal_vae.post_quant_conv.conv.weight') {
      const bits = Array.from(v, floatToHalfBits);
      values.set(k.name, Float32Array.from(bits, halfValue));
      add(k.name, 'F16', shape, new Uint8Array(Uint16Array.from(bits).buffer));
    } else if (k.name === 'spatial_vae.module.post_quant_conv.weight') {
      const u = new Uint32Array(v.buffer);
      const bits = Uint16Array.from(u, (x) => x >>> 16);
      values.set(k.name, new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer));
      add(k.name, 'BF16', shape, new Uint8Array(bits.buffer));
    } else {
      values.set(k.name, v);
      add(k.name, 'F32', shape, new Uint8Array(v.buffer));
    }
  }
  const data = new Uint8Array(at);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  const path = join(dir, 'vae.safetensors');
  await writeFile(path, rawSafetensors(header, data));
  return { path, values, keys, encoder };
}

describe('convertVae', () => {
  const bigger = CONFIG;

  it('streams tensor by tensor, skips encoder keys unread and converts F16/BF16 to F32', async () => {
    const ck = await syntheticCheckpoint(bigger);
    const { fs: counting, reads, wholeFiles } = countingFs(fs);
    const out = join(dir, 'set');
    const result = await convertVae({
      fs: counting,
      sha256: nodeSha256,
      checkpoint: { files: [ck.path] },
      config: bigger,
      outDir: out,
    });
    expect(wholeFiles).toEqual([]);
    const bytesOf = (name: string) =>
      ck.values.get(name)!.length *
      (name.endsWith('post_quant_conv.weight') || name.endsWith('post_quant_conv.conv.weight') ? 2 : 4);
    const largest = Math.max(...ck.keys.map((k) => bytesOf(k.name)));
    const encoderBytes = ck.encoder.map((k) => ck.values.get(k.name)!.length * 4);
    // Format probe + header reads (3), then one read per decode tensor; no encoder tensor is read.
    expect(reads.length).toBe(3 + ck.keys.length);
    expect(Math.max(...reads.slice(3))).toBeLessThanOrEqual(largest);
    expect(reads.slice(3).reduce((a, b) => a + b, 0)).toBe(ck.keys.reduce((a, k) => a + bytesOf(k.name), 0));
    expect(encoderBytes.some((b) => b > 0)).toBe(true);

    const set = await openBlockSet(fs, nodeSha256, out);
    const { stage, config } = readDecodeStage(set.manifest, 'manifest');
    expect(config.temporal).toBe(true);
    expect(stage.blocks.map((b) => b.file)).toContain('decode/temporal.stage3.safetensors');
    expect(result.stage.blocks.every((b) => b.flops.plain > 0)).toBe(true);
    for (const entry of stage.blocks) {
      const loaded = await set.loadBlock(entry, { verify: true });
      for (const [name, t] of loaded.weights) expect(t.data).toEqual(ck.values.get(name));
    }
  });

  it('names the file and tensor of a missing, misshapen or unexpected key', async () => {
    const ck = await syntheticCheckpoint(bigger, (n) =>
      n === 'temporal_vae.decoder.norm1.bias'
        ? 'drop'
        : n === 'spatial_vae.module.decoder.conv_out.bias'
          ? [4]
          : undefined,
    );
    const e = await rejection(
      convertVae({
        fs,
        sha256: nodeSha256,
        checkpoint: { files: [ck.path] },
        config: bigger,
        outDir: join(dir, 'x'),
      }),
    );
    expect(e.message).toContain(ck.path);
    expect(e.message).toContain('missing tensor "temporal_vae.decoder.norm1.bias" (block temporal.stage0)');
    expect(e.message).toContain(
      'tensor "spatial_vae.module.decoder.conv_out.bias" has shape [4], expected [3]',
    );
    expect(await fs.exists(join(dir, 'x'))).toBe(false);
    // A spatial-only config rejects the temporal decoder keys unless told to skip them.
    const e2 = await rejection(
      convertVae({
        fs,
        sha256: nodeSha256,
        checkpoint: { files: [(await syntheticCheckpoint(bigger)).path] },
        config: { ...bigger, temporal_vae: null },
        outDir: join(dir, 'y'),
      }),
    );
    expect(e2.message).toMatch(/unexpected tensor "temporal_vae\.decoder\./);
  });

  it('adds the decode stage to an existing block set, keeping the denoiser', async () => {
    const setDir = join(dir, 'set');
    const stditCfg = (
      JSON.parse(readFileSync(join(STDIT, 'manifest.json'), 'utf8')) as { config: { model: unknown } }
    ).config.model;
    await convertStdit3({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [join(STDIT, 'weights.safetensors')] },
      config: stditCfg,
      outDir: setDir,
      modelName: 'tiny',
    });
    await convertVae({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [join(VAE, 'weights.safetensors')] },
      config: CONFIG,
      outDir: setDir,
    });
    const set = await openBlockSet(fs, nodeSha256, setDir);
    expect(set.denoiserBlocks().length).toBeGreaterThan(0);
    expect(readDecodeStage(set.manifest, 'm').stage.blocks).toHaveLength(11);
    const again = await rejection(
      convertVae({
        fs,
        sha256: nodeSha256,
        checkpoint: { files: [join(VAE, 'weights.safetensors')] },
        config: CONFIG,
        outDir: setDir,
      }),
    );
    expect(again.message).toMatch(/already has a decode stage/);
    expect(JSON.parse(await readFile(join(setDir, 'manifest.json'), 'utf8')).stages.denoiser.arch).toBe(
      'stdit3',
    );
  });
});

describe('decode stage under CI-DL', () => {
  let host: NodeEngineHost;
  beforeAll(async () => {
    host = await createNodeEngineHost({ placement: 'inline', threads: 2 });
  });
  afterAll(async () => {
    await host.close();
  });

  it('gives the all-resident result bit for bit at the smallest budget, with decode telemetry', async () => {
    const out = join(dir, 'set');
    await convertVae({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [join(VAE, 'weights.safetensors')] },
      config: CONFIG,
      outDir: out,
    });
    const blockSet = await openBlockSet(fs, nodeSha256, out);
    const z = decodeData.readFloat32('video.z');
    const run = async (bytes: number | null, events: EngineEvent[]) =>
      runDecodeStage(
        { blockSet, backend: host.backend, clock: host.clock, emit: (e) => events.push(e) },
        z,
        bytes === null
          ? { numFrames: 24, budget: { kind: 'unlimited' } }
          : { numFrames: 24, budget: { kind: 'bytes', bytes }, policy: 'none' },
      );
    const evAll: EngineEvent[] = [];
    const all = await run(null, evAll);
    const largest = Math.max(...readDecodeStage(blockSet.manifest, 'm').stage.blocks.map((b) => b.bytes));
    const evSmall: EngineEvent[] = [];
    const small = await run(largest, evSmall);
    expect(all.dims).toEqual([2, 3, 24, 32, 48]);
    expect(small.data).toEqual(all.data);
    expect(evAll[0]).toMatchObject({ type: 'stage.start', stage: 'decode' });
    expect(evAll.at(-1)).toMatchObject({ type: 'stage.end', stage: 'decode' });
    const loads = (ev: EngineEvent[]) =>
      ev.filter((e) => e.type === 'block.load.end').map((e) => (e as { block: string }).block);
    expect(new Set(loads(evAll)).size).toBe(11);
    expect(loads(evAll).length).toBe(11);
    expect(loads(evAll)).toContain('decode/temporal.stage3');
    // Retaining nothing, blocks are reloaded every pass: 2 temporal chunks × 5 + 12 micro-batches × 6.
    expect(loads(evSmall).length).toBe(2 * 5 + 12 * 6);
    const compute = evAll.filter((e) => e.type === 'block.compute.start');
    expect(compute.length).toBe(2 * 5 + 12 * 6);
  });

  it('decodes spatially only when the config has no temporal VAE', async () => {
    const out = join(dir, 'nano');
    const temporalKeys = vaeWeightNames(vaeConfigFromJson(CONFIG))
      .filter((g) => g.id.startsWith('temporal.'))
      .flatMap((g) => g.keys.map((k) => k.name))
      .filter((n) => n !== 'scale' && n !== 'shift');
    const nano = { spatial_vae: CONFIG.spatial_vae, pipeline: CONFIG.pipeline };
    await convertVae({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [join(VAE, 'weights.safetensors')] },
      config: nano,
      outDir: out,
      ignoreKeys: temporalKeys,
    });
    const blockSet = await openBlockSet(fs, nodeSha256, out);
    const xz = decodeData.readFloat32('spatial_only.z');
    // Undo z·scale + shift so the stage's de-normalisation gives back the fixture's per-frame SD latent.
    const scale = [3.8499999046325684, 2.319999933242798, 2.3299999237060547, 3.059999942779541];
    const shift = [-0.10000000149011612, 0.3400000035762787, 0.27000001072883606, 0.9800000190734863];
    const hw = 4 * 6;
    const z: FloatTensor = floatTensor(
      xz.dims,
      Float32Array.from(xz.data, (v, i) => {
        const c = Math.floor(i / (6 * hw)) % 4;
        return (v - shift[c]!) / scale[c]!;
      }),
    );
    const x = await runDecodeStage(
      { blockSet, backend: host.backend, clock: host.clock, emit: () => undefined },
      z,
      { numFrames: 6, budget: { kind: 'unlimited' } },
    );
    const golden = decodeData.readFloat32('spatial_only.x');
    let max = 0;
    for (let i = 0; i < golden.data.length; i++) max = Math.max(max, Math.abs(x.data[i]! - golden.data[i]!));
    expect(max).toBeLessThan(1e-4);
    await expect(
      runDecodeStage({ blockSet, backend: host.backend, clock: host.clock, emit: () => undefined }, z, {
        numFrames: 24,
        budget: { kind: 'unlimited' },
      }),
    ).rejects.toThrow(/every latent frame is one video frame/);
  });
});
