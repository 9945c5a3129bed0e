/**
 * How well nanobench's automatic adherence scorers agree with a person: a labels file (what an annotator saw in
 * clips written by `odsora nanobench --out DIR`, made without seeing the setting or the prompt) is compared, clip by
 * clip, with what shared/metrics predicts from the same frames. `odsora label-agreement` prints the result.
 *
 * Labels file (`odsora-labels` v1, JSON):
 *
 *     { "format": "odsora-labels", "version": 1, "annotator": "…", "method": "…",
 *       "source": { "model": "opensora-nano", "blockset": "<hash>", "command": "odsora nanobench …" },
 *       "clips": [ { "setting": "lpl16", "promptIndex": 3, "seed": 42, "prompt": "a …",
 *                    "labels": { "shape": "square" } } ] }
 *
 * A label is a vocabulary word of its attribute or "unsure" (counted, never scored). `source.blockset` (optional)
 * is the block-set id nanobench.json's `model.dir` ends with: labels describe particular pixels, so clips from
 * another model are refused.
 */
import { z } from 'zod';
import {
  NANO_BACKGROUND_NAMES,
  NANO_COLOUR_NAMES,
  NANO_MOTIONS,
  NANO_SHAPES,
  parsePrompt,
  scorePrompt,
} from '../../shared/metrics';
import { readFinalVideo } from '../studio/services/run-frames';
import { BenchInputError, clipFolder, readJson, readNanobenchOut, zodMessage } from './nanobench-out';

export const LABEL_ATTRIBUTES = ['colour', 'shape', 'motion', 'background'] as const;
export type LabelAttribute = (typeof LABEL_ATTRIBUTES)[number];

/** The words a label of each attribute may take (besides "unsure"): the Nano vocabulary. */
export const LABEL_WORDS: Readonly<Record<LabelAttribute, readonly string[]>> = {
  colour: NANO_COLOUR_NAMES,
  shape: NANO_SHAPES,
  motion: NANO_MOTIONS,
  background: NANO_BACKGROUND_NAMES,
};

const word = (values: readonly string[]) => z.enum(['unsure', ...values]);

const labelsSchema = z.object({
  format: z.literal('odsora-labels'),
  version: z.literal(1),
  annotator: z.string().min(1),
  method: z.string().min(1),
  source: z
    .object({
      model: z.string().optional(),
      blockset: z.string().min(1).optional(),
      command: z.string().optional(),
    })
    .optional(),
  clips: z
    .array(
      z.object({
        setting: z.string().regex(/^[a-z0-9-]+$/, 'a nanobench setting name'),
        promptIndex: z.number().int().nonnegative(),
        seed: z.number().int().nonnegative(),
        prompt: z.string().min(1),
        labels: z
          .object({
            colour: word(LABEL_WORDS.colour).optional(),
            shape: word(LABEL_WORDS.shape).optional(),
            motion: word(LABEL_WORDS.motion).optional(),
            background: word(LABEL_WORDS.background).optional(),
          })
          .strict()
          .refine((l) => Object.keys(l).length > 0, 'at least one attribute label'),
      }),
    )
    .min(1),
});

export type LabelSet = z.infer<typeof labelsSchema>;

/** Reads and validates a labels file (every prompt must be a Nano vocabulary prompt). */
export async function readLabelSet(file: string): Promise<LabelSet> {
  const parsed = labelsSchema.safeParse(await readJson(file));
  if (!parsed.success) throw new BenchInputError(zodMessage(file, parsed.error));
  for (const [i, c] of parsed.data.clips.entries()) {
    try {
      parsePrompt(c.prompt);
    } catch (e) {
      throw new BenchInputError(`${file}: clips[${i}].prompt: ${(e as Error).message}`);
    }
  }
  return parsed.data;
}

/** Agreement counts for one attribute in one setting (or over all of them). */
export interface AgreementCounts {
  clips: number;
  /** Clips with a definite label (not "unsure"). */
  labelled: number;
  unsure: number;
  /** Scorer's prediction = the person's label (over labelled clips). */
  scorerAgrees: number;
  /** The person's label = the prompt's word (over labelled clips). */
  personMatchesPrompt: number;
  /** Scorer's prediction = the prompt's word (over all clips). */
  scorerMatchesPrompt: number;
}

export interface Disagreement {
  setting: string;
  promptIndex: number;
  seed: number;
  prompt: string;
  attribute: LabelAttribute;
  person: string;
  scorer: string;
}

