/**
 * `odsora nanobench`: quality and speed of the On-device Sora techniques on Open-Sora Nano, scored with
 * shared/metrics. For every prompt × seed the baseline runs first; every other setting then runs from the
 * baseline's exact initial noise (`z0`), so PSNR / SSIM against the baseline isolate what the technique changed.
 * Each clip is scored on the Nano prompt vocabulary (colour, shape, motion, background), subject consistency,
 * temporal flicker and dynamic degree (see shared/metrics/README.md), and timed. `precision` converts the model at a
 * lower weight precision first; `compareTo` also scores every clip against another run's (nanobench-compare.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Precision } from '../../shared/engine/blockset/precision';
import type { BudgetSpec } from '../../shared/engine/cidl/budget';
import {
  GenerateCaches,
  generateVideo,
  type GenerateParams,
  type GenerateResult,
} from '../../shared/engine/pipeline/generate';
import type { LplOptions } from '../../shared/engine/techniques/knobs';
import type { FloatTensor } from '../../shared/engine/tensor';
import {
  analyseClip,
  dynamicDegree,
  parsePrompt,
  psnr,
  scorePrompt,
  ssim,
  subjectConsistency,
  temporalFlicker,
  type AttributeScore,
  type Video,
} from '../../shared/metrics';
import type { StageName } from '../convert/model-dir';
import type { GraphTarget } from '../../shared/engine/onnx/graph-target';
import { createNodeEngineHost } from '../engine-host/node-engine';
import {
  blockSetPrecision,
  BUNDLED_MODEL_NAME,
  bundledModelDir,
  ensureBundledBlockSet,
  openModel,
} from '../models/bundled';
import { writeVideoFiles } from '../output/video-files';
import { clipFolder } from './nanobench-out';
import {
  checkCompareModel,
  compareClip,
  comparisonRecord,
  formatComparison,
  openCompareRun,
  type CompareScore,
  type NanobenchComparison,
} from './nanobench-compare';

/**
 * The prompt suite: `tools/nano/data.py`'s `eval_prompts(24)` (the training run's eval set), 24 captions in which
 * every colour and every motion appears 4 times, every shape 8 times and every background 6 times.
 */
export const NANOBENCH_SUITE: readonly string[] = Object.freeze([
  'a red circle moving left on a black background',
  'a green square moving right on a black background',
  'a blue triangle moving up on a white background',
  'a yellow square moving down on a white background',
  'a purple triangle growing on a gray background',
  'a white circle shrinking on a gray background',
  'a red triangle moving right on a brown background',
  'a green circle moving up on a brown background',
  'a blue square moving down on a black background',
  'a yellow circle growing on a black background',
  'a purple square shrinking on a white background',
  'a white triangle moving left on a gray background',
  'a red square moving up on a gray background',
  'a green triangle moving down on a gray background',
  'a blue circle growing on a brown background',
  'a yellow triangle shrinking on a brown background',
  'a purple circle moving left on a black background',
  'a white square moving right on a black background',
  'a red circle moving down on a white background',
  'a green square growing on a white background',
  'a blue triangle shrinking on a gray background',
  'a yellow square moving left on a gray background',
  'a purple triangle moving right on a brown background',
  'a white circle moving up on a brown background',
]);

/** A benchmark setting: the technique switches of one generation, for a given step count. */
export interface NanobenchSetting {
  readonly name: string;
  readonly description: string;
  /** The switches for `steps` sampling steps (the paper's "15 of 30" become ⌊steps/2⌋ of steps). */
  readonly configure: (steps: number) => { lpl: LplOptions; tdtm: { mergeSteps: number }; cidl: BudgetSpec };
}

const half = (steps: number): number => Math.floor(steps / 2);
const OFF = { mode: 'off' } as const;
const ALL_RESIDENT: BudgetSpec = { kind: 'unlimited' };

/**
 * The settings, in table order. `lpl-dynamic` is the paper's rule with the whole-tensor cosine: minimum step
 * ⌊steps/2⌋ (paper: 50 % of K), tolerance 1e-4 (the paper's; the Python code's 1e-3 leaps earlier), patience 3
 * (the Python code's; the paper does not give one).
 */
