import { weightToFloat32 } from '../../../shared/engine/blockset/precision';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { convertStdit3 } from '../../../shared/engine/stdit3/convert';
import { BlockSetError } from '../../../shared/engine/blockset/errors';
import { openBlockSet } from '../../../shared/engine/blockset/load';
import { LocalAbortController } from '../../../shared/engine/cidl/abort';
import { parseSafetensors } from '../../../shared/engine/safetensors/reader';
import { t5ConfigFromJson, t5WeightNames } from '../../../shared/engine/t5/config';
import { convertT5 } from '../../../shared/engine/t5/convert';
import { runTextStage, textBlocks } from '../../../shared/engine/t5/text-stage';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { rawSafetensors } from '../../unit/shared/engine/safetensors/raw-file';
import { countingFs } from '../../helpers/counting-fs';

const T5_DIR = join(__dirname, '../../fixtures/t5-tiny');
const T5_CKPT = join(T5_DIR, 'weights.safetensors');
const T5_CONFIG = JSON.parse(readFileSync(join(T5_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
const TOKENIZER = join(__dirname, '../../fixtures/tokenizers/t5-tiny-unigram.json');
const fixture = parseSafetensors(new Uint8Array(readFileSync(T5_CKPT)), T5_CKPT);
const fs = new NodeFileSystem();
const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odsora-t5-convert-'));
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

/** A synthetic checkpoint in the real key layout: tensors as [name, dtype, shape, float values]. */
type RawTensor = {
  name: string;
  dtype: 'F32' | 'F16' | 'BF16';
  shape: readonly number[];
  values: Float32Array;
};

function encodeRaw(tensors: readonly RawTensor[]): Uint8Array {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const t of tensors) {
    let bytes: Uint8Array;
    if (t.dtype === 'F32') bytes = new Uint8Array(t.values.slice().buffer);
    else {
      // BF16: the top half of each float32; F16 from small integers/256 (exact in half precision).
      const u = new Uint32Array(t.values.slice().buffer);
      const h = new Uint16Array(u.length);
      for (let i = 0; i < u.length; i++) {
        if (t.dtype === 'BF16') h[i] = (u[i] as number) >>> 16;
        else {
          const f = new Float32Array([t.values[i] as number]);
          const w = new Uint32Array(f.buffer)[0] as number;
          const exp = ((w >>> 23) & 0xff) - 127 + 15;
          h[i] = f[0] === 0 ? 0 : ((w >>> 16) & 0x8000) | (exp << 10) | ((w >>> 13) & 0x3ff);
        }
      }
      bytes = new Uint8Array(h.buffer);
    }
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [at, at + bytes.length] };
    parts.push(bytes);
    at += bytes.length;
  }
  const data = new Uint8Array(at);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return rawSafetensors(header, data);
}

describe('convertT5 on the t5-tiny fixture', () => {
  it('writes a text-only block set whose tensors equal the checkpoint bit for bit', async () => {
    const out = join(dir, 'set');
    const result = await convertT5({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [T5_CKPT] },
      config: T5_CONFIG,
      outDir: out,
      tokenizerPath: TOKENIZER,
    });
    expect(readdirSync(dir)).toEqual(['set']);
    expect(readdirSync(join(out, 'text')).sort()).toEqual([
      'block-00.safetensors',
      'block-01.safetensors',
      'embed.safetensors',
      'final.safetensors',
      'tokenizer.json',
    ]);
    expect(result.stage.tokenizer).toBe('text/tokenizer.json');
    expect(readFileSync(join(out, 'text', 'tokenizer.json'), 'utf8')).toBe(readFileSync(TOKENIZER, 'utf8'));
    const set = await openBlockSet(fs, nodeSha256, out);
    expect(set.manifest).toEqual(result.manifest);
    const { blocks } = textBlocks(set.manifest);
    expect(blocks.map((b) => b.id)).toEqual(['embed', 'block.0', 'block.1', 'final']);
    const seen = new Set<string>();
    for (const b of blocks) {
      const loaded = await set.loadBlock(b, { verify: true });
      expect(loaded.bytes).toBe(b.bytes);
      for (const [name, t] of loaded.weights) {
        expect(bits(weightToFloat32(t).data)).toEqual(bits(fixture.readFloat32(name).data));
        seen.add(name);
      }
    }
    expect([...seen].sort()).toEqual(
      fixture
        .names()
        .filter((n) => n !== 'encoder.embed_tokens.weight')
        .sort(),
    );
    expect(result.bytes).toBe(blocks.reduce((n, b) => n + b.bytes, 0));
  });

  it('adds the text stage to an existing block set and keeps its other stages', async () => {
    const stdit = join(__dirname, '../../fixtures/opensora-tiny');
    const cfg = (
      JSON.parse(readFileSync(join(stdit, 'manifest.json'), 'utf8')) as { config: { model: unknown } }
    ).config.model;
    const out = join(dir, 'set');
    const before = await convertStdit3({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [join(stdit, 'weights.safetensors')] },
      config: cfg,
      outDir: out,
      modelName: 'tiny',
    });
    const result = await convertT5({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [T5_CKPT] },
      config: T5_CONFIG,
      outDir: out,
    });
    const set = await openBlockSet(fs, nodeSha256, out);
    expect(set.manifest.stages.denoiser).toEqual(before.manifest.stages.denoiser);
    expect(set.manifest.model).toEqual(before.manifest.model);
    expect(set.manifest.stages.text).toEqual(result.stage);
    expect(result.stage.tokenizer).toBeNull();
    expect(readdirSync(out).sort()).toEqual(['denoiser', 'manifest.json', 'text']);
    const again = await rejection(
      convertT5({ fs, sha256: nodeSha256, checkpoint: { files: [T5_CKPT] }, config: T5_CONFIG, outDir: out }),
    );
    expect(again.message).toMatch(/already has a text stage/);
    await writeFile(join(dir, 'plain'), 'x');
    const notSet = await rejection(
      convertT5({ fs, sha256: nodeSha256, checkpoint: { files: [T5_CKPT] }, config: T5_CONFIG, outDir: dir }),
    );
    expect(notSet.message).toMatch(/not a block set/);
  });

  it('names the file and tensor of a bad shape, missing and unexpected tensors, and overlapping shards', async () => {
    const cfg = t5ConfigFromJson(T5_CONFIG);
    const tensors: RawTensor[] = fixture.names().map((name) => ({
      name,
      dtype: 'F32',
      shape: fixture.info(name).shape,
      values: fixture.readFloat32(name).data,
    }));
    const write = async (file: string, list: RawTensor[]) => {
      await writeFile(join(dir, file), encodeRaw(list));
      return join(dir, file);
    };
    const q = 'encoder.block.1.layer.0.SelfAttention.q.weight';
    const bad = await write('bad.safetensors', [
      ...tensors.filter((t) => t.name !== q && t.name !== 'encoder.final_layer_norm.weight'),
      {
        name: q,
        dtype: 'F32',
        shape: [cfg.dModel, cfg.dModel + 1],
        values: new Float32Array(cfg.dModel * (cfg.dModel + 1)),
      },
      { name: 'encoder.extra.weight', dtype: 'F32', shape: [1], values: new Float32Array(1) },
    ]);
    const e = await rejection(
      convertT5({
        fs,
        sha256: nodeSha256,
        checkpoint: { files: [bad] },
        config: T5_CONFIG,
        outDir: join(dir, 'o'),
      }),
    );
    expect(e.message).toContain(`${bad}: tensor "${q}" has shape [32, 33], expected [32, 32]`);
    expect(e.message).toContain('missing tensor "encoder.final_layer_norm.weight"');
    expect(e.message).toContain('unexpected tensor "encoder.extra.weight"');
    expect(existsSync(join(dir, 'o'))).toBe(false);
    const a = await write('a.safetensors', tensors.slice(0, 5));
    const b = await write('b.safetensors', tensors.slice(4));
    const overlap = await rejection(
      convertT5({
        fs,
        sha256: nodeSha256,
        checkpoint: { files: [a, b] },
        config: T5_CONFIG,
        outDir: join(dir, 'o'),
      }),
    );
    expect(overlap.message).toMatch(/b.safetensors: holds tensor "encoder.* which .*a.safetensors holds too/);
    const cfgErr = await rejection(
      convertT5({
        fs,
        sha256: nodeSha256,
        checkpoint: { files: [T5_CKPT] },
        config: { ...T5_CONFIG, feed_forward_proj: 'relu' },
        outDir: join(dir, 'o'),
      }),
    );
    expect(cfgErr.message).toMatch(/gated-gelu/);
  });
});

