/**
 * The scorers against a person's labels, on real Open-Sora Nano clips (tests/fixtures/nano-labelled: 8 clips from
 * docs/benchmarks/labels with their labels — four squares with sagging sides that the scorer before 2026-11-27
 * named circles, two blobby circles, a triangle with artefacts, and the one held-out clip the scorer still gets
 * wrong), and the command's handling of bad input.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { formatAgreement, labelAgreement } from '../../../../src-main/bench/label-agreement';
import { registerLabelAgreement } from '../../../../src-main/cli/commands/label-agreement';

const FIXTURE = join(__dirname, '../../../fixtures/nano-labelled');
const LABELS = join(FIXTURE, 'labels.json');
const tmp = mkdtempSync(join(tmpdir(), 'odsora-labels-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the fixture's labels file with `edit` applied, written to a temporary file. */
function editedLabels(
  name: string,
  edit: (doc: { clips: Record<string, unknown>[] } & Record<string, unknown>) => void,
) {
  const doc = JSON.parse(readFileSync(LABELS, 'utf8')) as { clips: Record<string, unknown>[] } & Record<
    string,
    unknown
  >;
  edit(doc);
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('labelAgreement on real Nano clips', () => {
  it('agrees with the person on 7 of 8 clips; the miss is the known held-out square', async () => {
    const r = await labelAgreement(LABELS, FIXTURE);
    const total = r.attributes.shape!.total;
    expect(total).toEqual({
      clips: 8,
      labelled: 8,
      unsure: 0,
      scorerAgrees: 7,
      personMatchesPrompt: 8,
      scorerMatchesPrompt: 7,
    });
    expect(Object.keys(r.attributes.shape!.settings)).toEqual(['lpl16', 'baseline', 'tdtm15', 'all']);
    expect(r.disagreements).toEqual([
      {
        setting: 'lpl16',
        promptIndex: 19,
        seed: 45,
        prompt: 'a green square growing on a white background',
        attribute: 'shape',
        person: 'square',
        scorer: 'circle',
      },
    ]);
    expect(formatAgreement(r)).toMatch(/\(total\)\s+8\s+0\s+7\/8\s+8\/8\s+7\/8/);
  });

  it("counts 'unsure' labels without scoring them, and scores other attributes when labelled", async () => {
    const file = editedLabels('unsure.json', (d) => {
      d.clips[0]!['labels'] = { shape: 'unsure', colour: 'green', background: 'black' };
    });
    const r = await labelAgreement(file, FIXTURE);
    expect(r.attributes.shape!.total).toMatchObject({ clips: 8, labelled: 7, unsure: 1, scorerAgrees: 6 });
    expect(r.attributes.colour!.total).toMatchObject({ clips: 1, labelled: 1, scorerAgrees: 1 });
    expect(r.attributes.background!.total).toMatchObject({ clips: 1, scorerAgrees: 1 });
  });
});

describe('labelAgreement: bad input is refused with a message naming what is wrong', () => {
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      'a label outside the vocabulary',
      () =>
        labelAgreement(
          editedLabels('bad-word.json', (d) => (d.clips[2]!['labels'] = { shape: 'hexagon' })),
          FIXTURE,
        ),
      /bad-word\.json: clips\[2\]\.labels\.shape: /,
    ],
    [
      'an unknown attribute',
      () =>
        labelAgreement(
          editedLabels('bad-attr.json', (d) => (d.clips[0]!['labels'] = { size: 'big' })),
          FIXTURE,
        ),
      /clips\[0\]\.labels: /,
    ],
    [
      'a prompt outside the vocabulary',
      () =>
        labelAgreement(
          editedLabels(
            'bad-prompt.json',
            (d) => (d.clips[1]!['prompt'] = 'a red hexagon growing on a black background'),
          ),
          FIXTURE,
        ),
      /clips\[1\]\.prompt: .*hexagon/,
    ],
    [
      "a prompt that differs from nanobench.json's",
      () =>
        labelAgreement(
          editedLabels(
            'other-prompt.json',
            (d) => (d.clips[0]!['prompt'] = 'a red circle moving left on a black background'),
          ),
          FIXTURE,
        ),
      /clips\[0\] is 'a red circle moving left on a black background' but prompt 1 of .*nanobench\.json is 'a green square/,
    ],
    [
      'a clip folder that is not there',
      () =>
        labelAgreement(
          editedLabels('no-clip.json', (d) => (d.clips[0]!['seed'] = 7)),
          FIXTURE,
        ),
      /lpl16[/\\]p1-s7: no frames/,
    ],
    [
      'clips of another model',
      () =>
        labelAgreement(
          editedLabels(
            'other-model.json',
            (d) => ((d['source'] as Record<string, unknown>)['blockset'] = 'abc'),
          ),
          FIXTURE,
        ),
      /labels clips of block set abc; .* holds clips of 3f8561f1/,
    ],
    [
      'a labels file that is not JSON',
      () => labelAgreement(join(FIXTURE, 'lpl16/p1-s42/frames/0000.png'), FIXTURE),
      /not JSON/,
    ],
    [
      'a clips folder without nanobench.json',
      () => labelAgreement(LABELS, tmp),
      /nanobench\.json: cannot read \(ENOENT\)/,
    ],
  ];
  for (const [what, run, message] of cases)
    it(what, async () => {
      await expect(run()).rejects.toThrow(message);
    });
});

describe('odsora label-agreement', () => {
  const run = async (args: string[]): Promise<{ out: string; err: string; code: number | undefined }> => {
    const program = new Command().exitOverride();
    registerLabelAgreement(program);
    let out = '';
    let err = '';
    const log = console.log;
    const error = console.error;
    const prevCode = process.exitCode;
    process.exitCode = undefined;
    console.log = (s: string) => void (out += `${s}\n`);
    console.error = (s: string) => void (err += `${s}\n`);
    try {
      await program.parseAsync(['node', 'odsora', 'label-agreement', ...args]);
      return { out, err, code: process.exitCode as number | undefined };
    } finally {
      console.log = log;
      console.error = error;
      process.exitCode = prevCode;
    }
  };

  it('--json prints the report', async () => {
    const r = await run(['--labels', LABELS, '--clips', FIXTURE, '--json']);
    const report = JSON.parse(r.out) as {
      format: string;
      attributes: { shape: { total: { scorerAgrees: number } } };
    };
    expect(report.format).toBe('odsora-label-agreement');
    expect(report.attributes.shape.total.scorerAgrees).toBe(7);
    expect(r.code).toBeUndefined();
  });

  it('exits 1 with one line naming the problem on bad input', async () => {
    const copy = join(tmp, 'clips');
    cpSync(FIXTURE, copy, { recursive: true });
    rmSync(join(copy, 'baseline'), { recursive: true });
    const r = await run(['--labels', LABELS, '--clips', copy]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^odsora label-agreement: .*baseline[/\\]p3-s42: no frames/);
    expect(r.out).toBe('');
  });
});
