/** Blind contact sheets for a person to label (label-sheets make / collect), on the 8 real Nano clips of the fixture. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { labelAgreement } from '../../../../src-main/bench/label-agreement';
import { collectLabels, makeLabelSheets, shuffled } from '../../../../src-main/bench/label-sheets';
import { registerLabelSheets } from '../../../../src-main/cli/commands/label-sheets';
import { decodePngRgb } from '../../../../src-main/studio/services/run-frames';

const FIXTURE = join(__dirname, '../../../fixtures/nano-labelled');
const tmp = mkdtempSync(join(tmpdir(), 'odsora-sheets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Key {
  sheets: { setting: string; promptIndex: number; seed: number; prompt: string }[][];
  method: string;
  blockset: string;
}
const readKey = (dir: string): Key => JSON.parse(readFileSync(join(dir, 'key.json'), 'utf8')) as Key;

/** Fills answers.txt with `word(clip)` for every slot, from the key (what a perfect annotator would write). */
function answerFromKey(dir: string, word: (c: Key['sheets'][number][number]) => string): void {
  const key = readKey(dir);
  const lines = readFileSync(join(dir, 'answers.txt'), 'utf8').split('\n');
  let sheet = -1;
  const out = lines.map((l) => {
    if (/^sheet-\d{3}\.png$/.test(l)) sheet = Number(l.slice(6, 9));
    const m = /^(\d+):$/.exec(l);
    return m ? `${l} ${word(key.sheets[sheet]![Number(m[1]) - 1]!)}` : l;
  });
  writeFileSync(join(dir, 'answers.txt'), out.join('\n'));
}
const shapeOf = (c: { prompt: string }): string => /circle|square|triangle/.exec(c.prompt)![0];

describe('label-sheets make', () => {
  it('draws every clip once, numbered, in a seeded shuffle, with the setting and prompt only in key.json', async () => {
    const dir = join(tmp, 'make');
    expect(await makeLabelSheets({ clipsDir: FIXTURE, outDir: dir, shuffleSeed: 3 })).toEqual({
      sheets: 1,
      clips: 8,
    });
    const key = readKey(dir);
    const ids = key.sheets.flat().map((c) => `${c.setting}/p${c.promptIndex}-s${c.seed}`);
    expect(new Set(ids).size).toBe(8);
    expect(key.blockset).toMatch(/^3f8561f1/);
    expect(key.method).toMatch(/frames 2, 7, 12 .* 72 px .*shuffled order \(seed 3\)/);
    const answers = readFileSync(join(dir, 'answers.txt'), 'utf8');
    expect(answers).toMatch(/sheet-000\.png\n1:\n2:\n3:\n4:\n5:\n6:\n7:\n8:\n$/);
    expect(answers).not.toMatch(/lpl16|square|baseline/);
    // 4 columns of (number + 3 frames of 72 px) and 2 rows, with 6 px gaps.
    const png = decodePngRgb(new Uint8Array(readFileSync(join(dir, 'sheet-000.png'))));
    expect([png.width, png.height]).toEqual([4 * (30 + 3 * 72 + 6) + 6, 2 * (72 + 6) + 6]);
    // The same seed gives the same order; another seed another.
    const again = join(tmp, 'make-again');
    await makeLabelSheets({ clipsDir: FIXTURE, outDir: again, shuffleSeed: 3 });
    expect(readKey(again).sheets).toEqual(key.sheets);
    expect(shuffled(ids, 4)).not.toEqual(shuffled(ids, 3));
  });

  it('keeps only the chosen settings and seeds, and refuses a choice that matches nothing', async () => {
    const dir = join(tmp, 'filtered');
    expect(
      await makeLabelSheets({ clipsDir: FIXTURE, outDir: dir, settings: ['lpl16'], seeds: [42] }),
    ).toEqual({
      sheets: 1,
      clips: 2,
    });
    await expect(makeLabelSheets({ clipsDir: FIXTURE, outDir: dir, settings: ['tdtm30'] })).rejects.toThrow(
      /no clip matches the chosen settings and seeds/,
    );
    await expect(makeLabelSheets({ clipsDir: FIXTURE, outDir: dir, frames: [2, 40] })).rejects.toThrow(
      /has 16 frames, no frame 40/,
    );
  });
});