export const NANOBENCH_SETTINGS: readonly NanobenchSetting[] = Object.freeze<NanobenchSetting[]>([
  {
    name: 'baseline',
    description: 'all techniques off',
    configure: () => ({ lpl: OFF, tdtm: { mergeSteps: 0 }, cidl: ALL_RESIDENT }),
  },
  {
    name: 'lpl16',
    description: 'LPL ⌊K/2⌋+1/K: the step after the first half leaps (LPL 16/30: 16 model passes)',
    configure: (k) => ({
      lpl: { mode: 'fixed', leapStep: half(k) },
      tdtm: { mergeSteps: 0 },
      cidl: ALL_RESIDENT,
    }),
  },
  {
    name: 'lpl-dynamic',
    description: 'LPL dynamic: whole-tensor cosine, minimum ⌊K/2⌋, tolerance 1e-4, patience 3',
    configure: (k) => ({
      lpl: { mode: 'dynamic', minimumSteps: half(k), tolerance: 1e-4, patience: 3, measure: 'whole' },
      tdtm: { mergeSteps: 0 },
      cidl: ALL_RESIDENT,
    }),
  },
  {
    name: 'tdtm15',
    description: 'TDTM merged in the first ⌊K/2⌋ steps (15 of 30)',
    configure: (k) => ({ lpl: OFF, tdtm: { mergeSteps: half(k) }, cidl: ALL_RESIDENT }),
  },
  {
    name: 'tdtm30',
    description: 'TDTM merged in every step',
    configure: (k) => ({ lpl: OFF, tdtm: { mergeSteps: k }, cidl: ALL_RESIDENT }),
  },
  {
    name: 'all',
    description: "LPL fixed ⌊K/2⌋ + TDTM ⌊K/2⌋ + CI-DL with the host's memory budget (auto)",
    configure: (k) => ({
      lpl: { mode: 'fixed', leapStep: half(k) },
      tdtm: { mergeSteps: half(k) },
      cidl: { kind: 'auto' },
    }),
  },
  {
    name: 'all-50',
    description: 'as `all`, but CI-DL squeezed to a 50 % block budget (every block reloads every step)',
    configure: (k) => ({
      lpl: { mode: 'fixed', leapStep: half(k) },
      tdtm: { mergeSteps: half(k) },
      cidl: { kind: 'fraction', of: 0.5 },
    }),
  },
]);

/** Looks up settings by name; throws naming the unknown one. */
export function resolveSettings(names: readonly string[]): NanobenchSetting[] {
  return names.map((n) => {
    const s = NANOBENCH_SETTINGS.find((x) => x.name === n);
    if (!s)
      throw new Error(
        `unknown setting '${n}'; settings: ${NANOBENCH_SETTINGS.map((x) => x.name).join(', ')}`,
      );
    return s;
  });
}

