/** `odsora label-agreement`: nanobench's adherence scorers against a person's labels of the same clips. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { formatAgreement, labelAgreement } from '../../bench/label-agreement';
import { BenchInputError } from '../../bench/nanobench-out';
import { examples } from '../help';

/** Registers `odsora label-agreement`. */
export function registerLabelAgreement(program: Command): void {
  program
    .command('label-agreement')
    .description(
      "Compare nanobench's adherence scorers with a person's labels (odsora-labels JSON) of the clips that `odsora nanobench --out DIR` wrote; exit 1 on bad input",
    )
    .requiredOption('--labels <file>', 'labels file (format odsora-labels, version 1)')
    .requiredOption(
      '--clips <dir>',
      'the folder `odsora nanobench --out` wrote (nanobench.json + <setting>/p<i>-s<seed>/)',
    )
    .option('--json', 'print one JSON object instead of tables')
    .addHelpText(
      'after',
      examples([
        {
          what: 'the scorers against a person’s shape labels',
          args: 'label-agreement --labels docs/benchmarks/labels/nano-v4-shapes-a.json --clips out/nanobench',
        },
      ]),
    )
    .action(async (flags: { labels: string; clips: string; json?: boolean }) => {
      try {
        const report = await labelAgreement(resolve(flags.labels), resolve(flags.clips));
        console.log(flags.json ? JSON.stringify(report, null, 2) : formatAgreement(report));
      } catch (e) {
        if (!(e instanceof BenchInputError)) throw e;
        console.error(`odsora label-agreement: ${e.message}`);
        process.exitCode = 1;
      }
    });
}
