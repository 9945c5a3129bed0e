// A small recorded-looking event log and report input for the report tests (not a test file itself).
import type { RunEvent } from '../../../../shared/protocol/run';
import type { RunSummary } from '../../../../shared/protocol/studio-contract';
import { measureRun, type SeqRunEvent } from '../../../../shared/report/measures';
import type { ReportInput, ReportRun } from '../../../../shared/report/model';
import { testRunSummary } from '../../../helpers/studio-fixtures';

/** A 4-step log: two blocks streamed under a budget, step 1 merged, the leap at step 2, then decode. */
export function sampleLog(opts: { latencyMs?: number; peak?: number; budget?: number } = {}): SeqRunEvent[] {
  const lat = opts.latencyMs ?? 100;
  const peak = opts.peak ?? 300;
  const budget = opts.budget ?? 400;
  const events: RunEvent[] = [
    { type: 'run.queued', atMs: 1000, position: 0 },
    { type: 'run.started', atMs: 1001 },
    { type: 'stage.start', atMs: 1002, stage: 'load' },
    { type: 'stage.end', atMs: 1052, stage: 'load', durationMs: 50 },
    {
      type: 'plan',
      atMs: 1053,
      stage: 'denoise',
      budgetBytes: budget,
      totalBlockBytes: 500,
      predictedPeakBytes: peak,
      retained: [],
      prefetch: true,
      fits: true,
    },
    {
      type: 'block.load.start',
      atMs: 1060,
      block: 'denoiser/part1',
      bytes: 200,
      residentBytes: 200,
      budgetBytes: budget,
    },
    {
      type: 'block.load.end',
      atMs: 1070,
      block: 'denoiser/part1',
      bytes: 200,
      residentBytes: 200,
      budgetBytes: budget,
    },
    { type: 'block.compute.start', atMs: 1071, block: 'denoiser/part1', step: 0, variant: 'plain' },
    {
      type: 'block.load.start',
      atMs: 1072,
      block: 'denoiser/part2',
      bytes: peak - 200,
      residentBytes: peak,
      budgetBytes: budget,
    },
    { type: 'block.compute.end', atMs: 1091, block: 'denoiser/part1', step: 0, variant: 'plain' },
    {
      type: 'block.release',
      atMs: 1092,
      block: 'denoiser/part1',
      bytes: 200,
      residentBytes: peak - 200,
      budgetBytes: budget,
      reason: 'not-retained',
    },
  ];
  for (let s = 0; s < 4; s++) {
    const at = 1100 + s * lat;
    events.push({ type: 'step.start', atMs: at, step: s, t: 1000 - s * 250, merged: s === 1 });
    events.push({
      type: 'step.end',
      atMs: at + lat,
      step: s,
      t: 1000 - s * 250,
      latencyMs: s === 1 ? lat / 2 : lat,
      cosine: [null, 0.92, 0.94, 0.96][s]!,
      merged: s === 1,
      leapt: s === 2,
    });
  }
  const end = 1100 + 4 * lat;
  events.push({ type: 'stage.end', atMs: end, stage: 'denoise', durationMs: 4 * lat });
  events.push({ type: 'stage.end', atMs: end + 20, stage: 'decode', durationMs: 20 });
  events.push({
    type: 'run.finished',
    atMs: end + 21,
    frames: 2,
    width: 2,
    height: 2,
    fps: 8,
    stepsRun: 3,
    timings: { loadMs: 50, textMs: 0, denoiseMs: 4 * lat, decodeMs: 20, totalMs: end + 21 - 1000 },
  });
  return events.map((event, i) => ({ seq: i + 1, event }));
}

/** A 1×1 red PNG (base64). */
export const RED_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

const summary = (runId: string): RunSummary =>
  testRunSummary(runId, {
    deviceName: 'Phone <sim>',
    label: 'a "quoted", label',
    lastSeq: 30,
    params: { prompt: 'a ball', seed: 5, steps: 4 },
  });

/** One run of a report. */
export function sampleRun(runId: string, log = sampleLog()): ReportRun {
  return {
    summary: summary(runId),
    device: {
      id: 'dev-1',
      name: 'Phone <sim>',
      model: 'iphone-15-pro',
      role: 'target',
      simulated: true,
      engineVersion: '0.3.0',
      platform: 'node',
      backends: ['cpu'],
      memoryLimitBytes: 1000,
      models: [
        { name: 'opensora-nano', model: 'opensora-nano', bytes: 500, manifestSha256: 'ab'.repeat(32) },
      ],
    },
    params: { prompt: 'a <b>red</b> ball', seed: 42, steps: 4, lpl: { mode: 'fixed', leapStep: 2 } },
    preview: null,
    measures: measureRun(log),
    framesPng: [RED_PNG, RED_PNG],
    frameWidth: 1,
    frameHeight: 1,
  };
}

/** A report of a run and its baseline. */
export function sampleInput(): ReportInput {
  return {
    provenance: {
      appVersion: '0.1.0',
      engineVersion: '0.3.0',
      gitCommit: 'c'.repeat(40),
      host: 'web',
      generatedAtIso: '2026-11-26T12:00:00.000Z',
    },
    runs: [sampleRun('run-a'), sampleRun('run-b', sampleLog({ latencyMs: 200, peak: 400 }))],
    compare: {
      frames: 2,
      width: 1,
      height: 1,
      perFrame: [
        { index: 0, psnr: 30, ssim: 0.9, flickerA: null, flickerB: null },
        { index: 1, psnr: 31, ssim: 0.91, flickerA: 0.99, flickerB: 0.98 },
      ],
      clip: { psnr: 30.5, ssim: 0.905, flickerA: 0.99, flickerB: 0.98 },
      timing: { wallMsA: 521, wallMsB: 921, speedup: 921 / 521 },
      memory: { peakA: 300, peakB: 400, ratio: 0.75 },
    },
    compareError: null,
  };
}
