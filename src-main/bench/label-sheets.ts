/**
 * Blind labelling of nanobench clips by a person: `odsora label-sheets make` draws the clips that
 * `odsora nanobench --out DIR` wrote onto numbered contact sheets (a few frames per clip, shuffled, with neither the
 * setting nor the prompt shown) and writes an answers template; the annotator writes one word per numbered clip;
 * `odsora label-sheets collect` checks the answers and turns them into an `odsora-labels` file for
 * `odsora label-agreement`. The order lives in `key.json` beside the sheets (do not open it while labelling).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { encodeRgbPng } from '../../shared/media/png';
import { mulberry32 } from '../../shared/seeded-random';
import { readFinalVideo } from '../studio/services/run-frames';
import { LABEL_ATTRIBUTES, LABEL_WORDS, type LabelAttribute, type LabelSet } from './label-agreement';
import {
  BenchInputError,
  clipFolder,
  clipRefSchema,
  readJson,
  readNanobenchOut,
  zodMessage,
  type ClipRef,
} from './nanobench-out';

export interface SheetOptions {
  /** Folder written by `odsora nanobench --out`. */
  clipsDir: string;
  /** Where the sheets, answers.txt and key.json go (created). */
  outDir: string;
  /** Only these settings / seeds (default: every clip in nanobench.json). */
  settings?: readonly string[];
  seeds?: readonly number[];
  /** Seed of the shuffle (default 1). */
  shuffleSeed?: number;
  /** Frame indices shown per clip (default 2, 7, 12). */
  frames?: readonly number[];
  /** Size each frame is drawn at, px (nearest neighbour; default 72). */
  size?: number;
}

const PER_SHEET = 16;
const COLUMNS = 4;
const GAP = 6;
const NUMBER_WIDTH = 30;
const KEY_FILE = 'key.json';
const ANSWERS_FILE = 'answers.txt';

const keySchema = z.object({
  format: z.literal('odsora-label-key'),
  version: z.literal(1),
  blockset: z.string(),
  method: z.string(),
  sheets: z.array(z.array(clipRefSchema)),
});

/** Seeded Fisher–Yates shuffle (mulberry32). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rand = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// 3 × 5 bitmap digits, rows top to bottom, bit 2 = left column.
const DIGITS = [
  [7, 5, 5, 5, 7],
  [2, 6, 2, 2, 7],
  [7, 1, 7, 4, 7],
  [7, 1, 7, 1, 7],
  [5, 5, 7, 1, 1],
  [7, 4, 7, 1, 7],
  [7, 4, 7, 5, 7],
  [7, 1, 1, 1, 1],
  [7, 5, 7, 5, 7],
  [7, 5, 7, 1, 7],
];

type Canvas = { rgb: Uint8Array; width: number; height: number };

function fillRect(c: Canvas, x0: number, y0: number, w: number, h: number, rgb: readonly number[]): void {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) c.rgb.set(rgb, (y * c.width + x) * 3);
}

function drawNumber(c: Canvas, n: number, x0: number, y0: number, px = 3): void {
  for (const [k, ch] of [...String(n)].entries()) {
    const glyph = DIGITS[Number(ch)]!;
    for (let r = 0; r < 5; r++)
      for (let col = 0; col < 3; col++)
        if ((glyph[r]! >> (2 - col)) & 1)
          fillRect(c, x0 + (k * 4 + col) * px, y0 + r * px, px, px, [255, 230, 0]);
  }
}

/** Draws up to 16 clips as a 4 × 4 grid of numbered rows of frames (slot k + 1 at row ⌊k/4⌋, column k mod 4). */
async function drawSheet(clipDirs: string[], frames: readonly number[], size: number): Promise<Uint8Array> {
  const cellW = NUMBER_WIDTH + frames.length * size;
  const c: Canvas = {
    width: COLUMNS * (cellW + GAP) + GAP,
    height: Math.ceil(clipDirs.length / COLUMNS) * (size + GAP) + GAP,
    rgb: new Uint8Array(0),
  };
  c.rgb = new Uint8Array(c.width * c.height * 3);
  fillRect(c, 0, 0, c.width, c.height, [90, 90, 90]);
  for (const [k, dir] of clipDirs.entries()) {
    const video = await readFinalVideo(dir);
    if (video === null) throw new BenchInputError(`${dir}: no frames (frames/0000.png …)`);
    const x0 = GAP + (k % COLUMNS) * (cellW + GAP);
    const y0 = GAP + Math.floor(k / COLUMNS) * (size + GAP);
    drawNumber(c, k + 1, x0 + 2, y0 + Math.floor(size / 2) - 7);
    for (const [j, f] of frames.entries()) {
      const frame = video.frames[f];
      if (frame === undefined)
        throw new BenchInputError(`${dir}: has ${video.frames.length} frames, no frame ${f}`);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const sx = Math.floor((x * video.width) / size);
          const sy = Math.floor((y * video.height) / size);
          const src = (sy * video.width + sx) * 3;
          c.rgb.set(
            frame.subarray(src, src + 3),
            ((y0 + y) * c.width + x0 + NUMBER_WIDTH + j * size + x) * 3,
          );
        }
    }
  }
  return encodeRgbPng(c.rgb, c.width, c.height);
}

