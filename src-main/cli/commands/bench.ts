/** `odsora bench <what>`: benchmark scripts that print numbers (JSON with --json). */
import { parseGraphTarget, type GraphTarget } from '../../../shared/engine/onnx/graph-target';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { BENCH_PRESETS, runEngineBench } from '../../bench/engine-bench';
import { runProtocolBench } from '../../bench/protocol-bench';
import { runProtocolFuzzBench } from '../../bench/protocol-fuzz';
import { resolve } from 'node:path';
import { parseByteSize } from '../../../shared/engine/cidl/budget';
import { runScaleBench } from '../../bench/scale-bench';
import { SYNTH_PRESETS, type SynthPreset } from '../../synth/presets';
import { bundledModelDir, defaultCacheRoot } from '../../models/bundled';
import { posInt } from '../arg-parsers';
import { registerStudioBench } from './bench-studio';
import { examples } from '../help';

/** Registers `odsora bench`. */
export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('Benchmarks that print numbers (use --json for machine-readable output)')
    .addHelpText(
      'after',
      examples([{ what: 'every engine measurement, as JSON', args: 'bench engine --json' }]),
    );
  bench
    .command('engine')
    .description(
      'Per-step latency with and without TDTM, LPL leap vs full run, CI-DL at budgets 100/50/20%, ONNX Runtime placement, and the same weights and shapes in PyTorch',
    )
    .option('--json', 'print one JSON object')
    .option('--preset <name>', `model size: ${Object.keys(BENCH_PRESETS).join(', ')}`, 'bench')
    .option('--frames <n>', 'latent frames T', posInt('--frames'), 8)
    .option(
      '--height <n>',
      "latent height H (32: the paper's 256x256 frames, 256 tokens per frame)",
      posInt('--height'),
      32,
    )
    .option('--width <n>', 'latent width W', posInt('--width'), 32)
    .option('--steps <n>', 'timed steps per latency series', posInt('--steps'), 3)
    .option('--rounds <n>', 'interleaved rounds of every measurement', posInt('--rounds'), 2)
    .option('--lpl-steps <n>', 'steps of the LPL comparison (leap at half)', posInt('--lpl-steps'), 30)
    .option(
      '--threads <n>',
      'threads for ONNX Runtime and PyTorch',
      posInt('--threads'),
      availableParallelism(),
    )
    .option('--no-torch', 'skip the PyTorch comparison')
    .option(
      '--graph-target <t>',
      'graphs to run on ORT CPU: cpu (default), coreml, or both (cpu, plus the coreml graphs per-step latency in the same rounds)',
      (v: string) => (v === 'both' ? v : parseGraphTarget(v)),
      'cpu',
    )
    .addHelpText(
      'after',
      examples([
        { what: 'the engine benchmark as JSON (results: docs/benchmarks/)', args: 'bench engine --json' },
      ]),
    )
    .action(
      async (flags: {
        json?: boolean;
        preset: string;
        frames: number;
        height: number;
        width: number;
        steps: number;
        lplSteps: number;
        rounds: number;
        threads: number;
        torch: boolean;
        graphTarget: GraphTarget | 'both';
      }) => {
        const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
        const result = await runEngineBench({ ...flags, log });
        console.log(flags.json ? JSON.stringify(result, null, 2) : summarize(result));
      },
    );
  registerProtocolBench(bench);
  registerStudioBench(bench);
  registerScaleBench(bench);
}

