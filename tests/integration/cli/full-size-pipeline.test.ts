// The released Open-Sora v1.2 layouts end to end at real widths and cut depth (`opensora-v1.2-depth1`: T5-XXL's
// 4096-wide layer and 526 MB embedding, one STDiT3-XL pair, the VAE with one res block per level), through the BUILT
// command line: synth-checkpoint → convert (PyTorch .bin shards + spiece.model, T5 stored int8) → generate under a
// 3.3 GB process limit; an impossible limit refused up front; a conversion killed midway leaving nothing that loads.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { synthTensors } from '../../../src-main/synth/synth-checkpoint';
import { startCompanion, stopCompanion } from '../../helpers/companion-process';
import { CLI_PATH, ensureCliBuilt, REPO_ROOT, runOdsora, type OdsoraResult } from '../../helpers/odsora-cli';
import { orDeath, record } from '../companion/run-helpers';

const work = mkdtempSync(join(tmpdir(), 'odsora-full-size-'));
const LIMIT = 3_300_000_000;

function odsora(args: string[], timeout = 240_000): OdsoraResult {
  return runOdsora(args, {}, timeout);
}

beforeAll(() => ensureCliBuilt());
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('opensora-v1.2-depth1: synthetic released layouts → convert → generate in 3.3 GB', () => {
  const model = join(work, 'model');
  const set = join(work, 'set');

  it('synth-checkpoint writes every released file, key name and shape, and says the weights are random', () => {
    const r = odsora([
      'synth-checkpoint',
      '--preset',
      'opensora-v1.2-depth1',
      '--dtype',
      'bf16',
      '--t5-format',
      'bin',
      '--out',
      model,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/RANDOM weights/);
    const te = join(model, 'text_encoder');
    expect(readdirSync(te).sort()).toEqual([
      'config.json',
      'pytorch_model-00001-of-00002.bin',
      'pytorch_model-00002-of-00002.bin',
      'pytorch_model.bin.index.json',
      'spiece.model',
    ]);
    const index = JSON.parse(readFileSync(join(te, 'pytorch_model.bin.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    const expected = synthTensors('opensora-v1.2-depth1');
    expect(Object.keys(index.weight_map).sort()).toEqual(expected.t5.map((t) => t.name).sort());
    expect(readFileSync(join(te, 'pytorch_model-00001-of-00002.bin')).subarray(0, 2).toString()).toBe('PK');
    const header = (file: string): Record<string, { shape: number[]; dtype: string }> => {
      const buf = readFileSync(file);
      const n = Number(buf.readBigUInt64LE(0));
      const json = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
      delete json['__metadata__'];
      return json as Record<string, { shape: number[]; dtype: string }>;
    };
    for (const [dir, list] of [
      ['stdit', expected.stdit],
      ['vae', expected.vae],
    ] as const) {
      const h = header(join(model, dir, 'model.safetensors'));
      expect(Object.keys(h).length).toBe(list.length);
      for (const t of list) {
        expect(h[t.name]?.shape, `${dir} ${t.name}`).toEqual([...t.shape]);
        expect(h[t.name]?.dtype).toBe('BF16');
      }
    }
    // The VAE file holds the encoders too, as the released one does.
    expect(expected.vae.some((t) => t.name.startsWith('temporal_vae.encoder.'))).toBe(true);
  });

  it('convert reads the .bin shards and spiece.model, stores T5 in int8, in bounded memory', () => {
    const r = odsora(['convert', '--model-dir', model, '--out', set, '--precision', 't5=int8', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { precision: Record<string, string>; peakRssBytes: number };
    expect(out.precision).toEqual({ text: 'int8', denoiser: 'f32', decode: 'f32' });
    // The source is 1.1 GB; one block (the 772 MB f32 layer, here 193 MB in int8) and its float32 source are held.
    expect(out.peakRssBytes).toBeLessThan(1.5e9);
    const manifest = JSON.parse(readFileSync(join(set, 'manifest.json'), 'utf8')) as {
      stages: Record<string, { precision: string; tokenizer?: string }>;
    };
    expect(manifest.stages['text']).toMatchObject({ precision: 'int8', tokenizer: 'text/spiece.model' });
    expect(existsSync(join(set, 'text', 'spiece.model'))).toBe(true);
  });

  it('generate runs T5, STDiT3 and the VAE inside a 3.3 GB process limit and records each stage’s peak', () => {
    const out = join(work, 'video');
    const r = odsora([
      'generate',
      '--model',
      set,
      '--prompt',
      'a red ball bouncing on a sandy beach',
      '--seed',
      '1',
      '--frames',
      '17',
      '--height',
      '64',
      '--width',
      '64',
      '--steps',
      '2',
      '--memory-limit',
      '3.3GB',
      '--json',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const { generate: run } = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      generate: {
        memory: {
          limitBytes: number;
          processPeakBytes: number;
          stages: { stage: string; predictedPeakBytes: number; measuredPeakBytes: number }[];
        };
        outputs: { frameCount: number };
      };
    };
    expect(run.outputs.frameCount).toBe(17);
    expect(run.memory.limitBytes).toBe(LIMIT);
    expect(run.memory.processPeakBytes).toBeGreaterThan(0);
    expect(run.memory.processPeakBytes).toBeLessThanOrEqual(LIMIT);
    expect(run.memory.stages.map((s) => s.stage)).toEqual(['text', 'denoise', 'decode']);
    for (const s of run.memory.stages) {
      expect(s.measuredPeakBytes, s.stage).toBeLessThanOrEqual(LIMIT);
      // The memory model (docs/memory.md) predicts each stage's peak within 10 % at full size; at cut depth, 15 %.
      expect(
        Math.abs(s.predictedPeakBytes - s.measuredPeakBytes) / s.measuredPeakBytes,
        s.stage,
      ).toBeLessThan(0.15);
    }
  });

  it('a companion serves it under the same process limit, block events and all', async () => {
    const proc = await startCompanion({
      modelDir: set,
      extraArgs: ['--memory-limit', '3.3GB'],
      name: 'full width',
    });
    const client = new CompanionClient({
      keyStore: new MemoryKeyStore(),
      clientName: 'vitest',
      requestTimeoutMs: 60_000,
    });
    try {
      await client.connect('127.0.0.1', proc.port);
      await client.pair((proc.ready.pairingCode ?? proc.latestPairingCode()) as string);
      expect(client.device?.memory.limitBytes).toBe(LIMIT);
      expect(proc.stderr()).toMatch(/memory limit for the whole process/);
      const { runId } = await client.startRun(
        { prompt: 'a red ball', seed: 3, steps: 2, numFrames: 17, heightPx: 64, widthPx: 64 },
        { label: 'full width' },
      );
      const rec = await record(client, runId, 1);
      const done = await orDeath(rec.sub.done, proc);
      expect(done.event.type, proc.stderr().slice(-2000)).toBe('run.finished');
      const loads = rec.events.filter((e) => e.event.type === 'block.load.start').map((e) => e.event);
      // The residency lanes' data: every stage's blocks loaded under the budget the limit left.
      for (const stage of ['text/', 'denoiser/', 'decode/'])
        expect(
          loads.some((e) => 'block' in e && e.block.startsWith(stage)),
          stage,
        ).toBe(true);
      for (const e of loads)
        if (e.type === 'block.load.start' && e.budgetBytes !== null)
          expect(e.residentBytes).toBeLessThanOrEqual(e.budgetBytes);
    } finally {
      await client.close().catch(() => undefined);
      await stopCompanion(proc, { keepModels: true }); // the block set is this file's, removed with `work`
    }
  });

  it('refuses up front a job that cannot fit, naming the stage and the shortfall', () => {
    const out = join(work, 'refused');
    const started = Date.now();
    const r = odsora([
      'generate',
      '--model',
      set,
      '--prompt',
      'a red ball',
      '--seed',
      '1',
      '--frames',
      '17',
      '--height',
      '64',
      '--width',
      '64',
      '--memory-limit',
      '400MB',
      '--out',
      out,
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/the text stage has .* for blocks .* its largest block is .*: short by/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(existsSync(join(out, 'run.json'))).toBe(false);
  });
});

describe('an interrupted conversion', () => {
  it('leaves nothing that loads, and the next conversion removes it and succeeds', async () => {
    const model = join(work, 'model-st');
    const s = odsora([
      'synth-checkpoint',
      '--preset',
      'opensora-v1.2-depth1',
      '--dtype',
      'f16',
      '--t5-format',
      'safetensors',
      '--out',
      model,
    ]);
    expect(s.status, s.stderr).toBe(0);
    expect(readdirSync(join(model, 'text_encoder'))).toContain('model.safetensors.index.json');
    const out = join(work, 'killed-set');
    const child = spawn(process.execPath, [CLI_PATH, 'convert', '--model-dir', model, '--out', out], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Kill it once the denoiser is in and the text stage is being written.
        if (stderr.includes('text: converting')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    await new Promise((r) => child.on('close', r));
    expect(stderr).toContain('text: converting');
    expect(existsSync(out)).toBe(false);
    const partial = readdirSync(work).find((n) => n.startsWith('killed-set.partial-'));
    expect(partial).toBeDefined();
    const g = odsora([
      'generate',
      '--model',
      join(work, partial!, 'set'),
      '--prompt',
      'x',
      '--seed',
      '1',
      '--out',
      join(work, 'x'),
    ]);
    expect(g.status).not.toBe(0);
    expect(g.stderr).toMatch(/did not finish|not a block set|not a model directory/);
    const again = odsora(['convert', '--model-dir', model, '--out', out, '--precision', 'stdit=f16']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(
      /removed .*killed-set\.partial-\d+ \(left by a conversion that was killed\)/,
    );
    expect(readdirSync(work).some((n) => n.startsWith('killed-set.partial-'))).toBe(false);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
  });
});
