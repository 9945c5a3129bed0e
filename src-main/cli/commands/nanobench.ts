/**
 * `odsora nanobench`: the On-device Sora settings on Open-Sora Nano, scored with shared/metrics (prompt adherence,
 * subject consistency, flicker, dynamic degree, PSNR / SSIM against the same-noise baseline) and timed.
 */
import { parseGraphTarget, type GraphTarget } from '../../../shared/engine/onnx/graph-target';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Precision } from '../../../shared/engine/blockset/precision';
import { parsePrompt } from '../../../shared/metrics';
import {
  formatTable,
  NANOBENCH_SETTINGS,
  NANOBENCH_SUITE,
  resolveSettings,
  runNanobench,
} from '../../bench/nanobench';
import type { StageName } from '../../convert/model-dir';
import { finite, posInt } from '../arg-parsers';
import { parsePrecisionFlag } from './convert';
import { examples } from '../help';

/** `--prompts N|all` → a count of suite prompts. */
function parsePromptCount(v: string): number {
  if (v.trim().toLowerCase() === 'all') return NANOBENCH_SUITE.length;
  const n = posInt('--prompts')(v);
  if (n > NANOBENCH_SUITE.length)
    throw new InvalidArgumentError(`--prompts: the suite has ${NANOBENCH_SUITE.length} prompts, got ${n}`);
  return n;
}

/** `--settings a,b,…` → validated setting names. */
function parseSettingsList(v: string): string[] {
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new InvalidArgumentError('--settings: empty list');
  try {
    resolveSettings(names);
  } catch (e) {
    throw new InvalidArgumentError(`--settings: ${(e as Error).message}`);
  }
  return names;
}

/** `--prompt "…"` (repeatable) → prompts checked against the Nano vocabulary. */
function collectPrompt(v: string, prev: string[] = []): string[] {
  try {
    parsePrompt(v);
  } catch (e) {
    throw new InvalidArgumentError(`--prompt: ${(e as Error).message}`);
  }
  return [...prev, v.trim()];
}

interface NanobenchFlags {
  json?: boolean;
  model?: string;
  prompts: number;
  prompt?: string[];
  seeds: number;
  settings?: string[];
  steps: number;
  cfg?: number;
  out?: string;
  warmup: boolean;
  threads?: number;
  precision?: Partial<Record<StageName, Precision>>;
  compareTo?: string;
  graphTarget?: GraphTarget;
}

/** Registers `odsora nanobench`. */
export function registerNanobench(program: Command): void {
  program
    .command('nanobench')
    .description(
      'Score the LPL / TDTM / CI-DL settings on Open-Sora Nano: prompt adherence (colour, shape, motion, background), subject consistency, flicker, dynamic degree, PSNR/SSIM vs the same-noise baseline, wall time',
    )
    .option('--json', 'print one JSON object with every per-clip record (progress goes nowhere)')
    .option(
      '--model <dir>',
      'a model directory or converted block set (default: the bundled models/opensora-nano)',
    )
    .option(
      '--prompts <n|all>',
      `how many suite prompts (1-${NANOBENCH_SUITE.length} or all)`,
      parsePromptCount,
      NANOBENCH_SUITE.length,
    )
    .option(
      '--prompt <text>',
      'score this prompt instead of the suite (repeatable; Nano vocabulary)',
      collectPrompt,
    )
    .option('--seeds <k>', 'seeds per prompt (42, 43, …)', posInt('--seeds'), 1)
    .option(
      '--settings <list>',
      `comma-separated settings (the baseline always runs): ${NANOBENCH_SETTINGS.map((s) => s.name).join(', ')}`,
      parseSettingsList,
    )
    .option(
      '--steps <n>',
      'sampling steps K (the settings scale: LPL / TDTM at ⌊K/2⌋)',
      posInt('--steps'),
      30,
    )
    .option('--cfg <scale>', "CFG scale (default: the model's)", finite('--cfg'))
    .option(
      '--out <dir>',
      'write nanobench.json and every clip (frames, APNG, GIF) under DIR/<setting>/p<i>-s<seed>/',
    )
    .option('--no-warmup', 'skip the untimed warm-up generation per setting')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)', posInt('--threads'))
    .option(
      '--precision <spec>',
      "weight storage of the model directory's conversion, as for convert: f32 (default), f16 or int8 for every stage, or per stage, e.g. t5=int8,stdit=f16 (cached per precision; docs/precision.md)",
      parsePrecisionFlag,
    )
    .option(
      '--compare-to <dir>',
      "another run's --out folder: PSNR / SSIM of every clip against its clip of the same setting, prompt and seed (median and min per setting)",
    )
    .option(
      '--graph-target <target>',
      "graph variant run on ONNX Runtime's CPU: cpu (default) or coreml (the phone's Core ML graphs; with --compare-to a cpu run's folder, how far its clips are from the cpu graphs')",
      parseGraphTarget,
    )
    .addHelpText(
      'after',
      examples([
        { what: 'the whole prompt suite, every setting, one seed', args: 'nanobench' },
        {
          what: "the phone's Core ML graphs against a cpu-graph run's clips",
          args: 'nanobench --graph-target coreml --compare-to out/nanobench --prompts 4',
        },
        {
          what: 'four prompts, two seeds, clips written for label-sheets, as JSON',
          args: 'nanobench --prompts 4 --seeds 2 --out out/nanobench --json',
        },
      ]),
    )
    .action(async (flags: NanobenchFlags) => {
      const log = flags.json
        ? undefined
        : (line: string): void => void process.stderr.write(`nanobench: ${line}\n`);
      const report = await runNanobench({
        model: flags.model,
        prompts: flags.prompt,
        promptCount: flags.prompts,
        seeds: flags.seeds,
        settings: flags.settings,
        steps: flags.steps,
        cfgScale: flags.cfg,
        out: flags.out,
        warmup: flags.warmup,
        threads: flags.threads,
        precision: flags.precision,
        compareTo: flags.compareTo,
        graphTarget: flags.graphTarget,
        log,
      });
      console.log(flags.json ? JSON.stringify(report, null, 2) : formatTable(report));
    });
}
