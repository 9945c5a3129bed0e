/**
 * `odsora nanobench --compare-to DIR`: every clip of a run against the clip of the same setting, prompt and seed
 * that another run wrote with `--out DIR` (PSNR / SSIM from shared/metrics), summarized per setting by median and
 * minimum. Used to see what a storage precision changed: the other run is the float32 one, from the same noise
 * (same seed), so a difference is the weights' doing.
 *
 * The other run is checked before any generation: its nanobench.json must validate, be of the same model (source
 * hash, else name) and step count, hold this run's prompts at the same indices, and have a clip folder with frames
 * for every setting × prompt × seed this run will make.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Precision } from '../../shared/engine/blockset/precision';
import { precisionSchema } from '../../shared/engine/blockset/precision';
import { psnr, ssim, type Video } from '../../shared/metrics';
import type { StageName } from '../convert/model-dir';
import { readFinalVideo } from '../studio/services/run-frames';
import { clipFolder, readJson, readNanobenchOut, zodMessage } from './nanobench-out';

/** The fields of the other run's nanobench.json that say which model and configuration made its clips. */
const identitySchema = z.object({
  model: z.object({ name: z.string(), sourceSha256: z.string().nullable().optional() }),
  steps: z.number().int().positive(),
  /** Absent in runs from before `--precision`: those were float32. */
  precision: z
    .object({ text: precisionSchema, denoiser: precisionSchema, decode: precisionSchema })
    .optional(),
});

/** What this run is, to check the other run against. */
export interface CompareWant {
  modelName: string;
  sourceSha256: string | null;
  steps: number;
  prompts: readonly string[];
  seeds: readonly number[];
  settings: readonly string[];
}

/** Another run's `--out` folder, checked, with a reader for its clips. */
export interface CompareRun {
  /** The folder as given, resolved. */
  readonly dir: string;
  readonly modelName: string;
  readonly precision: Record<StageName, Precision>;
  /** The settings this run makes (and the comparison summarizes), in table order. */
  readonly settings: readonly string[];
  /** The other run's clip of `setting`, prompt `promptIndex`, `seed`; throws naming a folder without frames. */
  video(setting: string, promptIndex: number, seed: number): Promise<Video>;
}

/** PSNR / SSIM of one clip against the other run's. */
export interface CompareScore {
  psnr: number;
  ssim: number;
}

/** Per-setting comparison (the JSON's `compareTo.summary` and the table). */
export interface CompareSummaryRow {
  setting: string;
  clips: number;
  psnrMedian: number;
  psnrMin: number;
  ssimMedian: number;
  ssimMin: number;
}

/** The report's `compareTo` record. */
export interface NanobenchComparison {
  dir: string;
  model: string;
  precision: Record<StageName, Precision>;
  summary: CompareSummaryRow[];
}

const flag = (dir: string): string => `--compare-to ${dir}`;

/**
 * Reads and checks the other run's folder against the prompts, seeds, settings and step count this run will use
 * (the model is checked later by {@link checkCompareModel}, once it is open).
 */
export async function openCompareRun(
  dir: string,
  want: Omit<CompareWant, 'modelName' | 'sourceSha256'>,
): Promise<CompareRun & { sourceSha256: string | null }> {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new Error(`${flag(dir)}: no such directory`);
  let bench: Awaited<ReturnType<typeof readNanobenchOut>>;
  try {
    bench = await readNanobenchOut(abs);
  } catch (e) {
    throw new Error(`${flag(dir)}: not a nanobench --out folder (${(e as Error).message})`);
  }
  const parsed = identitySchema.safeParse(await readJson(bench.file));
  if (!parsed.success) throw new Error(`${flag(dir)}: ${zodMessage(bench.file, parsed.error)}`);
  const id = parsed.data;
  if (id.steps !== want.steps)
    throw new Error(
      `${flag(dir)}: its clips were sampled in ${id.steps} steps, this run uses ${want.steps} (a setting's clip differs with the step count)`,
    );
  for (const [i, p] of want.prompts.entries()) {
    const theirs = bench.prompts[i];
    if (theirs !== p)
      throw new Error(
        `${flag(dir)}: a different prompt list: prompt ${i} is '${p}' here but ` +
          (theirs === undefined
            ? `${bench.file} has only ${bench.prompts.length}`
            : `'${theirs}' in ${bench.file}`),
      );
  }
  const listed = new Set(bench.clips.map((c) => `${c.setting}/${c.promptIndex}/${c.seed}`));
  for (const setting of want.settings)
    for (const promptIndex of want.prompts.keys())
      for (const seed of want.seeds) {
        const folder = clipFolder(abs, setting, promptIndex, seed);
        if (!listed.has(`${setting}/${promptIndex}/${seed}`))
          throw new Error(
            `${flag(dir)}: missing clip: ${bench.file} has no ${setting} clip of prompt ${promptIndex} seed ${seed} ` +
              `(run it with the same --settings and --seeds)`,
          );
        if (!existsSync(join(folder, 'frames')))
          throw new Error(`${flag(dir)}: missing clip: ${folder}/frames does not exist`);
      }
  return {
    dir: abs,
    modelName: id.model.name,
    sourceSha256: id.model.sourceSha256 ?? null,
    precision: id.precision ?? { text: 'f32', denoiser: 'f32', decode: 'f32' },
    settings: want.settings,
    async video(setting, promptIndex, seed) {
      const folder = clipFolder(abs, setting, promptIndex, seed);
      const video = await readFinalVideo(folder).catch((e: unknown) => {
        throw new Error(`${flag(dir)}: ${folder}: ${(e as Error).message}`);
      });
      if (video === null) throw new Error(`${flag(dir)}: missing clip: ${folder} has no frames`);
      return video;
    },
  };
}