describe('convertT5 streaming a sharded F16/BF16 checkpoint', () => {
  it('reads tensor by tensor (no whole-file read), accepts the embed_tokens alias alone and skips decoder keys', async () => {
    const config = {
      ...T5_CONFIG,
      d_model: 48,
      d_kv: 12,
      num_heads: 4,
      d_ff: 96,
      num_layers: 3,
      vocab_size: 200,
    };
    const cfg = t5ConfigFromJson(config);
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 512) / 256 - 1; // exact in F16 and BF16
    const all: RawTensor[] = t5WeightNames(cfg)
      .flatMap((g) => g.keys)
      .map((k, i) => ({
        name: k.name === 'shared.weight' ? 'encoder.embed_tokens.weight' : k.name,
        dtype: i % 3 === 0 ? 'BF16' : i % 3 === 1 ? 'F16' : 'F32',
        shape: k.shape,
        values: Float32Array.from({ length: k.shape.reduce((x, y) => x * y, 1) }, rand),
      }));
    const decoder: RawTensor = {
      name: 'decoder.block.0.layer.0.SelfAttention.q.weight',
      dtype: 'F32',
      shape: [4],
      values: new Float32Array(4),
    };
    const half = Math.floor(all.length / 2);
    const shards = [all.slice(half), [...all.slice(0, half), decoder]];
    const paths: string[] = [];
    for (const [i, s] of shards.entries()) {
      const p = join(dir, `model-0000${i + 1}-of-00002.safetensors`);
      await writeFile(p, encodeRaw(s));
      paths.push(p);
    }
    const largestTensor = Math.max(...all.map((t) => t.values.length * (t.dtype === 'F32' ? 4 : 2)));
    const ckptBytes = (await readFile(paths[0]!)).byteLength + (await readFile(paths[1]!)).byteLength;

    const { fs: counting, reads, wholeFiles } = countingFs(fs);
    const out = join(dir, 'set');
    await convertT5({ fs: counting, sha256: nodeSha256, checkpoint: { files: paths }, config, outDir: out });
    expect(wholeFiles).toEqual([]);
    expect(reads.length).toBeGreaterThan(all.length);
    expect(Math.max(...reads)).toBeLessThanOrEqual(largestTensor);
    expect(largestTensor * 4).toBeLessThan(ckptBytes);

    const set = await openBlockSet(fs, nodeSha256, out);
    const byName = new Map(
      all.map((t) => [t.name === 'encoder.embed_tokens.weight' ? 'shared.weight' : t.name, t]),
    );
    for (const b of textBlocks(set.manifest).blocks)
      for (const [name, t] of (await set.loadBlock(b, { verify: true })).weights) {
        expect(Array.from(t.data)).toEqual(Array.from(byName.get(name)!.values));
        expect(t.dims).toEqual([...byName.get(name)!.shape]);
      }
  });
});

