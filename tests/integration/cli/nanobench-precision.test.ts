/**
 * nanobench `--precision` and `--compare-to` on the fixture model directory (tiny random weights, so only the
 * plumbing is meaningful): a lower-precision set is converted beside the float32 one and recorded in the report,
 * and clips are compared with another run's `--out` folder — 1 prompt × baseline × 2 steps per run.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { PSNR_CAP_DB } from '../../../shared/metrics';
import {
  formatTable,
  NANOBENCH_SUITE,
  runNanobench,
  type NanobenchOptions,
} from '../../../src-main/bench/nanobench';
import { registerNanobench } from '../../../src-main/cli/commands/nanobench';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';

const modelDir = fixtureModelDir();
const cache = mkdtempSync(join(tmpdir(), 'odsora-nanobench-precision-cache-'));
const work = mkdtempSync(join(tmpdir(), 'odsora-nanobench-precision-'));
const prevCache = process.env['ODSORA_CACHE'];
process.env['ODSORA_CACHE'] = cache;
afterAll(() => {
  if (prevCache === undefined) delete process.env['ODSORA_CACHE'];
  else process.env['ODSORA_CACHE'] = prevCache;
  for (const d of [modelDir, cache, work]) rmSync(d, { recursive: true, force: true });
});

/** One small run: 1 prompt, the baseline only, 2 steps. */
const small = (opts: NanobenchOptions) =>
  runNanobench({
    model: modelDir,
    promptCount: 1,
    settings: ['baseline'],
    steps: 2,
    threads: 1,
    warmup: false,
    ...opts,
  });

interface StageJson {
  precision?: string;
  blocks: { id: string; sha256: string; bytes: number }[];
}
const stagesOf = (blockSetDir: string): Record<string, StageJson> =>
  (
    JSON.parse(readFileSync(join(blockSetDir, 'manifest.json'), 'utf8')) as {
      stages: Record<string, StageJson>;
    }
  ).stages;
const shas = (s: StageJson | undefined): string[] => (s?.blocks ?? []).map((b) => b.sha256);

const f32Out = join(work, 'f32');
const int8Out = join(work, 't5-int8');

describe('nanobench --precision', () => {
  it('converts the text stage to int8 beside the float32 set and records the precision', async () => {
    const f32 = await small({ out: f32Out });
    const int8 = await small({ out: int8Out, precision: { text: 'int8' } });

    expect(f32.precision).toEqual({ text: 'f32', denoiser: 'f32', decode: 'f32' });
    expect(int8.precision).toEqual({ text: 'int8', denoiser: 'f32', decode: 'f32' });
    // One cache entry per precision: float32 keeps the bare model hash, int8 adds the precision to it.
    expect(basename(f32.model.dir)).toBe(f32.model.sourceSha256);
    expect(basename(int8.model.dir)).toBe(`${f32.model.sourceSha256}-text-int8-denoiser-f32-decode-f32`);
    const [a, b] = [stagesOf(f32.model.dir), stagesOf(int8.model.dir)];
    expect(b['text']?.precision).toBe('int8');
    expect(a['text']?.precision ?? 'f32').toBe('f32');
    // Every encoder block's matrices are stored as int8 (smaller, other bytes); the final norm gain stays float32.
    const blocks = (s: StageJson | undefined) => (s?.blocks ?? []).filter((x) => x.id.startsWith('block.'));
    expect(blocks(b['text']).length).toBeGreaterThan(0);
    for (const [i, blk] of blocks(b['text']).entries()) {
      expect(blk.sha256).not.toBe(blocks(a['text'])[i]!.sha256);
      expect(blk.bytes).toBeLessThan(blocks(a['text'])[i]!.bytes / 2);
    }
    expect(shas(b['denoiser'])).toEqual(shas(a['denoiser']));
    expect(shas(b['decode'])).toEqual(shas(a['decode']));

    const onDisk = JSON.parse(readFileSync(join(int8Out, 'nanobench.json'), 'utf8')) as typeof int8;
    expect(onDisk.precision).toEqual(int8.precision);
    expect(formatTable(int8)).toMatch(/weights t5=int8,stdit=f32,vae=f32/);
  });

  it('refuses a precision a given block set was not converted at', async () => {
    const f32 = JSON.parse(readFileSync(join(f32Out, 'nanobench.json'), 'utf8')) as {
      model: { dir: string };
    };
    await expect(small({ model: f32.model.dir, precision: { text: 'int8' } })).rejects.toThrow(
      /stored as text=f32,denoiser=f32,decode=f32; the precision asked for text=int8 needs a model directory/,
    );
  });

  it('rejects a malformed --precision on the command line', async () => {
    const program = new Command().exitOverride();
    let err = '';
    registerNanobench(program);
    program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: (s) => void (err += s) }));
    await program
      .parseAsync(['node', 'odsora', 'nanobench', '--precision', 't5=int9'])
      .catch(() => undefined);
    expect(err).toMatch(/unknown precision 'int9'/);
  });
});