describe('label-sheets collect', () => {
  it('turns the answers into a labels file that label-agreement reads', async () => {
    const dir = join(tmp, 'collect');
    await makeLabelSheets({ clipsDir: FIXTURE, outDir: dir });
    answerFromKey(dir, shapeOf);
    const labels = await collectLabels(dir, 'a tester', 'shape');
    expect(labels.clips).toHaveLength(8);
    const file = join(dir, 'labels.json');
    writeFileSync(file, JSON.stringify(labels));
    const r = await labelAgreement(file, FIXTURE);
    expect(r.annotator).toBe('a tester');
    expect(r.attributes.shape!.total).toMatchObject({ labelled: 8, personMatchesPrompt: 8, scorerAgrees: 7 });
  });

  it('names the line of a word outside the vocabulary, and a clip left unanswered', async () => {
    const dir = join(tmp, 'bad');
    await makeLabelSheets({ clipsDir: FIXTURE, outDir: dir });
    answerFromKey(dir, (c) => (c.promptIndex === 1 ? 'hexagon' : shapeOf(c)));
    await expect(collectLabels(dir, 'a tester', 'shape')).rejects.toThrow(
      /answers\.txt:\d+: 'hexagon' is not a shape \(one of circle, square, triangle, unsure\)/,
    );
    await makeLabelSheets({ clipsDir: FIXTURE, outDir: dir });
    await expect(collectLabels(dir, 'a tester', 'shape')).rejects.toThrow(
      /answers\.txt:5: sheet-000\.png clip 1 has no answer/,
    );
    writeFileSync(join(dir, 'answers.txt'), 'sheet-000.png\n1: square\n');
    await expect(collectLabels(dir, 'a tester', 'shape')).rejects.toThrow(
      /sheet-000\.png clip 2 has no answer/,
    );
    writeFileSync(join(dir, 'answers.txt'), '1: square\n');
    await expect(collectLabels(dir, 'a tester', 'shape')).rejects.toThrow(
      /answers\.txt:1: expected 'sheet-NNN\.png'/,
    );
    await expect(collectLabels(dir, ' ', 'shape')).rejects.toThrow(/annotator needs a name/);
  });
});

describe('odsora label-sheets', () => {
  it('rejects an unknown --attribute and reports bad input with exit code 1', async () => {
    const run = async (args: string[]): Promise<{ err: string; code: number | undefined }> => {
      const program = new Command().exitOverride();
      let err = '';
      program.configureOutput({ writeErr: (s) => void (err += s) });
      registerLabelSheets(program);
      for (const c of program.commands.flatMap((c) => [c, ...c.commands]))
        c.exitOverride().configureOutput({ writeErr: (s) => void (err += s) });
      const error = console.error;
      const prev = process.exitCode;
      process.exitCode = undefined;
      console.error = (s: string) => void (err += s);
      try {
        await program.parseAsync(['node', 'odsora', 'label-sheets', ...args]).catch(() => undefined);
        return { err, code: process.exitCode as number | undefined };
      } finally {
        console.error = error;
        process.exitCode = prev;
      }
    };
    const a = await run([
      'collect',
      '--sheets',
      tmp,
      '--annotator',
      'x',
      '--out',
      join(tmp, 'l.json'),
      '--attribute',
      'size',
    ]);
    expect(a.err).toMatch(/--attribute: 'size' is not one of colour, shape, motion, background/);
    const b = await run([
      'collect',
      '--sheets',
      join(tmp, 'nothing'),
      '--annotator',
      'x',
      '--out',
      join(tmp, 'l.json'),
    ]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/odsora label-sheets: .*key\.json: cannot read \(ENOENT\)/);
  });
});
