/** `odsora bench studio`: event-to-screen latency and frame time of the studio in Chromium (src-main/bench/studio-bench.ts). */
import type { Command } from 'commander';
import { join } from 'node:path';
import { runStudioBench } from '../../bench/studio-bench';
import { nonNegInt, posInt } from '../arg-parsers';
import { findProjectRoot } from './studio';
import { examples } from '../help';

/** Registers `odsora bench studio` under `bench`. */
export function registerStudioBench(bench: Command): void {
  bench
    .command('studio')
    .description(
      'Event-to-screen latency p50/p95 and frame time of the web studio in Debian Chromium while a companion streams a long run (a recorded nano run replayed at a fixed rate)',
    )
    .option('--json', 'print one JSON object')
    .option('--events <n>', 'events per measured run', posInt('--events'), 10_000)
    .option('--rate <n>', 'events per second the device emits', posInt('--rate'), 200)
    .option('--runs <n>', 'measured runs (the summary is their median)', posInt('--runs'), 1)
    .option(
      '--record-steps <n>',
      'steps of the recorded nano run that is replayed (330 steps log about 10,600 engine events; a shorter log repeats)',
      posInt('--record-steps'),
      330,
    )
    .option(
      '--sweep-runs <n>',
      'also measure while a sweep of at least N measured nano runs streams into the studio (0: no sweep phase)',
      nonNegInt('--sweep-runs'),
      0,
    )
    .option('--sweep-steps <n>', 'denoising steps of each sweep run', posInt('--sweep-steps'), 30)
    .option(
      '--no-sweeps-window',
      "measure the sweep phase without the sweep's Sweeps screen open in a second window",
    )
    .addHelpText(
      'after',
      examples([
        {
          what: 'the web studio in Chromium while a companion streams 10,000 events',
          args: 'bench studio --json',
        },
        {
          what: 'the same, then again while a 64-run sweep runs on the built-in device (both phases and their ratio)',
          args: 'bench studio --json --runs 3 --sweep-runs 64',
        },
      ]),
    )
    .action(
      async (flags: {
        json?: boolean;
        events: number;
        rate: number;
        runs: number;
        recordSteps: number;
        sweepRuns: number;
        sweepSteps: number;
        sweepsWindow: boolean;
      }) => {
        const root = findProjectRoot();
        const result = await runStudioBench({
          cliPath: join(root, 'out', 'cli', 'odsora.cjs'),
          root,
          events: flags.events,
          ratePerSecond: flags.rate,
          runs: flags.runs,
          recordSteps: flags.recordSteps,
          sweepRuns: flags.sweepRuns,
          sweepSteps: flags.sweepSteps,
          sweepsWindow: flags.sweepsWindow,
          log: (line) => void process.stderr.write(`bench: ${line}\n`),
        });
        if (flags.json) console.log(JSON.stringify(result, null, 2));
        else {
          const line = (m: typeof result.median, n: number): string =>
            `event-to-screen p50 ${m.eventToScreenP50Ms} ms, p95 ${m.eventToScreenP95Ms} ms at ${m.achievedEventsPerSecond} events/s; ` +
            `frame interval p50 ${m.frameIntervalP50Ms} ms, p95 ${m.frameIntervalP95Ms} ms; long tasks ${m.longTasks} (median of ${n} runs)`;
          console.log(line(result.median, result.runs.length));
          const during = result.duringSweep;
          if (during !== undefined)
            console.log(
              `while a ${during.sweep.planned}-run sweep streams: ${line(during.median, during.runs.length)}; ` +
                `p95 ratio ${during.ratio.eventToScreenP95 ?? 'n/a'}`,
            );
        }
      },
    );
}
