/**
 * nanobench end to end on the fixture model directory (tiny random weights: the clips are noise, so the scores are
 * meaningless; this checks the structure, the same-z0 baseline and the timings) — 1 prompt × 2 settings × 3 steps.
 */
import { rmSync } from 'node:fs';
import { mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import {
  NANO_BACKGROUND_NAMES,
  NANO_COLOUR_NAMES,
  NANO_MOTIONS,
  NANO_SHAPES,
  parsePrompt,
  PSNR_CAP_DB,
} from '../../../shared/metrics';
import { registerNanobench } from '../../../src-main/cli/commands/nanobench';
import { formatTable, NANOBENCH_SUITE, runNanobench } from '../../../src-main/bench/nanobench';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';

const modelDir = fixtureModelDir();
const cache = mkdtempSync(join(tmpdir(), 'odsora-nanobench-cache-'));
const out = mkdtempSync(join(tmpdir(), 'odsora-nanobench-out-'));
const prevCache = process.env['ODSORA_CACHE'];
process.env['ODSORA_CACHE'] = cache;
afterAll(() => {
  if (prevCache === undefined) delete process.env['ODSORA_CACHE'];
  else process.env['ODSORA_CACHE'] = prevCache;
  for (const d of [modelDir, cache, out]) rmSync(d, { recursive: true, force: true });
});

describe('nanobench suite and flags', () => {
  it('the suite covers every colour, shape, motion and background', () => {
    const parsed = NANOBENCH_SUITE.map((p) => parsePrompt(p));
    expect(parsed).toHaveLength(24);
    for (const c of NANO_COLOUR_NAMES)
      expect(
        parsed.some((p) => p.colour === c),
        c,
      ).toBe(true);
    for (const s of NANO_SHAPES)
      expect(
        parsed.some((p) => p.shape === s),
        s,
      ).toBe(true);
    for (const m of NANO_MOTIONS)
      expect(
        parsed.some((p) => p.motion === m),
        m,
      ).toBe(true);
    for (const b of NANO_BACKGROUND_NAMES)
      expect(
        parsed.some((p) => p.background === b),
        b,
      ).toBe(true);
  });
  it('the command rejects bad --prompt, --prompts and --settings values', async () => {
    const run = async (args: string[]): Promise<string> => {
      const program = new Command().exitOverride();
      let err = '';
      program.configureOutput({ writeErr: (s) => void (err += s) });
      registerNanobench(program);
      program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: (s) => void (err += s) }));
      await program.parseAsync(['node', 'odsora', 'nanobench', ...args]).catch(() => undefined);
      return err;
    };
    expect(await run(['--prompt', 'a red hexagon growing on a black background'])).toMatch(
      /unknown shape 'hexagon'/,
    );
    expect(await run(['--prompts', '25'])).toMatch(/the suite has 24 prompts/);
    expect(await run(['--settings', 'baseline,turbo'])).toMatch(/unknown setting 'turbo'/);
  });
});

describe('nanobench on the fixture model', () => {
  it('runs 1 prompt × (baseline, lpl16) × 3 steps with the same z0 and reports every clip', async () => {
    const report = await runNanobench({
      model: modelDir,
      promptCount: 1,
      settings: ['lpl16'],
      steps: 3,
      threads: 1,
      warmup: false,
      out,
    });
    expect(report.format).toBe('odsora-nanobench');
    expect(report.prompts).toEqual([NANOBENCH_SUITE[0]]);
    expect(report.settings.map((s) => s.name)).toEqual(['baseline', 'lpl16']);
    expect(report.settings[1]!.lpl).toEqual({ mode: 'fixed', leapStep: 1 });
    expect(report.model.isNano).toBe(false);
    expect(report.notes.join(' ')).toMatch(/not Open-Sora Nano/);
    expect(report.clips).toHaveLength(2);
    const [base, lpl] = report.clips;
    expect(base!.setting).toBe('baseline');
    expect(base!.vsBaseline).toEqual({ psnr: PSNR_CAP_DB, ssim: 1 });
    expect(lpl!.leapStep).toBe(1);
    expect(lpl!.modelCalls).toBeLessThan(base!.modelCalls);
    for (const c of report.clips) {
      expect(c.wallMs).toBeGreaterThan(0);
      expect(c.timings.totalMs).toBeGreaterThan(0);
      expect(c.timings.denoiseMs).toBeGreaterThan(0);
      for (const k of ['colour', 'shape', 'motion', 'background'] as const) {
        expect([0, 1]).toContain(c.adherence[k].score);
        expect(typeof c.adherence[k].predicted).toBe('string');
      }
      expect(c.flicker.score).toBeGreaterThanOrEqual(0);
      expect(c.flicker.score).toBeLessThanOrEqual(1);
      expect(c.subjectConsistency).toBeGreaterThanOrEqual(0);
      expect(c.frames.count).toBeGreaterThan(1);
    }
    expect(lpl!.vsBaseline.psnr).toBeLessThanOrEqual(PSNR_CAP_DB);
    expect(report.summary.map((r) => r.setting)).toEqual(['baseline', 'lpl16']);
    expect(report.summary[0]!.wallRatio).toBe(1);
    expect(Number.isFinite(report.summary[1]!.wallRatio)).toBe(true);
    const table = formatTable(report);
    expect(table).toMatch(/baseline/);
    expect(table).toMatch(/99\.00/);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(existsSync(join(out, 'nanobench.json'))).toBe(true);
    expect(readdirSync(join(out, 'lpl16', 'p0-s42')).length).toBeGreaterThan(0);
  });

  it('rejects a prompt outside the vocabulary and an unknown setting before doing any work', async () => {
    await expect(
      runNanobench({ model: modelDir, prompts: ['a orange circle growing on a black background'] }),
    ).rejects.toThrow(/unknown colour 'orange'/);
    await expect(runNanobench({ model: modelDir, settings: ['fast'] })).rejects.toThrow(
      /unknown setting 'fast'/,
    );
  });

  it('says clearly when the bundled Nano model is missing', async () => {
    if (existsSync(join(__dirname, '..', '..', '..', 'models', 'opensora-nano'))) return; // the bundle exists
    await expect(runNanobench({ promptCount: 1, steps: 1 })).rejects.toThrow(
      /nanobench needs Open-Sora Nano.*missing/,
    );
  });
});
