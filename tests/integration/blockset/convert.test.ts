import { weightToFloat32 } from '../../../shared/engine/blockset/precision';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { registerConvert } from '../../../src-main/cli/commands/convert';
import { convertStdit3 } from '../../../shared/engine/stdit3/convert';
import { BlockSetError } from '../../../shared/engine/blockset/errors';
import { openBlockSet } from '../../../shared/engine/blockset/load';
import type { FileSystemPort } from '../../../shared/engine/ports';
import { parseSafetensors } from '../../../shared/engine/safetensors/reader';
import { encodeSafetensors } from '../../../shared/engine/safetensors/writer';
import { floatTensor } from '../../../shared/engine/tensor';
import { stdit3ConfigFromJson, stdit3WeightNames } from '../../../shared/engine/stdit3/config';
import { floatToHalfBits, halfValue, rawSafetensors } from '../../unit/shared/engine/safetensors/raw-file';
import { countingFs } from '../../helpers/counting-fs';

const FIXTURE = join(__dirname, '../../fixtures/opensora-tiny');
const CKPT = join(FIXTURE, 'weights.safetensors');
const CONFIG = (
  JSON.parse(readFileSync(join(FIXTURE, 'manifest.json'), 'utf8')) as {
    config: { model: Record<string, unknown> };
  }
).config.model;
const fixture = parseSafetensors(new Uint8Array(readFileSync(CKPT)), CKPT);
const fs = new NodeFileSystem();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odsora-convert-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const convert = (
  checkpointPath: string,
  outDir = join(dir, 'set'),
  config: unknown = CONFIG,
  fsPort: FileSystemPort = fs,
) =>
  convertStdit3({
    fs: fsPort,
    sha256: nodeSha256,
    checkpoint: { files: [checkpointPath] },
    config,
    outDir,
    modelName: 'tiny',
  });

/** Rewrites the fixture with some tensors changed (value null = dropped), as raw header entries + bytes. */
async function variantCheckpoint(
  edit: (name: string) => { dtype: string; shape: number[]; bytes: Uint8Array } | null | undefined,
): Promise<string> {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const name of fixture.names()) {
    const info = fixture.info(name);
    const e = edit(name);
    if (e === null) continue;
    const t = e ?? { dtype: info.dtype, shape: [...info.shape], bytes: fixture.readBytes(name) };
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    parts.push(t.bytes);
    at += t.bytes.length;
  }
  const data = new Uint8Array(at);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  const path = join(dir, 'variant.safetensors');
  await writeFile(path, rawSafetensors(header, data));
  return path;
}

async function rejection(p: Promise<unknown>): Promise<BlockSetError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BlockSetError);
  return e as BlockSetError;
}

const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

