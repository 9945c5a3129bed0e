/** `odsora bench studio`: event-to-screen latency and frame time of the studio in Chromium (src-main/bench/studio-bench.ts). */
import type { Command } from 'commander';
import { join } from 'node:path';
import { runStudioBench } from '../../bench/studio-bench';
import { posInt } from '../arg-parsers';
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
    .addHelpText(
      'after',
      examples([
        {
          what: 'the web studio in Chromium while a companion streams 10,000 events',
          args: 'bench studio --json',
        },
      ]),
    )
    .action(
      async (flags: { json?: boolean; events: number; rate: number; runs: number; recordSteps: number }) => {
        const root = findProjectRoot();
        const result = await runStudioBench({
          cliPath: join(root, 'out', 'cli', 'odsora.cjs'),
          root,
          events: flags.events,
          ratePerSecond: flags.rate,
          runs: flags.runs,
          recordSteps: flags.recordSteps,
          log: (line) => void process.stderr.write(`bench: ${line}\n`),
        });
        if (flags.json) console.log(JSON.stringify(result, null, 2));
        else {
          const m = result.median;
          console.log(
            `event-to-screen p50 ${m.eventToScreenP50Ms} ms, p95 ${m.eventToScreenP95Ms} ms at ${m.achievedEventsPerSecond} events/s; ` +
              `frame interval p50 ${m.frameIntervalP50Ms} ms, p95 ${m.frameIntervalP95Ms} ms; long tasks ${m.longTasks} (median of ${result.runs.length} runs)`,
          );
        }
      },
    );
}