export interface AgreementReport {
  format: 'odsora-label-agreement';
  version: 1;
  labels: string;
  clipsDir: string;
  annotator: string;
  method: string;
  /** Per labelled attribute: counts per setting (in first-seen order) and over every clip. */
  attributes: Partial<
    Record<LabelAttribute, { settings: Record<string, AgreementCounts>; total: AgreementCounts }>
  >;
  disagreements: Disagreement[];
}

const empty = (): AgreementCounts => ({
  clips: 0,
  labelled: 0,
  unsure: 0,
  scorerAgrees: 0,
  personMatchesPrompt: 0,
  scorerMatchesPrompt: 0,
});

/**
 * Scores every labelled clip of a nanobench `--out` folder and counts agreement with the labels. Throws
 * {@link BenchInputError} naming what is wrong: a labels file or nanobench.json that does not validate, clips from
 * another block set, a prompt that differs from nanobench.json's, a clip folder without frames.
 */
export async function labelAgreement(labelsFile: string, clipsDir: string): Promise<AgreementReport> {
  const set = await readLabelSet(labelsFile);
  const bench = await readNanobenchOut(clipsDir);
  const benchFile = bench.file;
  const blockset = bench.blockset;
  if (set.source?.blockset !== undefined && set.source.blockset !== blockset)
    throw new BenchInputError(
      `${labelsFile} labels clips of block set ${set.source.blockset}; ${clipsDir} holds clips of ${blockset}`,
    );
  const report: AgreementReport = {
    format: 'odsora-label-agreement',
    version: 1,
    labels: labelsFile,
    clipsDir,
    annotator: set.annotator,
    method: set.method,
    attributes: {},
    disagreements: [],
  };
  for (const [i, c] of set.clips.entries()) {
    const benchPrompt = bench.prompts[c.promptIndex];
    if (benchPrompt !== c.prompt)
      throw new BenchInputError(
        `${labelsFile}: clips[${i}] is '${c.prompt}' but prompt ${c.promptIndex} of ${benchFile} is ` +
          (benchPrompt === undefined ? 'missing' : `'${benchPrompt}'`),
      );
    const clipDir = clipFolder(clipsDir, c.setting, c.promptIndex, c.seed);
    const video = await readFinalVideo(clipDir).catch((e: unknown) => {
      throw new BenchInputError(`${clipDir}: ${(e as Error).message}`);
    });
    if (video === null) throw new BenchInputError(`${clipDir}: no frames (frames/0000.png …)`);
    const scores = scorePrompt(video, parsePrompt(c.prompt));
    for (const attribute of LABEL_ATTRIBUTES) {
      const person = c.labels[attribute];
      if (person === undefined) continue;
      const counts = (report.attributes[attribute] ??= { settings: {}, total: empty() });
      const { predicted: scorer, expected } = scores[attribute];
      for (const row of [(counts.settings[c.setting] ??= empty()), counts.total]) {
        row.clips++;
        row.scorerMatchesPrompt += Number(scorer === expected);
        if (person === 'unsure') {
          row.unsure++;
          continue;
        }
        row.labelled++;
        row.scorerAgrees += Number(scorer === person);
        row.personMatchesPrompt += Number(person === expected);
      }
      if (person !== 'unsure' && scorer !== person)
        report.disagreements.push({ ...pick(c), attribute, person, scorer });
    }
  }
  return report;
}

const pick = (c: LabelSet['clips'][number]) => ({
  setting: c.setting,
  promptIndex: c.promptIndex,
  seed: c.seed,
  prompt: c.prompt,
});

/** The report as a text table per attribute, then the disagreements. */
export function formatAgreement(r: AgreementReport): string {
  const lines = [`labels    ${r.labels}`, `annotator ${r.annotator}`, `clips     ${r.clipsDir}`];
  for (const [attribute, counts] of Object.entries(r.attributes)) {
    lines.push(
      '',
      `${attribute}: setting | clips | unsure | scorer = person | person = prompt | scorer = prompt`,
    );
    for (const [setting, c] of [...Object.entries(counts.settings), ['(total)', counts.total] as const])
      lines.push(
        `  ${setting.padEnd(12)} ${String(c.clips).padStart(5)} ${String(c.unsure).padStart(8)}   ` +
          `${`${c.scorerAgrees}/${c.labelled}`.padStart(13)}   ${`${c.personMatchesPrompt}/${c.labelled}`.padStart(13)}   ` +
          `${`${c.scorerMatchesPrompt}/${c.clips}`.padStart(13)}`,
      );
  }
  lines.push('', `${r.disagreements.length} disagreement(s)`);
  for (const d of r.disagreements)
    lines.push(
      `  ${d.setting} p${d.promptIndex}-s${d.seed} ${d.attribute}: person ${d.person}, scorer ${d.scorer} (${d.prompt})`,
    );
  return lines.join('\n');
}