describe('converting the tiny STDiT3 checkpoint', () => {
  it('writes a block set whose tensors equal the checkpoint bit for bit', async () => {
    const result = await convert(CKPT);
    expect(readdirSync(dir)).toEqual(['set']); // the temp dir was renamed into place
    expect(readdirSync(join(dir, 'set', 'denoiser')).sort()).toEqual([
      'pair-00.safetensors',
      'pair-01.safetensors',
      'part1.safetensors',
      'part2.safetensors',
    ]);
    const set = await openBlockSet(fs, nodeSha256, join(dir, 'set'));
    expect(set.manifest).toEqual(result.manifest);
    const blocks = set.denoiserBlocks();
    expect(blocks.map((b) => b.id)).toEqual(['part1', 'pair.0', 'pair.1', 'part2']);
    expect(blocks[1]!.variants).toEqual(['plain', 'tdtm']);
    expect(blocks[1]!.flops.tdtm).toBeLessThan(blocks[1]!.flops.plain);
    const seen = new Set<string>();
    for (const b of blocks) {
      const loaded = await set.loadBlock(b, { verify: true });
      expect(loaded.bytes).toBe(b.bytes);
      for (const [name, t] of loaded.weights) {
        const want = fixture.readFloat32(name);
        expect(t.dims).toEqual(want.dims);
        expect(bits(weightToFloat32(t).data)).toEqual(bits(want.data));
        seen.add(name);
      }
    }
    expect([...seen].sort()).toEqual(fixture.names().sort());
    expect(result.bytes).toBe(blocks.reduce((n, b) => n + b.bytes, 0));
  });

  it('converts an F16 checkpoint to the exact float32 values of its halves', async () => {
    const halves = new Map<string, number[]>();
    const path = await variantCheckpoint((name) => {
      const h = [...fixture.readFloat32(name).data].map(floatToHalfBits);
      halves.set(name, h);
      const bytes = new Uint8Array(h.length * 2);
      h.forEach((w, i) => new DataView(bytes.buffer).setUint16(2 * i, w, true));
      return { dtype: 'F16', shape: [...fixture.info(name).shape], bytes };
    });
    await convert(path);
    const set = await openBlockSet(fs, nodeSha256, join(dir, 'set'));
    const pair = await set.loadBlock(set.block('pair.1'), { verify: true });
    const name = 'temporal_blocks.1.mlp.fc1.weight';
    expect([...pair.weights.get(name)!.data]).toEqual(
      halves.get(name)!.map((h) => Math.fround(halfValue(h))),
    );
  });

  it('computes rope.freqs when the checkpoint lacks it', async () => {
    const path = await variantCheckpoint((name) => (name === 'rope.freqs' ? null : undefined));
    await convert(path);
    const set = await openBlockSet(fs, nodeSha256, join(dir, 'set'));
    const part1 = await set.loadBlock(set.block('part1'), { verify: false });
    expect(bits(weightToFloat32(part1.weights.get('rope.freqs')!).data)).toEqual(
      bits(fixture.readFloat32('rope.freqs').data),
    );
  });

  it('rejects a checkpoint with a missing key, a wrong shape, a wrong dtype or an unexpected key, naming each', async () => {
    const qkv = 'spatial_blocks.0.attn.qkv.weight';
    const path = await variantCheckpoint((name) => {
      if (name === 't_block.1.bias') return null;
      if (name === qkv) return { dtype: 'F32', shape: [64, 192], bytes: fixture.readBytes(name) };
      if (name === 'final_layer.linear.bias')
        return { dtype: 'I64', shape: [32], bytes: new Uint8Array(256) };
      return undefined;
    });
    const e = await rejection(convert(path));
    expect(e.file).toBe(path);
    expect(e.message).toContain(`${path}: checkpoint does not match the STDiT3 config (3 problems)`);
    expect(e.message).toContain('missing tensor "t_block.1.bias"');
    expect(e.message).toContain(`tensor "${qkv}" has shape [64, 192], expected [192, 64]`);
    expect(e.message).toContain('tensor "final_layer.linear.bias" has dtype I64, expected F32, F16 or BF16');
    expect(readdirSync(dir)).toEqual(['variant.safetensors']); // nothing half-written is left behind

    const extra = join(dir, 'extra.safetensors');
    const withPos = encodeSafetensors([
      ...fixture.names().map((n) => ({ name: n, tensor: fixture.readFloat32(n) })),
      { name: 'pos_embed', tensor: floatTensor([1, 4]) },
    ]);
    await writeFile(extra, withPos);
    expect((await rejection(convert(extra))).message).toContain('unexpected tensor "pos_embed"');
    await convertStdit3({
      fs,
      sha256: nodeSha256,
      checkpoint: { files: [extra] },
      config: CONFIG,
      outDir: join(dir, 'set'),
      modelName: 'tiny',
      ignoreKeys: ['pos_embed'],
    });
  });

  it('refuses to overwrite an existing directory and rejects a bad config', async () => {
    await convert(CKPT);
    expect((await rejection(convert(CKPT))).message).toContain('output directory already exists');
    const { depth: _depth, ...noDepth } = CONFIG;
    expect((await rejection(convert(CKPT, join(dir, 'other'), noDepth))).message).toBe(
      "config: STDiT3 config: missing key 'depth'",
    );
  });

  it('reads the checkpoint tensor by tensor, never the whole file', async () => {
    const cfgJson = {
      ...CONFIG,
      depth: 4,
      hidden_size: 256,
      num_heads: 4,
      caption_channels: 64,
      model_max_length: 16,
    };
    const cfg = stdit3ConfigFromJson(cfgJson);
    let seed = 1;
    const tensors = stdit3WeightNames(cfg).flatMap((g) =>
      g.keys.map((k) => {
        const t = floatTensor(k.shape);
        for (let i = 0; i < t.data.length; i++)
          t.data[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
        return { name: k.name, tensor: t };
      }),
    );
    const ckpt = join(dir, 'mid.safetensors');
    await writeFile(ckpt, encodeSafetensors(tensors));
    const largestTensor = Math.max(...tensors.map((t) => t.tensor.data.byteLength));
    const ckptBytes = (await readFile(ckpt)).byteLength;

    const { fs: counting, reads, wholeFiles } = countingFs(fs);
    await convert(ckpt, join(dir, 'set'), cfgJson, counting);
    expect(wholeFiles).toEqual([]);
    expect(reads.length).toBeGreaterThan(tensors.length);
    expect(Math.max(...reads)).toBeLessThanOrEqual(largestTensor);
    expect(largestTensor * 4).toBeLessThan(ckptBytes);
  });
});

describe('opening and loading a block set', () => {
  beforeEach(async () => {
    await convert(CKPT);
  });

  it('reports a corrupt block with its id, file, expected and actual hash', async () => {
    const set = await openBlockSet(fs, nodeSha256, join(dir, 'set'));
    const block = set.block('pair.0');
    const file = join(dir, 'set', 'denoiser', 'pair-00.safetensors');
    const bytes = await readFile(file);
    bytes[bytes.length - 3]! ^= 0x01;
    await writeFile(file, bytes);
    const e = await rejection(set.loadBlock(block, { verify: true }));
    const actual = await nodeSha256(new Uint8Array(bytes));
    expect(e.message).toBe(
      `${file}: block "pair.0" is corrupt: sha256 ${actual}, the manifest expects ${block.sha256}`,
    );
    expect(e.block).toBe('pair.0');
    // Without verification the flipped bit goes unnoticed: that is what `verify` is for.
    await set.loadBlock(block, { verify: false });
  });

  it('reports a truncated block file with its size and the manifest size', async () => {
    const file = join(dir, 'set', 'denoiser', 'part2.safetensors');
    await truncate(file, 100);
    const e = await rejection(openBlockSet(fs, nodeSha256, join(dir, 'set')));
    expect(e.message).toMatch(/part2\.safetensors: block "part2" file has 100 bytes, the manifest says \d+$/);
  });

  it('reports a missing manifest and an unsupported manifest version', async () => {
    const manifestPath = join(dir, 'set', 'manifest.json');
    const m = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
    await writeFile(manifestPath, JSON.stringify({ ...m, version: 99 }));
    expect((await rejection(openBlockSet(fs, nodeSha256, join(dir, 'set')))).message).toBe(
      `${manifestPath}: block-set version 99 is not supported (this build reads version 1); convert the checkpoint again with this build`,
    );
    expect((await rejection(openBlockSet(fs, nodeSha256, dir))).message).toContain(
      'manifest.json: not found',
    );
  });
});

describe('odsora convert', () => {
  it('converts from the command line and prints a JSON summary', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const program = new Command().exitOverride();
      registerConvert(program);
      const out = join(dir, 'cli-set');
      await program.parseAsync(
        ['convert', '--checkpoint', CKPT, '--config', join(FIXTURE, 'manifest.json'), '--out', out, '--json'],
        { from: 'user' },
      );
      const summary = JSON.parse(String(log.mock.calls[0]![0])) as { blocks: number; bytes: number };
      expect(summary.blocks).toBe(4);
      const set = await openBlockSet(fs, nodeSha256, out);
      expect(set.manifest.model.name).toBe('opensora-tiny');
    } finally {
      log.mockRestore();
    }
  });
});
