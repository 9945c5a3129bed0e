/**
 * THE list of a sweep's metrics (docs/sweeps.md): each name as `sweep.csv`, `sweep-points.csv` and the journal's
 * `points` write it, with its unit, a label for people and which way is better. `stats.ts` takes each unit from
 * here; the Pareto front, the figures and the studio's plots take the direction and the label.
 */

/** Which way a metric improves. */
export type MetricDirection = 'higher' | 'lower';

/** One metric of a sweep. */
export interface SweepMetric {
  /** The unit as the CSVs write it (`ms`, `bytes`, `x`, `dB`, `1`, `steps`). */
  readonly unit: string;
  /** A short name for axes and tables. */
  readonly label: string;
  readonly better: MetricDirection;
  readonly help: string;
  /** A difference between two values: shown with its sign (`+0.0123`). */
  readonly difference?: true;
}

/** Every metric by name, in the order tables and selects show them. */
export const SWEEP_METRICS = Object.freeze({
  speedup_wall: {
    unit: 'x',
    label: 'speed-up (wall)',
    better: 'higher',
    help: "the baseline's wall time over the run's (2 = twice as fast)",
  },
  speedup_denoise: {
    unit: 'x',
    label: 'speed-up (denoise)',
    better: 'higher',
    help: "the baseline's denoising time over the run's",
  },
  psnr_vs_baseline: {
    unit: 'dB',
    label: 'PSNR vs baseline',
    better: 'higher',
    help: "the final frames' PSNR against the baseline's, over the clip (capped at 99 dB)",
  },
  ssim_vs_baseline: {
    unit: '1',
    label: 'SSIM vs baseline',
    better: 'higher',
    help: "the final frames' mean SSIM against the baseline's",
  },
  flicker_vs_baseline: {
    unit: '1',
    label: 'flicker vs baseline',
    better: 'higher',
    help: "the run's flicker score minus its baseline's (above 0: steadier than the baseline)",
    difference: true,
  },
  flicker: {
    unit: '1',
    label: 'flicker score',
    better: 'higher',
    help: "VBench's temporal flicker score of the final clip, (255 − mean absolute frame difference) / 255: 1 = no change between frames (the object's own motion counts too)",
  },
  adherence: {
    unit: '1',
    label: 'prompt adherence',
    better: 'higher',
    help: "nanobench's prompt adherence of the final clip: the fraction of its prompt's colour, shape, motion and background it shows (prompts in the Open-Sora Nano vocabulary only)",
  },
  wall: { unit: 'ms', label: 'wall time', better: 'lower', help: "run.finished's total time" },
  load: { unit: 'ms', label: 'load time', better: 'lower', help: 'loading and compiling the model' },
  text: { unit: 'ms', label: 'text encoder time', better: 'lower', help: 'the T5 text encoder' },
  denoise: { unit: 'ms', label: 'denoise time', better: 'lower', help: 'the denoising loop' },
  decode: { unit: 'ms', label: 'decode time', better: 'lower', help: 'the VAE decoder' },
  step: { unit: 'ms', label: 'step time', better: 'lower', help: 'median latency of the steps that ran' },
  steps_run: {
    unit: 'steps',
    label: 'steps run',
    better: 'lower',
    help: 'denoising steps that ran the model (LPL leaps over the rest)',
  },
  peak_resident: {
    unit: 'bytes',
    label: 'peak resident blocks',
    better: 'lower',
    help: 'the highest resident block bytes',
  },
} satisfies Record<string, SweepMetric>);

/** A metric's name. */
export type SweepMetricName = keyof typeof SWEEP_METRICS;

/** Every metric name, in table order. */
export const SWEEP_METRIC_NAMES = Object.keys(SWEEP_METRICS) as readonly SweepMetricName[];

/** Whether `name` is one of {@link SWEEP_METRICS}. */
export function isSweepMetric(name: string): name is SweepMetricName {
  return Object.hasOwn(SWEEP_METRICS, name);
}