/**
 * Refuses another model's clips: the model directories' hashes must match when both runs recorded one, else the
 * model names.
 */
export function checkCompareModel(
  run: CompareRun & { sourceSha256: string | null },
  modelName: string,
  sourceSha256: string | null,
): void {
  const same =
    run.sourceSha256 !== null && sourceSha256 !== null
      ? run.sourceSha256 === sourceSha256
      : run.modelName === modelName;
  if (!same)
    throw new Error(
      `${flag(run.dir)}: a different model: its clips are of '${run.modelName}'` +
        `${run.sourceSha256 ? ` (model files ${run.sourceSha256.slice(0, 12)})` : ''}, this run's model is ` +
        `'${modelName}'${sourceSha256 ? ` (model files ${sourceSha256.slice(0, 12)})` : ''}`,
    );
}

/** PSNR / SSIM of `video` against the other run's clip; a shape mismatch names the clip. */
export async function compareClip(
  run: CompareRun,
  video: Video,
  setting: string,
  promptIndex: number,
  seed: number,
): Promise<CompareScore> {
  const other = await run.video(setting, promptIndex, seed);
  try {
    return { psnr: psnr(video, other).clip, ssim: ssim(video, other).mean };
  } catch (e) {
    throw new Error(
      `${flag(run.dir)}: ${clipFolder(run.dir, setting, promptIndex, seed)} cannot be compared: ${(e as Error).message}`,
    );
  }
}

const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Median and minimum PSNR / SSIM per setting, in `settings` order. */
function summarizeComparison(
  clips: readonly { setting: string; vsCompare?: CompareScore }[],
  settings: readonly string[],
): CompareSummaryRow[] {
  return settings.map((setting) => {
    const scores = clips.filter((c) => c.setting === setting && c.vsCompare).map((c) => c.vsCompare!);
    const p = scores.map((s) => s.psnr);
    const q = scores.map((s) => s.ssim);
    return {
      setting,
      clips: scores.length,
      psnrMedian: median(p),
      psnrMin: p.length ? Math.min(...p) : Number.NaN,
      ssimMedian: median(q),
      ssimMin: q.length ? Math.min(...q) : Number.NaN,
    };
  });
}

/** The report's `compareTo` record of `clips` against `run`. */
export function comparisonRecord(
  run: CompareRun,
  clips: readonly { setting: string; vsCompare?: CompareScore }[],
): NanobenchComparison {
  return {
    dir: run.dir,
    model: run.modelName,
    precision: run.precision,
    summary: summarizeComparison(clips, run.settings),
  };
}

/** The comparison as text lines under the nanobench table. */
export function formatComparison(c: NanobenchComparison): string[] {
  const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const prec = (p: Record<StageName, Precision>): string =>
    `t5=${p.text},stdit=${p.denoiser},vae=${p.decode}`;
  const head = ['setting', 'clips', 'PSNR med', 'PSNR min', 'SSIM med', 'SSIM min'];
  const rows = c.summary.map((r) => [
    r.setting,
    String(r.clips),
    f(r.psnrMedian, 2),
    f(r.psnrMin, 2),
    f(r.ssimMedian, 4),
    f(r.ssimMin, 4),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [
    '',
    `vs ${c.dir} (${c.model}, ${prec(c.precision)}): same setting, prompt and seed (identical = 99 dB / 1)`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
}