describe('nanobench --compare-to', () => {
  it('compares a run with itself as identical (99 dB, SSIM 1), even when it writes into the compared folder', async () => {
    const again = await small({ out: f32Out, compareTo: f32Out });
    expect(again.clips[0]!.vsCompare).toEqual({ psnr: PSNR_CAP_DB, ssim: 1 });
    expect(again.compareTo?.summary).toEqual([
      {
        setting: 'baseline',
        clips: 1,
        psnrMedian: PSNR_CAP_DB,
        psnrMin: PSNR_CAP_DB,
        ssimMedian: 1,
        ssimMin: 1,
      },
    ]);
    expect(again.compareTo?.precision).toEqual({ text: 'f32', denoiser: 'f32', decode: 'f32' });
    expect(formatTable(again)).toMatch(/vs .*\n.*PSNR med[\s\S]*baseline\s+1\s+99\.00\s+99\.00\s+1\.0000/);
  });

  it('gives a finite PSNR against the float32 run for a t5=int8 run', async () => {
    const r = await small({ precision: { text: 'int8' }, compareTo: f32Out });
    const row = r.compareTo!.summary[0]!;
    expect(row.clips).toBe(1);
    expect(Number.isFinite(row.psnrMin)).toBe(true);
    expect(row.psnrMin).toBeLessThan(PSNR_CAP_DB);
    expect(row.ssimMin).toBeGreaterThan(0);
    expect(row.ssimMin).toBeLessThanOrEqual(1);
  });

  it('names what is wrong with a folder it cannot compare against, before generating anything', async () => {
    const copy = (name: string): string => {
      const d = join(work, name);
      cpSync(f32Out, d, { recursive: true });
      return d;
    };
    await expect(small({ compareTo: join(work, 'nope') })).rejects.toThrow(
      /--compare-to .*nope: no such directory/,
    );
    await expect(small({ compareTo: work })).rejects.toThrow(
      /--compare-to .*: not a nanobench --out folder \(.*nanobench\.json: cannot read/,
    );
    await expect(small({ compareTo: f32Out, prompts: [NANOBENCH_SUITE[1]!] })).rejects.toThrow(
      /a different prompt list: prompt 0 is 'a green square moving right on a black background' here but 'a red circle/,
    );
    await expect(small({ compareTo: f32Out, settings: ['lpl16'] })).rejects.toThrow(
      /missing clip: .*nanobench\.json has no lpl16 clip of prompt 0 seed 42/,
    );
    await expect(small({ compareTo: f32Out, steps: 3 })).rejects.toThrow(
      /sampled in 2 steps, this run uses 3/,
    );
    const noFrames = copy('no-frames');
    rmSync(join(noFrames, 'baseline', 'p0-s42', 'frames'), { recursive: true });
    await expect(small({ compareTo: noFrames })).rejects.toThrow(
      /missing clip: .*no-frames\/baseline\/p0-s42\/frames does not exist/,
    );
    const other = copy('other-model');
    const json = JSON.parse(readFileSync(join(other, 'nanobench.json'), 'utf8')) as {
      model: { name: string; sourceSha256: string };
    };
    json.model = { ...json.model, name: 'another-model', sourceSha256: 'f'.repeat(64) };
    writeFileSync(join(other, 'nanobench.json'), JSON.stringify(json));
    await expect(small({ compareTo: other })).rejects.toThrow(
      /a different model: its clips are of 'another-model' \(model files ffffffffffff\), this run's model is/,
    );
    expect(existsSync(join(other, 'baseline', 'p0-s42', 'frames'))).toBe(true);
  });
});