/** Registers `odsora bench scale`. */
function registerScaleBench(bench: Command): void {
  bench
    .command('scale')
    .description(
      "The full-size Open-Sora v1.2 (6.36 B numbers, synthetic, created in the cache when missing): conversion time and peak RSS, generate under a 3.3 GB process limit per precision (bytes loaded, load hiding, step time, predicted vs measured peaks), the denoiser at 3.3 GB vs all resident, T5 float32 vs int8, a pair's FLOP/s vs the GEMM rate, and the projected time of a 30-step 51-frame 256×256 video",
    )
    .option('--json', 'print one JSON object')
    .option(
      '--cache <dir>',
      'where the synthetic model and block sets live (default $ODSORA_CACHE or ~/.cache/odsora)',
    )
    .option('--limit <size>', 'the process memory limit', '3.3GB')
    .option('--steps <n>', 'denoising steps per run (the first is warm-up)', posInt('--steps'), 4)
    .option('--runs <n>', 'timed repetitions of each single measurement', posInt('--runs'), 3)
    .option('--reconvert', 'convert again even when the block sets exist')
    .option('--no-projection', 'skip the 256×256 projection')
    .addOption(
      new Option('--preset <name>', 'the synthetic model (a depth-cut one for a quick check)')
        .choices([...SYNTH_PRESETS])
        .default('opensora-v1.2'),
    )
    .addHelpText(
      'after',
      examples([
        {
          what: 'a quick check on a depth-cut synthetic model',
          args: 'bench scale --preset opensora-v1.2-depth2 --steps 2 --runs 1',
        },
        { what: 'the full-size model under 3.3 GB, as JSON', args: 'bench scale --json' },
      ]),
    )
    .action(
      async (flags: {
        json?: boolean;
        cache?: string;
        limit: string;
        steps: number;
        runs: number;
        reconvert?: boolean;
        projection: boolean;
        preset: SynthPreset;
      }) => {
        const log = (line: string): void => void process.stderr.write(`bench scale: ${line}\n`);
        const result = await runScaleBench({
          cacheRoot: flags.cache ? resolve(flags.cache) : defaultCacheRoot(),
          cliPath: process.argv[1] ?? '',
          limitBytes: parseByteSize(flags.limit, '--limit'),
          steps: flags.steps,
          runs: flags.runs,
          reconvert: flags.reconvert === true,
          skipProjection: !flags.projection,
          preset: flags.preset,
          log,
        });
        console.log(JSON.stringify(result, null, 2));
      },
    );
}

/** Registers `odsora bench protocol`. */
function registerProtocolBench(bench: Command): void {
  bench
    .command('protocol')
    .description(
      'Events per second (replay and live), preview throughput and engine-event-to-client latency p50/p99 of a real companion over loopback WebSockets',
    )
    .option('--json', 'print one JSON object')
    .option('--models <dir>', 'model directory the companion runs (default: the bundled Open-Sora Nano)')
    .option('--steps <n>', 'denoising steps per run', posInt('--steps'), 40)
    .option('--runs <n>', 'live runs to time', posInt('--runs'), 3)
    .option('--profile <name>', 'companion profile: iphone-15-pro, desktop, gpu', 'desktop')
    .option(
      '--fuzz <frames>',
      'instead: send this many random, mutated and oversized frames from raw connections in every session stage (before hello, greeted, authenticated) while a paired client pings; report typed errors, closes, crashes, the companion RSS (start/peak/end) and ping p50/p95; exit 1 unless every frame was answered or cleanly closed',
      posInt('--fuzz'),
    )
    .option('--connections <n>', 'with --fuzz: raw connections per session stage', posInt('--connections'), 2)
    .option('--seed <n>', 'with --fuzz: generator seed', posInt('--seed'))
    .addHelpText(
      'after',
      examples([
        { what: 'a real companion over loopback, as JSON', args: 'bench protocol --json' },
        {
          what: '100,000 fuzz frames against a companion, as JSON',
          args: 'bench protocol --fuzz 100000 --json',
        },
      ]),
    )
    .action(
      async (flags: {
        json?: boolean;
        models?: string;
        steps: number;
        runs: number;
        profile: string;
        fuzz?: number;
        connections: number;
        seed?: number;
      }) => {
        if (!['iphone-15-pro', 'desktop', 'gpu'].includes(flags.profile))
          throw new InvalidArgumentError(
            `--profile must be iphone-15-pro, desktop or gpu, got '${flags.profile}'`,
          );
        if (flags.fuzz !== undefined) {
          const report = await runProtocolFuzzBench({
            frames: flags.fuzz,
            models: flags.models ?? bundledModelDir(),
            cliPath: process.argv[1],
            profile: flags.profile as 'iphone-15-pro' | 'desktop' | 'gpu',
            connectionsPerStage: flags.connections,
            ...(flags.seed === undefined ? {} : { seed: flags.seed }),
            log: (line) => void process.stderr.write(`bench protocol --fuzz: ${line}\n`),
          });
          console.log(JSON.stringify(report, null, 2));
          if (report['passed'] !== true) process.exitCode = 1;
          return;
        }
        const result = await runProtocolBench({
          models: flags.models ?? bundledModelDir(),
          steps: flags.steps,
          runs: flags.runs,
          profile: flags.profile as 'iphone-15-pro' | 'desktop' | 'gpu',
          cliPath: process.argv[1],
        });
        console.log(JSON.stringify(result, null, flags.json ? 2 : 2));
      },
    );
}

function summarize(r: Record<string, unknown>): string {
  return JSON.stringify(r, null, 2);
}