describe('convertT5 on a Hugging Face checkpoint directory', () => {
  it("never opens the shard that holds only a full checkpoint's decoder, and names an index entry whose file is missing", async () => {
    const encoder: RawTensor[] = fixture.names().map((name) => ({
      name,
      dtype: 'F32',
      shape: fixture.info(name).shape,
      values: fixture.readFloat32(name).data,
    }));
    const decoder: RawTensor[] = [
      {
        name: 'decoder.block.0.layer.0.SelfAttention.q.weight',
        dtype: 'F32',
        shape: [32, 32],
        values: new Float32Array(1024),
      },
      { name: 'lm_head.weight', dtype: 'F32', shape: [128, 32], values: new Float32Array(4096) },
    ];
    const ckpt = join(dir, 'ckpt');
    await mkdir(ckpt);
    await writeFile(join(ckpt, 'model-00001-of-00002.safetensors'), encodeRaw(encoder));
    await writeFile(join(ckpt, 'model-00002-of-00002.safetensors'), encodeRaw(decoder));
    const weightMap: Record<string, string> = {};
    for (const t of encoder) weightMap[t.name] = 'model-00001-of-00002.safetensors';
    for (const t of decoder) weightMap[t.name] = 'model-00002-of-00002.safetensors';
    const index = join(ckpt, 'model.safetensors.index.json');
    await writeFile(index, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    const opened: string[] = [];
    const spy = Object.assign(Object.create(fs) as NodeFileSystem, {
      open: (path: string) => (opened.push(path), fs.open(path)),
    });
    const out = join(dir, 'set');
    await convertT5({
      fs: spy,
      sha256: nodeSha256,
      checkpoint: { dir: ckpt },
      config: T5_CONFIG,
      outDir: out,
    });
    expect(opened.filter((p) => p.endsWith('.safetensors')).map((p) => p.slice(ckpt.length + 1))).toEqual([
      'model-00001-of-00002.safetensors',
    ]);
    expect((await openBlockSet(fs, nodeSha256, out)).manifest.stages).toHaveProperty('text');

    weightMap['encoder.final_layer_norm.weight'] = 'model-00003-of-00003.safetensors';
    await writeFile(index, JSON.stringify({ weight_map: weightMap }));
    const e = await rejection(
      convertT5({
        fs,
        sha256: nodeSha256,
        checkpoint: { dir: ckpt },
        config: T5_CONFIG,
        outDir: join(dir, 'o'),
      }),
    );
    expect(e.message).toContain(index);
    expect(e.message).toMatch(
      /encoder\.final_layer_norm\.weight.*model-00003-of-00003\.safetensors.*does not exist/,
    );
  });
});

describe('runTextStage', () => {
  let host: NodeEngineHost;
  beforeAll(async () => {
    host = await createNodeEngineHost({ placement: 'inline', threads: 1 });
  });
  afterAll(async () => {
    await host.close();
  });

  it('runs embed, blocks and final once under CI-DL with stage-qualified telemetry', async () => {
    const out = join(dir, 'set');
    await convertT5({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [T5_CKPT] },
      config: T5_CONFIG,
      outDir: out,
    });
    const blockSet = await openBlockSet(fs, nodeSha256, out);
    const L = 12;
    const ids = BigInt64Array.from({ length: L }, (_, i) => (i < 5 ? BigInt(10 + i) : i === 5 ? 1n : 0n));
    const mask = Int32Array.from({ length: L }, (_, i) => (i <= 5 ? 1 : 0));
    const events: EngineEvent[] = [];
    const ctx = {
      blockSet,
      backend: host.backend,
      clock: host.clock,
      emit: (e: EngineEvent) => events.push(e),
    };
    const r = await runTextStage(ctx, { ids, mask }, { budget: { kind: 'unlimited' } });
    expect(r.y.dims).toEqual([1, L, 32]);
    expect(Array.from(r.mask)).toEqual(Array.from(mask));
    expect(events[0]).toMatchObject({ type: 'stage.start', stage: 'text' });
    expect(events.at(-1)).toMatchObject({ type: 'stage.end', stage: 'text' });
    expect(events.find((e) => e.type === 'plan')).toMatchObject({ stage: 'text' });
    const computed = events
      .filter((e) => e.type === 'block.compute.start')
      .map((e) => (e as { block: string }).block);
    expect(computed).toEqual(['text/embed', 'text/block.0', 'text/block.1', 'text/final']);
    expect(r.loads.count).toBe(4);
    expect(events.filter((e) => e.type === 'block.release')).toHaveLength(4);

    // Sequential at the smallest budget gives the same bits.
    const largest = Math.max(...textBlocks(blockSet.manifest).blocks.map((b) => b.bytes));
    const seq = await runTextStage(
      ctx,
      { ids, mask },
      { budget: { kind: 'bytes', bytes: largest }, verify: 'off' },
    );
    expect(bits(seq.y.data)).toEqual(bits(r.y.data));
    expect(seq.peakResidentBytes).toBeLessThanOrEqual(largest);

    // Cancelled: rejects and releases everything.
    const ac = new LocalAbortController();
    ac.abort(new Error('stop'));
    await expect(
      runTextStage({ ...ctx, signal: ac.signal }, { ids, mask }, { budget: { kind: 'unlimited' } }),
    ).rejects.toThrow(/cancelled/);
    await expect(
      runTextStage(ctx, { ids, mask: mask.slice(1) }, { budget: { kind: 'unlimited' } }),
    ).rejects.toThrow(/mask has 11 values/);
  });
});