const sheetName = (i: number): string => `sheet-${String(i).padStart(3, '0')}.png`;

/** Writes the sheets, answers.txt (one blank line per slot) and key.json; returns the number of sheets and clips. */
export async function makeLabelSheets(opts: SheetOptions): Promise<{ sheets: number; clips: number }> {
  const bench = await readNanobenchOut(opts.clipsDir);
  const frames = opts.frames ?? [2, 7, 12];
  const size = opts.size ?? 72;
  const shuffleSeed = opts.shuffleSeed ?? 1;
  const clips: ClipRef[] = bench.clips
    .filter((c) => opts.settings === undefined || opts.settings.includes(c.setting))
    .filter((c) => opts.seeds === undefined || opts.seeds.includes(c.seed));
  if (clips.length === 0)
    throw new BenchInputError(`${bench.file}: no clip matches the chosen settings and seeds`);
  const order = shuffled(clips, shuffleSeed);
  const sheets: ClipRef[][] = [];
  for (let i = 0; i < order.length; i += PER_SHEET) sheets.push(order.slice(i, i + PER_SHEET));
  await mkdir(opts.outDir, { recursive: true });
  const answers = [
    '# One word per clip after its number: a vocabulary word of the attribute you label, or unsure.',
    '# Clips are numbered on each sheet left to right, then top to bottom. Do not open key.json until done.',
  ];
  for (const [i, sheet] of sheets.entries()) {
    const dirs = sheet.map((c) => clipFolder(opts.clipsDir, c.setting, c.promptIndex, c.seed));
    await writeFile(join(opts.outDir, sheetName(i)), await drawSheet(dirs, frames, size));
    answers.push('', sheetName(i), ...sheet.map((_, k) => `${k + 1}:`));
  }
  const method =
    `blind contact sheets (odsora label-sheets): frames ${frames.join(', ')} of each clip at ${size} px (nearest ` +
    `neighbour), ${PER_SHEET} clips per sheet in a shuffled order (seed ${shuffleSeed}), setting and prompt hidden`;
  const key = {
    format: 'odsora-label-key',
    version: 1,
    blockset: bench.blockset,
    method,
    sheets,
  };
  await writeFile(join(opts.outDir, ANSWERS_FILE), `${answers.join('\n')}\n`);
  await writeFile(join(opts.outDir, KEY_FILE), `${JSON.stringify(key, null, 1)}\n`);
  return { sheets: sheets.length, clips: clips.length };
}

/**
 * Reads a sheets folder's answers.txt against its key.json and returns the labels file. Every slot must hold a
 * vocabulary word of `attribute` or "unsure"; a bad line is named by its number.
 */
export async function collectLabels(
  sheetsDir: string,
  annotator: string,
  attribute: LabelAttribute,
): Promise<LabelSet> {
  if (!LABEL_ATTRIBUTES.includes(attribute))
    throw new BenchInputError(`unknown attribute '${String(attribute)}'`);
  if (annotator.trim() === '') throw new BenchInputError('the annotator needs a name');
  const keyFile = join(sheetsDir, KEY_FILE);
  const answersFile = join(sheetsDir, ANSWERS_FILE);
  const read = async (f: string): Promise<string> =>
    readFile(f, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new BenchInputError(`${f}: cannot read (${e.code ?? e.message})`);
    });
  const key = keySchema.safeParse(await readJson(keyFile));
  if (!key.success) throw new BenchInputError(zodMessage(keyFile, key.error));
  const words = new Set([...LABEL_WORDS[attribute], 'unsure']);
  const answers = new Map<string, string>();
  let sheet: string | null = null;
  for (const [n, raw] of (await read(answersFile)).split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (/^sheet-\d{3}\.png$/.test(line)) {
      sheet = line;
      continue;
    }
    const m = /^(\d+):\s*(.*)$/.exec(line);
    if (m === null || sheet === null)
      throw new BenchInputError(
        `${answersFile}:${n + 1}: expected 'sheet-NNN.png' or 'N: word', got '${line}'`,
      );
    const word = m[2]!.trim().toLowerCase().replace(/\s+/g, ' ');
    if (word === '')
      throw new BenchInputError(`${answersFile}:${n + 1}: ${sheet} clip ${m[1]} has no answer`);
    if (!words.has(word))
      throw new BenchInputError(
        `${answersFile}:${n + 1}: '${m[2]!.trim()}' is not a ${attribute} (one of ${[...words].join(', ')})`,
      );
    answers.set(`${sheet}#${m[1]}`, word);
  }
  const clips: LabelSet['clips'] = [];
  for (const [i, refs] of key.data.sheets.entries())
    for (const [k, ref] of refs.entries()) {
      const word = answers.get(`${sheetName(i)}#${k + 1}`);
      if (word === undefined)
        throw new BenchInputError(`${answersFile}: ${sheetName(i)} clip ${k + 1} has no answer`);
      clips.push({ ...ref, labels: { [attribute]: word } });
    }
  return {
    format: 'odsora-labels',
    version: 1,
    annotator,
    method: key.data.method,
    source: { blockset: key.data.blockset },
    clips,
  };
}
