/** `odsora label-sheets make|collect`: blind contact sheets of nanobench clips for a person to label. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LABEL_ATTRIBUTES, type LabelAttribute } from '../../bench/label-agreement';
import { BenchInputError } from '../../bench/nanobench-out';
import { collectLabels, makeLabelSheets } from '../../bench/label-sheets';
import { nonNegIntList, posInt } from '../arg-parsers';
import { examples } from '../help';

const attributeArg = (v: string): LabelAttribute => {
  if (!(LABEL_ATTRIBUTES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`--attribute: '${v}' is not one of ${LABEL_ATTRIBUTES.join(', ')}`);
  return v as LabelAttribute;
};

async function reportErrors(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (!(e instanceof BenchInputError)) throw e;
    console.error(`odsora label-sheets: ${e.message}`);
    process.exitCode = 1;
  }
}

/** Registers `odsora label-sheets`. */
export function registerLabelSheets(program: Command): void {
  const cmd = program
    .command('label-sheets')
    .description(
      'Blind contact sheets of nanobench clips for a person to label, and their answers as a labels file',
    )
    .addHelpText(
      'after',
      examples([
        {
          what: 'sheets, then the answers as labels',
          args: 'label-sheets make --clips out/nanobench --out out/sheets',
        },
      ]),
    );
  cmd
    .command('make')
    .description(
      'Draw the clips of `odsora nanobench --out DIR` on numbered, shuffled sheets (setting and prompt hidden) + answers.txt',
    )
    .requiredOption('--clips <dir>', 'the folder `odsora nanobench --out` wrote')
    .requiredOption('--out <dir>', 'where sheet-NNN.png, answers.txt and key.json go')
    .option('--settings <list>', 'only these settings (comma-separated)', (v: string) =>
      v.split(',').map((s) => s.trim()),
    )
    .option('--seeds <list>', 'only these seeds (comma-separated)', nonNegIntList('--seeds'))
    .option('--shuffle-seed <n>', 'seed of the shuffle', posInt('--shuffle-seed'), 1)
    .option('--frames <list>', 'frame indices shown per clip', nonNegIntList('--frames'), [2, 7, 12])
    .option('--size <px>', 'size each frame is drawn at', posInt('--size'), 72)
    .addHelpText(
      'after',
      examples([
        {
          what: 'blind sheets of the clips nanobench --out wrote',
          args: 'label-sheets make --clips out/nanobench --out out/sheets',
        },
      ]),
    )
    .action(
      async (f: {
        clips: string;
        out: string;
        settings?: string[];
        seeds?: number[];
        shuffleSeed: number;
        frames: number[];
        size: number;
      }) =>
        reportErrors(async () => {
          const r = await makeLabelSheets({ ...f, clipsDir: resolve(f.clips), outDir: resolve(f.out) });
          console.log(
            `${r.clips} clips on ${r.sheets} sheet(s) in ${resolve(f.out)}: write one word per clip into answers.txt, then run odsora label-sheets collect`,
          );
        }),
    );
  cmd
    .command('collect')
    .description(
      "Check a sheets folder's answers.txt and write them as an odsora-labels file for `odsora label-agreement`",
    )
    .requiredOption('--sheets <dir>', 'the folder `label-sheets make` wrote (answers filled in)')
    .requiredOption('--annotator <name>', 'who labelled')
    .requiredOption('--out <file>', 'labels file to write')
    .option('--attribute <name>', `what was labelled: ${LABEL_ATTRIBUTES.join(', ')}`, attributeArg, 'shape')
    .addHelpText(
      'after',
      examples([
        {
          what: 'answers.txt filled in → a labels file',
          args: 'label-sheets collect --sheets out/sheets --annotator ana --out out/ana-shape.json',
        },
      ]),
    )
    .action(async (f: { sheets: string; annotator: string; out: string; attribute: LabelAttribute }) =>
      reportErrors(async () => {
        const labels = await collectLabels(resolve(f.sheets), f.annotator, f.attribute);
        await writeFile(resolve(f.out), `${JSON.stringify(labels, null, 1)}\n`);
        console.log(`${labels.clips.length} labels written to ${resolve(f.out)}`);
      }),
    );
}
