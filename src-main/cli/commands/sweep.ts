/**
 * `odsora sweep --spec F --out DIR`: runs a sweep (docs/sweeps.md) headless against the studio's kinds of device —
 * the built-in simulated iPhone, `odsora companion`s and phones — several in parallel, one job each at a time. Run
 * folders go to DIR/runs/ (the studio's format), the journal to DIR/sweep.json, the numbers to DIR/sweep.csv and
 * DIR/sweep-points.csv. The same command again resumes: finished runs are skipped. Ctrl-C (or SIGTERM) cancels
 * the runs in flight and leaves a journal to resume from. Exit status: 0 every run finished, 1 some failed (or an
 * error), 130 / 143 stopped by SIGINT / SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { sweepDeviceIdSchema, parseSweepSpec } from '../../../shared/sweep/spec';
import { runSweep } from '../../sweep/runner';
import { examples } from '../help';

interface SweepFlags {
  spec: string;
  out: string;
  pair: Map<string, string>;
  deviceTimeout: number;
  verbose?: boolean;
}

const pairArg = (v: string, previous: Map<string, string>): Map<string, string> => {
  const m = /^([^=]+)=([0-9]{6})$/.exec(v.trim());
  if (!m || !sweepDeviceIdSchema.safeParse(m[1]).success)
    throw new InvalidArgumentError(
      `--pair needs DEVICE=CODE (a device id of the spec and 6 digits), got '${v}'`,
    );
  return new Map([...previous, [m[1]!, m[2]!]]);
};

const secondsArg = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 86_400)
    throw new InvalidArgumentError(`--device-timeout must be seconds in (0, 86400], got '${v}'`);
  return n;
};

/** Reads and checks the spec file; the error names the file and what is wrong. */
async function loadSpec(path: string): Promise<ReturnType<typeof parseSweepSpec>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the sweep spec ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return parseSweepSpec(raw);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Adds `odsora sweep`. */
export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description(
      'run a sweep (a grid of LPL/TDTM/CI-DL settings × prompts × seeds, repeats, warm-ups and baselines) on one or more devices; the same command resumes it',
    )
    .requiredOption('--spec <file>', 'the sweep spec (JSON, docs/sweeps.md)')
    .requiredOption(
      '--out <dir>',
      'output folder: runs/, sweep.json, sweep.csv, sweep-points.csv (an existing one is resumed)',
    )
    .addOption(
      new Option(
        '--pair <device=code>',
        'pair a spec device with the code it shows (repeatable; the key is kept in <out>/devices)',
      )
        .argParser(pairArg)
        .default(new Map<string, string>(), 'none: devices already paired, or the built-in one'),
    )
    .option(
      '--device-timeout <s>',
      'how long a device that dropped may stay away before its remaining runs are marked failed',
      secondsArg,
      120,
    )
    .option('--verbose', 'also print the device connections’ log lines')
    .addHelpText(
      'after',
      examples([
        {
          what: 'a sweep on the built-in simulated iPhone (its spec names { "id": "phone", "builtin": true })',
          args: 'sweep --spec lpl-grid.json --out sweeps/lpl-grid',
        },
        {
          what: 'the first time against an odsora companion the spec calls "desk": pair with the code it shows',
          args: 'sweep --spec lpl-grid.json --out sweeps/lpl-grid --pair desk=123456',
        },
        {
          what: 'resume after Ctrl-C or a crash: the same command; finished runs are not run again',
          args: 'sweep --spec lpl-grid.json --out sweeps/lpl-grid',
        },
      ]),
    )
    .action(async (flags: SweepFlags) => {
      const specPath = resolve(flags.spec);
      const spec = await loadSpec(specPath);
      const stop = new AbortController();
      let signalled: NodeJS.Signals | null = null;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (signalled !== null) return;
        signalled = sig;
        stop.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const outcome = await runSweep({
          spec,
          outDir: resolve(flags.out),
          pairCodes: flags.pair,
          signal: stop.signal,
          deviceTimeoutMs: flags.deviceTimeout * 1000,
          progress: (line) => console.error(line),
          ...(flags.verbose ? { log: (line: string) => console.error(`  ${line}`) } : {}),
        });
        console.error(
          `sweep ${outcome.state}: ${outcome.finished} finished, ${outcome.failed} failed, ${outcome.pending} pending (${outcome.started} started now)`,
        );
        process.exitCode =
          signalled === 'SIGINT' ? 130 : signalled === 'SIGTERM' ? 143 : outcome.failed > 0 ? 1 : 0;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
