/**
 * `odsora bench engine`: what each technique buys on this machine, measured on one synthetic STDiT3 with the real
 * key layout. Every number comes from real runs of the denoise stage through a converted block set.
 */
import type { GraphTarget } from '../../shared/engine/onnx/graph-target';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertStdit3 } from '../../shared/engine/stdit3/convert';
import { openBlockSet } from '../../shared/engine/blockset/load';
import { BudgetError, type BudgetSpec } from '../../shared/engine/cidl/budget';
import { gaussianNoise } from '../../shared/engine/noise/gaussian';
import { runDenoise, Stdit3ModelCache, type DenoiseResult } from '../../shared/engine/stdit3/denoise-stage';
import type { DenoiseJob } from '../../shared/engine/pipeline/denoise-job';
import type { LplOptions } from '../../shared/engine/techniques/knobs';
import { describeLpl } from '../../shared/engine/techniques/summary';
import type { EngineEvent } from '../../shared/engine/telemetry';
import { ENGINE_VERSION } from '../../shared/engine/version';
import { createNodeEngineHost, type NodeEngineHost, type OrtPlacement } from '../engine-host/node-engine';
import { percentile } from '../../shared/metrics/percentile';
import { loadHiddenShare } from './trace-stats';
import { writeSyntheticStdit3 } from '../synth/synth-checkpoint';

/** Model sizes the bench knows (snake_case STDiT3 config overrides). */
export const BENCH_PRESETS: Record<string, Record<string, unknown>> = {
  bench: { depth: 12, hidden_size: 256, num_heads: 4, caption_channels: 256, model_max_length: 32 },
  nano: { depth: 4, hidden_size: 256, num_heads: 4, caption_channels: 64, model_max_length: 32 },
  mid: { depth: 4, hidden_size: 576, num_heads: 8, caption_channels: 1024, model_max_length: 64 },
};

const BASE_CONFIG = {
  patch_size: [1, 2, 2],
  in_channels: 4,
  mlp_ratio: 4.0,
  qk_norm: true,
  pred_sigma: true,
  input_sq_size: 512,
};

/** Options of {@link runEngineBench}. */
export interface EngineBenchOptions {
  preset: string;
  frames: number;
  height: number;
  width: number;
  /** Steps timed per latency series (after one warm-up step). */
  steps: number;
  /** Interleaved rounds of every measurement (the machine's speed drifts). */
  rounds: number;
  /** Steps of the LPL comparison (paper: 30, LPL 16/30: the leap index 15). */
  lplSteps: number;
  threads: number;
  torch: boolean;
  /**
   * The graphs every measurement runs (onnx/graph-target.ts; default cpu), on ORT's CPU EP; `both`: cpu, plus
   * per-step latency of the coreml graphs in the same interleaved rounds (`graphTargets` in the result).
   */
  graphTarget?: GraphTarget | 'both';
  log: (line: string) => void;
}