/** Options of {@link runNanobench}. */
export interface NanobenchOptions {
  /** Model directory or block set (default: the bundled Open-Sora Nano at models/opensora-nano). */
  model?: string;
  /** Prompts to run (each validated with parsePrompt); default: the first `promptCount` of the suite. */
  prompts?: readonly string[];
  /** How many suite prompts (default all 24); ignored when `prompts` is given. */
  promptCount?: number;
  /** Seeds per prompt: 42, 43, … (default 1). */
  seeds?: number;
  /** Setting names (default all); the baseline always runs (first) since the others compare against it. */
  settings?: readonly string[];
  /** Sampling steps K (default 30). */
  steps?: number;
  /** CFG scale (default: the model's). */
  cfgScale?: number;
  /** Write each clip's frames / APNG / GIF under `<out>/<setting>/p<prompt>-s<seed>/` and nanobench.json. */
  out?: string;
  /** One untimed generation per setting first (compiles every graph shape; default true). */
  warmup?: boolean;
  /** ONNX Runtime intra-op threads. */
  threads?: number;
  /** Weight precision per stage of a model directory's conversion (default f32; cached per precision). */
  precision?: Partial<Record<StageName, Precision>>;
  /** The graph variant to run on ORT's CPU EP (default `cpu`; `coreml`: the phone's graphs). */
  graphTarget?: GraphTarget;
  /** Another run's `--out` folder: every clip is also compared with its clip of the same setting, prompt and seed. */
  compareTo?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The score record of one generated clip. */
export interface NanobenchClip {
  setting: string;
  prompt: string;
  promptIndex: number;
  seed: number;
  adherence: {
    colour: AttributeScore;
    shape: AttributeScore;
    motion: AttributeScore;
    background: AttributeScore;
  };
  /** Mean of the four adherence scores. */
  adherenceMean: number;
  subjectConsistency: number;
  /** Temporal flicker score (1 = none) and the mean absolute frame difference behind it. */
  flicker: { score: number; meanAbsDiff: number };
  dynamic: { dynamic: boolean; amount: number };
  /** Against the baseline clip of the same prompt and seed (the baseline itself: PSNR 99 = identical, SSIM 1). */
  vsBaseline: { psnr: number; ssim: number };
  /** Against the `compareTo` run's clip of the same setting, prompt and seed (only with `compareTo`). */
  vsCompare?: CompareScore;
  /** Wall time of generateVideo, and the pipeline's own stage timings. */
  wallMs: number;
  timings: GenerateResult['timings'];
  leapStep: number | null;
  modelCalls: number;
  frames: { width: number; height: number; count: number };
}

/** Per-setting means (the table's rows). */
export interface NanobenchSummaryRow {
  setting: string;
  description: string;
  clips: number;
  colour: number;
  shape: number;
  motion: number;
  background: number;
  adherence: number;
  subjectConsistency: number;
  flicker: number;
  /** Fraction of dynamic clips (VBench's dynamic degree). */
  dynamicDegree: number;
  psnr: number;
  ssim: number;
  wallMs: number;
  denoiseMs: number;
  /** Mean wall time / the baseline's mean wall time. */
  wallRatio: number;
  /** Baseline mean denoise time / this setting's (speed-up of the sampling loop). */
  denoiseSpeedup: number;
  modelCalls: number;
}

/** What {@link runNanobench} returns (and --json prints). */
export interface NanobenchReport {
  format: 'odsora-nanobench';
  version: 1;
  model: {
    name: string;
    dir: string;
    modelDir: string | null;
    /** sha256 over the model directory's files (null for a block set given directly). */
    sourceSha256: string | null;
    isNano: boolean;
  };
  /** How the block set stores each stage's weights (from its manifest). */
  precision: Record<StageName, Precision>;
  /** The inference backend (onnxruntime-node, its provider, threads and graph variant when not the provider's). */
  backend?: string;
  steps: number;
  seeds: number[];
  prompts: string[];
  settings: {
    name: string;
    description: string;
    lpl: LplOptions;
    tdtm: { mergeSteps: number };
    cidl: BudgetSpec;
  }[];
  summary: NanobenchSummaryRow[];
  /** Only with `compareTo`: the other run and PSNR / SSIM against it per setting. */
  compareTo?: NanobenchComparison;
  clips: NanobenchClip[];
  notes: string[];
}

const toVideo = (r: GenerateResult): Video => ({
  width: r.frames.width,
  height: r.frames.height,
  frames: r.frames.frames,
});

const avg = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

/** Scores one clip (no reference needed except the baseline's frames for PSNR / SSIM). */
function scoreClip(
  video: Video,
  baseline: Video,
  prompt: string,
): Omit<
  NanobenchClip,
  'setting' | 'promptIndex' | 'seed' | 'wallMs' | 'timings' | 'leapStep' | 'modelCalls'
> {
  const analysis = analyseClip(video);
  const s = scorePrompt(video, prompt, analysis);
  const f = temporalFlicker(video);
  const d = dynamicDegree(video, undefined, analysis);
  return {
    prompt,
    adherence: { colour: s.colour, shape: s.shape, motion: s.motion, background: s.background },
    adherenceMean: s.mean,
    subjectConsistency: subjectConsistency(video, analysis).score,
    flicker: { score: f.score, meanAbsDiff: f.meanAbsDiff },
    dynamic: { dynamic: d.dynamic, amount: d.amount },
    vsBaseline: { psnr: psnr(video, baseline).clip, ssim: ssim(video, baseline).mean },
    frames: { width: video.width, height: video.height, count: video.frames.length },
  };
}

/** Means per setting; ratios against the baseline row. */
export function summarize(
  clips: readonly NanobenchClip[],
  settings: readonly NanobenchSetting[],
): NanobenchSummaryRow[] {
  const rows = settings.map((s) => {
    const c = clips.filter((x) => x.setting === s.name);
    return {
      setting: s.name,
      description: s.description,
      clips: c.length,
      colour: avg(c.map((x) => x.adherence.colour.score)),
      shape: avg(c.map((x) => x.adherence.shape.score)),
      motion: avg(c.map((x) => x.adherence.motion.score)),
      background: avg(c.map((x) => x.adherence.background.score)),
      adherence: avg(c.map((x) => x.adherenceMean)),
      subjectConsistency: avg(c.map((x) => x.subjectConsistency)),
      flicker: avg(c.map((x) => x.flicker.score)),
      dynamicDegree: avg(c.map((x) => (x.dynamic.dynamic ? 1 : 0))),
      psnr: avg(c.map((x) => x.vsBaseline.psnr)),
      ssim: avg(c.map((x) => x.vsBaseline.ssim)),
      wallMs: avg(c.map((x) => x.wallMs)),
      denoiseMs: avg(c.map((x) => x.timings.denoiseMs)),
      wallRatio: Number.NaN,
      denoiseSpeedup: Number.NaN,
      modelCalls: avg(c.map((x) => x.modelCalls)),
    };
  });
  const base = rows.find((r) => r.setting === 'baseline');
  for (const r of rows) {
    r.wallRatio = base ? r.wallMs / base.wallMs : Number.NaN;
    r.denoiseSpeedup = base ? base.denoiseMs / r.denoiseMs : Number.NaN;
  }
  return rows;
}

/** The settings × dimensions table (text). */
export function formatTable(report: NanobenchReport): string {
  const head = [
    'setting',
    'colour',
    'shape',
    'motion',
    'bg',
    'adher',
    'subj',
    'flicker',
    'dynamic',
    'PSNR dB',
    'SSIM',
    'calls',
    'wall ms',
    '×base',
    'denoise ×',
  ];
  const f = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const rows = report.summary.map((r) => [
    r.setting,
    f(r.colour),
    f(r.shape),
    f(r.motion),
    f(r.background),
    f(r.adherence),
    f(r.subjectConsistency),
    f(r.flicker),
    f(r.dynamicDegree),
    f(r.psnr, 2),
    f(r.ssim),
    f(r.modelCalls, 1),
    f(r.wallMs, 0),
    f(r.wallRatio, 2),
    f(r.denoiseSpeedup, 2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `nanobench: ${report.model.name} (${report.model.dir}), ${report.steps} steps, ${report.prompts.length} prompt(s) × ${report.seeds.length} seed(s), ` +
      `weights t5=${report.precision.text},stdit=${report.precision.denoiser},vae=${report.precision.decode}`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    'adherence columns: fraction of clips right; subj/flicker: mean score (1 = best); dynamic: fraction of moving clips;',
    'PSNR/SSIM: against the baseline from the same z0 (identical = 99 dB cap / 1); calls: model passes (CFG pair = 1);',
    '×base: mean wall time / baseline; denoise ×: baseline denoise time / this setting.',
    ...(report.compareTo ? formatComparison(report.compareTo) : []),
    ...report.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

/**
 * Runs the benchmark: opens the model (the bundled Nano unless `model` is given; a clear error when the bundle is
 * missing), then for every prompt × seed the baseline followed by every other setting from the baseline's z0.
 */
export async function runNanobench(opts: NanobenchOptions = {}): Promise<NanobenchReport> {
  const log = opts.log ?? ((): void => undefined);
  const steps = opts.steps ?? 30;
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`steps must be a positive integer, got ${steps}`);
  const prompts = opts.prompts
    ? [...opts.prompts]
    : NANOBENCH_SUITE.slice(0, opts.promptCount ?? NANOBENCH_SUITE.length);
  if (prompts.length === 0) throw new Error('no prompts to run');
  for (const p of prompts) {
    try {
      parsePrompt(p);
    } catch (e) {
      throw new Error(`prompt '${p}': ${(e as Error).message}`);
    }
  }
  const seedCount = opts.seeds ?? 1;
  if (!Number.isInteger(seedCount) || seedCount < 1)
    throw new Error(`seeds must be a positive integer, got ${seedCount}`);
  const seeds = Array.from({ length: seedCount }, (_, i) => 42 + i);
  const names = opts.settings ?? NANOBENCH_SETTINGS.map((s) => s.name);
  const chosen = resolveSettings(names.includes('baseline') ? names : ['baseline', ...names]);
  const settings = [
    chosen.find((s) => s.name === 'baseline')!,
    ...chosen.filter((s) => s.name !== 'baseline'),
  ];

  // The other run is checked before anything is converted or generated (its model once ours is open).
  const compare = opts.compareTo
    ? await openCompareRun(opts.compareTo, { steps, prompts, seeds, settings: settings.map((s) => s.name) })
    : null;

  const host = await createNodeEngineHost({ threads: opts.threads, graphTarget: opts.graphTarget });
  const caches = new GenerateCaches();
  try {
    let model;
    const modelOpts = { log: (l: string): void => log(`model: ${l}`), precision: opts.precision };
    if (opts.model) model = await openModel(host, opts.model, modelOpts);
    else {
      try {
        model = await ensureBundledBlockSet(host, modelOpts);
      } catch (e) {
        throw new Error(
          `nanobench needs Open-Sora Nano: ${(e as Error).message} (looked for ${bundledModelDir()})`,
        );
      }
    }
    const name = model.blockSet.manifest.model.name;
    if (compare) checkCompareModel(compare, name, model.sourceSha256);
    const isNano =
      name.includes('nano') ||
      (model.modelDir ?? '').includes(BUNDLED_MODEL_NAME) ||
      (await exportedAsNano(model.modelDir));
    const notes: string[] = [];
    if (!isNano)
      notes.push(
        `model '${name}' is not Open-Sora Nano: the prompt-adherence scores assume Nano's vocabulary and clips (shape over a plain background) and are not meaningful here`,
      );
    log(`model: ${name} (${model.blockSet.dir})`);

    const ctx = {
      blockSet: model.blockSet,
      backend: host.backend,
      clock: host.clock,
      emit: (): void => undefined,
      probe: host.probe,
      caches,
    };
    const paramsFor = (
      s: NanobenchSetting,
      prompt: string,
      seed: number,
      z0?: FloatTensor,
    ): GenerateParams => {
      const c = s.configure(steps);
      return {
        prompt,
        seed,
        steps,
        cfgScale: opts.cfgScale,
        lpl: c.lpl,
        tdtm: c.tdtm,
        cidl: { budget: c.cidl },
        z0,
      };
    };

    if (opts.warmup ?? true)
      for (const s of settings) {
        log(`warm-up: ${s.name}`);
        await generateVideo(ctx, paramsFor(s, prompts[0]!, seeds[0]!));
      }

    const clips: NanobenchClip[] = [];
    const total = prompts.length * seeds.length * settings.length;
    for (const [promptIndex, prompt] of prompts.entries())
      for (const seed of seeds) {
        let base: { video: Video; z0: FloatTensor } | null = null;
        for (const s of settings) {
          const t0 = performance.now();
          const r = await generateVideo(ctx, paramsFor(s, prompt, seed, base?.z0));
          const wallMs = performance.now() - t0;
          const video = toVideo(r);
          if (!base) base = { video, z0: r.z0 };
          const scored = scoreClip(video, base.video, prompt);
          // Read before this run writes its own clip: `--out` may be the compared folder itself.
          const vsCompare = compare
            ? await compareClip(compare, video, s.name, promptIndex, seed)
            : undefined;
          const clip: NanobenchClip = {
            ...scored,
            ...(vsCompare ? { vsCompare } : {}),
            setting: s.name,
            promptIndex,
            seed,
            wallMs,
            timings: r.timings,
            leapStep: r.denoise.leapStep,
            modelCalls: r.denoise.modelCalls,
          };
          clips.push(clip);
          log(
            `[${clips.length}/${total}] ${s.name} p${promptIndex} s${seed}: adherence ${scored.adherenceMean.toFixed(2)}, PSNR ${scored.vsBaseline.psnr.toFixed(1)} dB` +
              `${vsCompare ? `, vs compared ${vsCompare.psnr.toFixed(1)} dB` : ''}, ${wallMs.toFixed(0)} ms`,
          );
          if (opts.out)
            await writeVideoFiles(
              clipFolder(resolve(opts.out), s.name, promptIndex, seed),
              r.frames,
              r.params.fps,
            );
        }
      }

    const report: NanobenchReport = {
      format: 'odsora-nanobench',
      version: 1,
      model: {
        name,
        dir: model.blockSet.dir,
        modelDir: model.modelDir,
        sourceSha256: model.sourceSha256,
        isNano,
      },
      precision: blockSetPrecision(model.blockSet),
      backend: host.backend.name,
      steps,
      seeds,
      prompts,
      settings: settings.map((s) => ({ name: s.name, description: s.description, ...s.configure(steps) })),
      summary: summarize(clips, settings),
      ...(compare ? { compareTo: comparisonRecord(compare, clips) } : {}),
      clips,
      notes,
    };
    if (opts.out) {
      await mkdir(resolve(opts.out), { recursive: true });
      await writeFile(join(resolve(opts.out), 'nanobench.json'), `${JSON.stringify(report, null, 2)}\n`);
    }
    return report;
  } finally {
    await caches.clear();
    await host.close();
  }
}

/** A model folder written by tools/nano/export.py names itself in manifest.json, whatever the folder is called. */
async function exportedAsNano(modelDir: string | null): Promise<boolean> {
  if (!modelDir) return false;
  try {
    const manifest = JSON.parse(await readFile(join(modelDir, 'manifest.json'), 'utf8')) as unknown;
    return (
      typeof manifest === 'object' &&
      manifest !== null &&
      (manifest as { model?: unknown }).model === BUNDLED_MODEL_NAME
    );
  } catch {
    return false;
  }
}
