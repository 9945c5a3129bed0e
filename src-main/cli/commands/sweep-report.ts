/**
 * `odsora sweep-report DIR [--out REPORT_DIR]`: a sweep's output folder as a report folder (docs/sweeps.md
 * "Reports"): report.html (self-contained, opens offline), pareto.svg, parallel-coordinates.svg, sweep.csv and
 * sweep-points.csv. Exit 1 when DIR holds no usable sweep.json.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { findRepoRoot } from '../../models/bundled';
import { readGitCommit } from '../../studio/git-commit';
import { readPackage } from './studio';
import { SweepReportError, writeSweepReport } from '../../sweep/report';
import { examples } from '../help';

/** Adds `odsora sweep-report`. */
export function registerSweepReport(program: Command): void {
  program
    .command('sweep-report')
    .description(
      "write a sweep's report: a self-contained HTML file (provenance, spec, point table with medians and spreads, Pareto plot, parallel coordinates) that opens offline, the figures as SVG files and the long-format CSVs; DIR is the --out folder of `odsora sweep` (finished or not)",
    )
    .argument('<DIR>', 'the sweep folder (holding sweep.json)')
    .option('--out <dir>', 'the report folder to write (created; files replaced atomically)', '<DIR>/report')
    .addHelpText(
      'after',
      examples([
        {
          what: 'a report beside the sweep, in sweeps/lpl-grid/report/',
          args: 'sweep-report sweeps/lpl-grid',
        },
        {
          what: 'a report folder elsewhere, e.g. for a paper',
          args: 'sweep-report sweeps/lpl-grid --out paper/figures/lpl-grid',
        },
      ]),
    )
    .action(async (dir: string, flags: { out: string }) => {
      const sweepDir = resolve(dir);
      const outDir = flags.out === '<DIR>/report' ? join(sweepDir, 'report') : resolve(flags.out);
      const root = findRepoRoot();
      try {
        const written = await writeSweepReport(sweepDir, outDir, {
          appVersion: root === null ? '0.0.0' : (readPackage(join(root, 'package.json')).version ?? '0.0.0'),
          gitCommit: root === null ? null : readGitCommit(root),
          host: 'odsora sweep-report',
        });
        console.log(
          `wrote ${written.dir}: ${written.files.map((f) => `${f.name} (${f.bytes} bytes)`).join(', ')}; ` +
            `${written.points} points, Pareto front of ${written.front.x} against ${written.front.y}. ` +
            'Open report.html in any browser (it needs no network)',
        );
      } catch (e) {
        if (!(e instanceof SweepReportError)) throw e;
        console.error(`odsora sweep-report: ${e.message}`);
        process.exitCode = 1;
      }
    });
}