/** Runs every measurement and returns one JSON-able object. */
export async function runEngineBench(opts: EngineBenchOptions): Promise<Record<string, unknown>> {
  const preset = BENCH_PRESETS[opts.preset];
  if (!preset)
    throw new Error(`unknown preset '${opts.preset}' (known: ${Object.keys(BENCH_PRESETS).join(', ')})`);
  const config = { ...BASE_CONFIG, ...preset };
  const work = await mkdtemp(join(tmpdir(), 'odsora-bench-'));
  const mainTarget: GraphTarget = opts.graphTarget === 'coreml' ? 'coreml' : 'cpu';
  const host = await createNodeEngineHost({
    placement: 'inline',
    threads: opts.threads,
    graphTarget: mainTarget,
  });
  const coremlHost =
    opts.graphTarget === 'both'
      ? await createNodeEngineHost({ placement: 'inline', threads: opts.threads, graphTarget: 'coreml' })
      : null;
  try {
    const ckpt = join(work, 'model.safetensors');
    const params = await writeSyntheticStdit3(host.fs, ckpt, config, 1);
    await convertStdit3({
      fs: host.fs,
      sha256: host.sha256,
      checkpoint: { files: [ckpt] },
      config,
      outDir: join(work, 'bs'),
      modelName: 'bench',
    });
    const blockSet = await openBlockSet(host.fs, host.sha256, join(work, 'bs'));
    const L = Number(preset['model_max_length']);
    const Cc = Number(preset['caption_channels']);
    const valid = Math.max(1, Math.floor((L * 2) / 3));
    const mask = new Int32Array(L).map((_, i) => (i < valid ? 1 : 0));
    const job = (over: Partial<DenoiseJob>): DenoiseJob => ({
      caption: { y: gaussianNoise(7, [1, L, Cc]), mask },
      latent: { frames: opts.frames, height: opts.height, width: opts.width },
      video: { heightPx: opts.height * 8, widthPx: opts.width * 8, numFrames: 68, fps: 24 },
      seed: 42,
      steps: opts.steps + 1,
      cfgScale: 7,
      lpl: { mode: 'off' },
      tdtm: { mergeSteps: 0 },
      cidl: { budget: { kind: 'unlimited' } },
      ...over,
    });
    const models = new Stdit3ModelCache();
    const run = async (
      j: DenoiseJob,
      h: NodeEngineHost = host,
      m = models,
    ): Promise<{ r: DenoiseResult; events: EngineEvent[] }> => {
      const events: EngineEvent[] = [];
      const r = await runDenoise(
        { blockSet, backend: h.backend, clock: h.clock, emit: (e) => events.push(e), models: m },
        j,
      );
      return { r, events };
    };
    const stepMs = (r: DenoiseResult): number[] => r.steps.slice(1).map((s) => s.latencyMs);

    opts.log('warm-up (compiles every graph)');
    await run(job({ steps: 2, tdtm: { mergeSteps: 1 } }));
    const coremlModels = new Stdit3ModelCache();
    if (coremlHost) await run(job({ steps: 2, tdtm: { mergeSteps: 1 } }), coremlHost, coremlModels);

    // Interleaved rounds: this machine's speed drifts, so each setting is sampled in every round.
    const rounds = opts.rounds;
    opts.log(`per-step latency, plain and TDTM (${rounds} rounds × ${opts.steps} steps)`);
    const plain: number[] = [];
    const merged: number[] = [];
    const coremlPlain: number[] = [];
    const coremlMerged: number[] = [];
    for (let i = 0; i < rounds; i++) {
      plain.push(...stepMs((await run(job({}))).r));
      if (coremlHost) coremlPlain.push(...stepMs((await run(job({}), coremlHost, coremlModels)).r));
      merged.push(...stepMs((await run(job({ tdtm: { mergeSteps: opts.steps + 1 } }))).r));
      if (coremlHost)
        coremlMerged.push(
          ...stepMs((await run(job({ tdtm: { mergeSteps: opts.steps + 1 } }), coremlHost, coremlModels)).r),
        );
    }
    await coremlModels.clear();

    const leapAt = Math.floor(opts.lplSteps / 2);
    opts.log(
      `${describeLpl({ mode: 'fixed', leapStep: leapAt }, opts.lplSteps)} vs ${opts.lplSteps}/${opts.lplSteps} (${rounds} rounds)`,
    );
    const leapLpl: LplOptions = { mode: 'fixed', leapStep: leapAt };
    const fullMs: number[] = [];
    const leapMs: number[] = [];
    let full: DenoiseResult | null = null;
    let leap: DenoiseResult | null = null;
    for (let i = 0; i < rounds; i++) {
      full = (await run(job({ steps: opts.lplSteps }))).r;
      leap = (await run(job({ steps: opts.lplSteps, lpl: leapLpl }))).r;
      fullMs.push(full.timings.denoiseMs);
      leapMs.push(leap.timings.denoiseMs);
    }

    opts.log(`CI-DL at budgets 100%, 50%, 20% (${rounds} rounds)`);
    const shares = [1, 0.5, 0.2];
    const samples = new Map<
      number,
      { steps: number[]; events: EngineEvent[][]; r?: DenoiseResult; unfit?: BudgetError }
    >(shares.map((sh) => [sh, { steps: [], events: [] }]));
    for (let i = 0; i < rounds; i++) {
      for (const share of shares) {
        const acc = samples.get(share);
        if (!acc || acc.unfit) continue;
        const budget: BudgetSpec = share === 1 ? { kind: 'unlimited' } : { kind: 'fraction', of: share };
        let ran: Awaited<ReturnType<typeof run>>;
        try {
          ran = await run(job({ cidl: { budget } }));
        } catch (e) {
          // a share smaller than the largest block (the nano preset at 20 %): a result, not a crash
          if (!(e instanceof BudgetError)) throw e;
          acc.unfit = e;
          continue;
        }
        const { r, events } = ran;
        acc.steps.push(...stepMs(r));
        acc.events.push(events);
        acc.r = r;
      }
    }
    const cidl: Record<string, unknown>[] = [];
    const baseP50 = percentile(samples.get(1)?.steps ?? [], 50);
    for (const share of shares) {
      const acc = samples.get(share);
      if (acc?.unfit) {
        cidl.push({ budgetShare: share, fits: false, reason: acc.unfit.reason });
        continue;
      }
      const r = acc?.r;
      if (!acc || !r) continue;
      const p50 = percentile(acc.steps, 50);
      const hidden = acc.events.map((ev) => loadHiddenShare(ev));
      const loadMs = hidden.reduce((a, h) => a + h.loadMs, 0);
      const exposedMs = hidden.reduce((a, h) => a + h.exposedMs, 0);
      cidl.push({
        budgetShare: share,
        fits: true,
        budgetBytes: r.plan.budgetBytes,
        mode: r.plan.mode,
        retained: r.plan.retained.length,
        blocks: blockSet.denoiserBlocks().length,
        predictedPeakBytes: r.plan.predictedPeakBytes,
        peakResidentBytes: r.peakResidentBytes,
        withinBudget: r.plan.budgetBytes === null || r.peakResidentBytes <= r.plan.budgetBytes,
        loadsPerRun: r.loads,
        stepP50Ms: p50,
        overheadVsAllResident: baseP50 > 0 ? p50 / baseP50 - 1 : 0,
        loadMsTotal: loadMs,
        loadMsExposed: exposedMs,
        loadHiddenShare: loadMs > 0 ? 1 - exposedMs / loadMs : 1,
        loadsOverlappingCompute: hidden.reduce((a, h) => a + h.overlapping, 0),
      });
    }

    opts.log('ONNX Runtime on the engine thread (default) vs in a worker thread');
    const workerHost = await createNodeEngineHost({ placement: 'worker', threads: opts.threads });
    let inWorker: number[];
    try {
      const m2 = new Stdit3ModelCache();
      await run(job({ steps: 2 }), workerHost, m2);
      inWorker = stepMs((await run(job({}), workerHost, m2)).r);
      await m2.clear();
    } finally {
      await workerHost.close();
    }
    await models.clear();

    let torch: Record<string, unknown> | null = null;
    if (opts.torch) {
      opts.log('PyTorch reference, same weights and shapes');
      torch = runTorchBench(ckpt, opts, L, valid);
    }
    const p = (xs: number[]): { p50: number; p90: number } => ({
      p50: percentile(xs, 50),
      p90: percentile(xs, 90),
    });
    const torchP50 = typeof torch?.['p50_ms'] === 'number' ? torch['p50_ms'] : null;
    return {
      bench: 'engine',
      engineVersion: ENGINE_VERSION,
      backend: host.backend.name,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        threads: opts.threads,
      },
      model: {
        preset: opts.preset,
        config,
        params,
        blockSetBytes: blockSet.denoiserBlocks().reduce((s, b) => s + b.bytes, 0),
      },
      shape: {
        batch: 2,
        frames: opts.frames,
        height: opts.height,
        width: opts.width,
        captionLength: L,
        validTokens: valid,
      },
      graphTarget: mainTarget,
      perStepMs: { plain: p(plain), tdtmMerged: p(merged), samplesEach: plain.length },
      graphTargets: coremlHost
        ? {
            backend: coremlHost.backend.name,
            cpu: { plain: p(plain), tdtmMerged: p(merged) },
            coreml: { plain: p(coremlPlain), tdtmMerged: p(coremlMerged) },
            coremlVsCpuPlain: p(coremlPlain).p50 / p(plain).p50,
            coremlVsCpuTdtm: p(coremlMerged).p50 / p(merged).p50,
          }
        : null,
      tdtmSpeedupFullyMerged: p(plain).p50 / p(merged).p50,
      lpl: {
        steps: opts.lplSteps,
        leapStep: leapAt,
        fullDenoiseMsP50: percentile(fullMs, 50),
        leapDenoiseMsP50: percentile(leapMs, 50),
        modelCalls: { full: full?.modelCalls, leap: leap?.modelCalls },
        speedup: percentile(fullMs, 50) / percentile(leapMs, 50),
      },
      cidl,
      ortPlacement: {
        engineThreadP50Ms: p(plain).p50,
        workerP50Ms: p(inWorker).p50,
        workerOverhead: p(inWorker).p50 / p(plain).p50 - 1,
      },
      pytorch: torch,
      engineVsPytorchPerStep: torchP50 ? p(plain).p50 / torchP50 : null,
    };
  } finally {
    await host.close();
    await coremlHost?.close();
    await rm(work, { recursive: true, force: true });
  }
}

function runTorchBench(
  ckpt: string,
  opts: EngineBenchOptions,
  L: number,
  valid: number,
): Record<string, unknown> {
  const args = [
    'tools/reference/bench_stdit3.py',
    '--weights',
    ckpt,
    '--frames',
    String(opts.frames),
    '--height',
    String(opts.height),
    '--width',
    String(opts.width),
    '--caption-length',
    String(L),
    '--valid-tokens',
    String(valid),
    '--steps',
    String(opts.steps),
    '--tdtm-steps',
    String(opts.steps),
    '--warmup',
    '1',
    '--threads',
    String(opts.threads),
  ];
  const env = {
    ...process.env,
    OMP_NUM_THREADS: String(opts.threads),
    OPENBLAS_NUM_THREADS: String(opts.threads),
  };
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env, maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0) {
    return {
      error: `PyTorch bench failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' ')}`,
    };
  }
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export type { OrtPlacement };
