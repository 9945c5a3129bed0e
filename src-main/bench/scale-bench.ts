/**
 * `odsora bench scale`: the full-size Open-Sora v1.2 (T5-XXL, STDiT3-XL/2, the VAE: 6.36 B numbers) on this
 * machine, from a synthetic checkpoint in the released layouts (created in the cache when missing):
 *
 * - conversion (float32, and T5 int8 + STDiT3 f16 "phone"): time and peak RSS, measured from outside the process;
 * - `odsora generate` of 17 frames at 64×64 under a 3.3 GB process limit for both block sets, in a child process
 *   whose RSS is sampled from outside: per stage the bytes loaded (per step for the denoiser), the share of load
 *   time hidden behind compute, step time, the predicted and measured peak;
 * - the denoiser at 3.3 GB against everything resident (this machine holds the 4.6 GB of float32 pairs), for the
 *   CI-DL overhead; T5 float32 against int8 (time and the error int8 adds to its output);
 * - a STDiT3-XL pair's effective FLOP/s beside ONNX Runtime's GEMM rate on the same shapes, and the projected time
 *   of a 30-step 51-frame 256×256 video from a pair, part1/part2, a VAE chunk and micro-batch timed at that shape.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockBufferPool } from '../../shared/engine/blockset/buffer-pool';
import { openBlockSet, type BlockSet } from '../../shared/engine/blockset/load';
import type { BudgetSpec } from '../../shared/engine/cidl/budget';
import type { StageMemoryReport } from '../../shared/engine/cidl/memory-limit';
import { gaussianNoise } from '../../shared/engine/noise/gaussian';
import { denoiserConfig, runDenoise, Stdit3ModelCache } from '../../shared/engine/stdit3/denoise-stage';
import { loadTokenizer } from '../../shared/engine/pipeline/generate';
import { runTextStage, T5EncoderCache } from '../../shared/engine/t5/text-stage';
import type { EngineEvent } from '../../shared/engine/telemetry';
import { ENGINE_VERSION } from '../../shared/engine/version';
import { createNodeEngineHost, type NodeEngineHost } from '../engine-host/node-engine';
import type { SynthPreset } from '../synth/presets';
import { gemmRate, pairGemms, timePair, timeVae } from './scale-measure';
import { percentile } from '../../shared/metrics/percentile';
import { loadHiddenShare } from './trace-stats';

/** Options of {@link runScaleBench}. */
export interface ScaleBenchOptions {
  /** Where the synthetic model and its block sets live (`<cache>/synth`, `<cache>/bench`). */
  readonly cacheRoot: string;
  /** The built command line (child processes run it). */
  readonly cliPath: string;
  /** The process limit (3.3 GB: an iPhone 15 Pro app). */
  readonly limitBytes: number;
  /** Denoising steps per generate (the first includes compilation and hashing; later ones are the median). */
  readonly steps: number;
  /** Timed repetitions of each single measurement. */
  readonly runs: number;
  /** Convert again even when the block sets exist. */
  readonly reconvert: boolean;
  /** Skip the 256×256 projection (several minutes). */
  readonly skipProjection: boolean;
  /** The synthetic model (default the full `opensora-v1.2`; a depth-cut preset for a quick check). */
  readonly preset?: SynthPreset;
  readonly log: (line: string) => void;
}

const PROMPT = 'a red ball bouncing on a sandy beach at sunset';
const BLOCK_SETS = [
  { name: 'f32', precision: 'f32' },
  { name: 'phone', precision: 't5=int8,stdit=f16,vae=f32' },
] as const;

/** A child `odsora` run with its RSS sampled from outside every 20 ms (VmRSS and VmHWM). */
async function runChild(
  cliPath: string,
  args: readonly string[],
  log: (line: string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string; peakRssBytes: number; seconds: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peak = 0;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const last = d.toString().trim().split('\n').pop();
    if (last) log(`  ${last}`);
  });
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      for (const key of ['VmRSS', 'VmHWM']) {
        const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      }
    } catch {
      // not started yet, or gone
    }
  };
  const timer = setInterval(sample, 20);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  return { code, stdout, stderr, peakRssBytes: peak, seconds: (performance.now() - started) / 1000 };
}

/** Events of one stage (block ids carry the stage's prefix; step events belong to the denoiser). */
function stageEvents(events: readonly EngineEvent[], prefix: string): EngineEvent[] {
  return events.filter((e) => ('block' in e ? e.block.startsWith(prefix) : false));
}

/** Block events of the denoiser from step 1 on (step 0 compiles graphs and hashes every block). */
function steadyDenoiseEvents(events: readonly EngineEvent[]): EngineEvent[] {
  const out: EngineEvent[] = [];
  let step = -1;
  for (const e of events) {
    if (e.type === 'step.start') step = e.step;
    if (step >= 1 && 'block' in e && e.block.startsWith('denoiser/')) out.push(e);
  }
  return out;
}

interface RunJson {
  timings: { textMs: number; denoiseMs: number; decodeMs: number; steps: { latencyMs: number }[] };
  denoise: {
    plan: { loadBytesPerPass: number; retained: string[]; mode: string; budgetBytes: number | null };
  };
  memory: { processPeakBytes: number; stages: (StageMemoryReport & { predictionError: number | null })[] };
  events: EngineEvent[];
}

/** One `generate` under the limit: per-stage numbers from its run.json, the peak from outside. */
async function generateUnderLimit(
  o: ScaleBenchOptions,
  setDir: string,
  work: string,
  name: string,
): Promise<Record<string, unknown>> {
  const out = join(work, `generate-${name}`);
  const r = await runChild(
    o.cliPath,
    [
      'generate',
      '--model',
      setDir,
      '--prompt',
      PROMPT,
      '--seed',
      '7',
      '--frames',
      '17',
      '--height',
      '64',
      '--width',
      '64',
      '--steps',
      String(o.steps),
      '--memory-limit',
      String(o.limitBytes),
      '--json',
      '--out',
      out,
    ],
    o.log,
  );
  if (r.code !== 0) return { ok: false, error: r.stderr.trim().split('\n').pop() ?? `exit ${r.code}` };
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunJson;
  const stages: Record<string, unknown> = {};
  const prefixes = { text: 'text/', denoise: 'denoiser/', decode: 'decode/' } as const;
  for (const m of run.memory.stages) {
    const ev = stageEvents(run.events, prefixes[m.stage]);
    const loads = ev.filter(
      (e): e is Extract<EngineEvent, { type: 'block.load.end' }> => e.type === 'block.load.end',
    );
    const hidden = loadHiddenShare(ev);
    stages[m.stage] = {
      budgetBytes: m.budgetBytes,
      bytesLoaded: loads.reduce((s, e) => s + e.bytes, 0),
      loadHiddenShare: hidden.hiddenShare,
      predictedPeakBytes: m.predictedPeakBytes,
      measuredPeakBytes: m.measuredPeakBytes,
      predictionError: m.predictionError,
      workBytes: m.work,
    };
  }
  const steady = loadHiddenShare(steadyDenoiseEvents(run.events));
  const stepMs = run.timings.steps.slice(1).map((s) => s.latencyMs);
  return {
    ok: true,
    processPeakBytes: run.memory.processPeakBytes,
    peakRssFromOutsideBytes: r.peakRssBytes,
    withinLimit: r.peakRssBytes <= o.limitBytes,
    seconds: r.seconds,
    timings: { textMs: run.timings.textMs, denoiseMs: run.timings.denoiseMs, decodeMs: run.timings.decodeMs },
    stages,
    denoiseSteady: {
      stepMsMedian: percentile(stepMs, 50),
      bytesLoadedPerStep: run.denoise.plan.loadBytesPerPass,
      retained: run.denoise.plan.retained.length,
      mode: run.denoise.plan.mode,
      loadHiddenShare: steady.hiddenShare,
      loadMs: steady.loadMs,
      exposedLoadMs: steady.exposedMs,
    },
  };
}

/** The denoiser alone (random caption) at two budgets in this process: step times and load hiding. */
async function denoiseAtBudgets(
  host: NodeEngineHost,
  blockSet: BlockSet,
  o: ScaleBenchOptions,
): Promise<Record<string, unknown>> {
  const cfg = denoiserConfig(blockSet);
  const L = cfg.modelMaxLength;
  const result: Record<string, unknown> = {};
  const budgets: [string, BudgetSpec][] = [
    ['limit', { kind: 'process', limitBytes: o.limitBytes }],
    ['allResident', { kind: 'unlimited' }],
  ];
  for (const [name, budget] of budgets) {
    const models = new Stdit3ModelCache();
    const events: EngineEvent[] = [];
    let memory: StageMemoryReport | null = null;
    const r = await runDenoise(
      {
        blockSet,
        backend: host.backend,
        clock: host.clock,
        probe: host.probe,
        emit: (e) => events.push(e),
        models,
        memory: new BlockBufferPool(() => host.probe.reclaim?.()),
        onMemory: (m) => (memory = m),
      },
      {
        caption: { y: gaussianNoise(3, [1, L, cfg.captionChannels]), mask: new Int32Array(L).fill(1) },
        latent: { frames: 5, height: 8, width: 8 },
        video: { heightPx: 64, widthPx: 64, numFrames: 17, fps: 24 },
        seed: 7,
        steps: o.steps,
        cfgScale: 7,
        lpl: { mode: 'off' },
        tdtm: { mergeSteps: 0 },
        cidl: { budget },
      },
    );
    await models.clear();
    host.probe.reclaim?.();
    const steady = loadHiddenShare(steadyDenoiseEvents(events));
    result[name] = {
      budgetBytes: r.plan.budgetBytes,
      mode: r.plan.mode,
      retained: r.plan.retained.length,
      bytesLoadedPerStep: r.plan.loadBytesPerPass,
      stepMsMedian: percentile(
        r.steps.slice(1).map((s) => s.latencyMs),
        50,
      ),
      loadHiddenShare: steady.hiddenShare,
      measuredPeakBytes: (memory as StageMemoryReport | null)?.measuredPeakBytes ?? null,
    };
  }
  const lim = result['limit'] as { stepMsMedian: number };
  const all = result['allResident'] as { stepMsMedian: number };
  result['overheadVsAllResident'] = lim.stepMsMedian / all.stepMsMedian - 1;
  return result;
}

/** T5 at two precisions on the same tokens: stage time and what int8 changes in the output. */
async function t5Precisions(
  host: NodeEngineHost,
  f32: BlockSet,
  int8: BlockSet,
  o: ScaleBenchOptions,
): Promise<Record<string, unknown>> {
  const tok = (await loadTokenizer(f32)).encode(`${PROMPT} aesthetic score: 6.5.`);
  const run = async (set: BlockSet): Promise<{ y: Float32Array; ms: number; peak: number | null }> => {
    const models = new T5EncoderCache();
    let peak: number | null = null;
    const t = performance.now();
    const r = await runTextStage(
      {
        blockSet: set,
        backend: host.backend,
        clock: host.clock,
        probe: host.probe,
        emit: () => undefined,
        models,
        memory: new BlockBufferPool(() => host.probe.reclaim?.()),
        onMemory: (m) => (peak = m.measuredPeakBytes),
      },
      { ids: tok.ids, mask: tok.mask },
      { budget: { kind: 'process', limitBytes: o.limitBytes }, verify: 'off' },
    );
    const ms = performance.now() - t;
    await models.clear();
    host.probe.reclaim?.();
    return { y: r.y.data, ms, peak };
  };
  const a = await run(f32);
  const b = await run(int8);
  // Over the prompt's valid rows only (padding rows are not read by the denoiser).
  const D = a.y.length / tok.mask.length;
  let maxAbs = 0;
  let range = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < tok.validLength * D; i++) {
    const x = a.y[i] as number;
    const y = b.y[i] as number;
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
    range = Math.max(range, Math.abs(x));
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return {
    tokens: tok.validLength,
    f32: { stageMs: a.ms, measuredPeakBytes: a.peak },
    int8: { stageMs: b.ms, measuredPeakBytes: b.peak },
    speedup: a.ms / b.ms,
    int8Error: { maxAbs, relativeToRange: range > 0 ? maxAbs / range : 0, cosine: dot / Math.sqrt(na * nb) },
  };
}

/** Converts the synthetic model at `precision` unless the block set is there (timings kept beside it). */
async function ensureBlockSet(
  o: ScaleBenchOptions,
  synthDir: string,
  dir: string,
  precision: string,
): Promise<Record<string, unknown>> {
  const sidecar = `${dir}.convert.json`;
  if (existsSync(join(dir, 'manifest.json')) && existsSync(sidecar) && !o.reconvert)
    return { ...(JSON.parse(readFileSync(sidecar, 'utf8')) as Record<string, unknown>), reused: true };
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
  o.log(`converting the synthetic model at ${precision} into ${dir}`);
  const r = await runChild(
    o.cliPath,
    ['convert', '--model-dir', synthDir, '--out', dir, '--precision', precision, '--json'],
    o.log,
  );
  if (r.code !== 0) throw new Error(`convert failed: ${r.stderr.trim().split('\n').pop() ?? r.code}`);
  const out = JSON.parse(r.stdout) as { bytes: number };
  const record = { precision, seconds: r.seconds, peakRssFromOutsideBytes: r.peakRssBytes, bytes: out.bytes };
  writeFileSync(sidecar, `${JSON.stringify(record, null, 2)}\n`);
  return { ...record, reused: false };
}

/** Runs the whole bench (see the module comment) and returns one JSON-able object. */
export async function runScaleBench(o: ScaleBenchOptions): Promise<Record<string, unknown>> {
  const preset = o.preset ?? 'opensora-v1.2';
  const synthDir = join(o.cacheRoot, 'synth', preset);
  let synth: Record<string, unknown> = { dir: synthDir, reused: true };
  if (!existsSync(join(synthDir, 'stdit', 'config.json'))) {
    o.log(`writing the synthetic ${preset} checkpoint into ${synthDir}`);
    const r = await runChild(
      o.cliPath,
      ['synth-checkpoint', '--preset', preset, '--dtype', 'bf16', '--t5-format', 'bin', '--out', synthDir],
      o.log,
    );
    if (r.code !== 0)
      throw new Error(`synth-checkpoint failed: ${r.stderr.trim().split('\n').pop() ?? r.code}`);
    synth = { dir: synthDir, reused: false, seconds: r.seconds, peakRssFromOutsideBytes: r.peakRssBytes };
  }
  const conversion: Record<string, unknown> = {};
  const dirs: Record<string, string> = {};
  for (const s of BLOCK_SETS) {
    dirs[s.name] = join(o.cacheRoot, 'bench', `${preset}-${s.name}`);
    conversion[s.name] = await ensureBlockSet(o, synthDir, dirs[s.name] as string, s.precision);
  }

  const work = await mkdtemp(join(tmpdir(), 'odsora-scale-'));
  const generate: Record<string, unknown> = {};
  try {
    for (const s of BLOCK_SETS) {
      o.log(`generate on ${s.name} under ${o.limitBytes} bytes`);
      generate[s.name] = await generateUnderLimit(o, dirs[s.name] as string, work, s.name);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const host = await createNodeEngineHost({ placement: 'inline' });
  try {
    const f32 = await openBlockSet(host.fs, host.sha256, dirs['f32'] as string);
    const phone = await openBlockSet(host.fs, host.sha256, dirs['phone'] as string);
    o.log('denoiser: 3.3 GB vs everything resident (f32, then f16)');
    const denoise = {
      f32: await denoiseAtBudgets(host, f32, o),
      f16: await denoiseAtBudgets(host, phone, o),
    };
    o.log('T5: float32 vs int8');
    const t5 = await t5Precisions(host, f32, phone, o);

    o.log('a STDiT3-XL pair at 17 frames of 64×64 vs ONNX Runtime GEMMs of the same shapes');
    const cfg = denoiserConfig(f32);
    const L = cfg.modelMaxLength;
    const F = Math.round(cfg.hiddenSize * cfg.mlpRatio);
    const small = { batch: 2, frames: 5, height: 8, width: 8, captionLength: L };
    const pairSmall = await timePair(host.backend, f32, small, o.runs);
    const gemmSmall = await gemmRate(host.backend, pairGemms(cfg.hiddenSize, F, 2, 5 * 16, L), o.runs);
    const efficiency = {
      shape: '17 frames of 64×64 (latent 5×8×8, 80 tokens), CFG batch 2',
      pairMs: pairSmall.ms,
      pairGflopPerRun: pairSmall.flops / 1e9,
      pairEffectiveGflops: pairSmall.flops / pairSmall.ms / 1e6,
      gemmGflops: gemmSmall.gflops,
      gemms: gemmSmall.perShape,
    };

    let projection: Record<string, unknown> | null = null;
    if (!o.skipProjection) {
      o.log('projection: a pair, part1/part2, a VAE chunk and micro-batch at 51 frames of 256×256 (minutes)');
      const big = { batch: 2, frames: 15, height: 32, width: 32, captionLength: L };
      const pairBig = await timePair(host.backend, f32, big, Math.max(1, Math.min(o.runs, 2)));
      const gemmBig = await gemmRate(host.backend, pairGemms(cfg.hiddenSize, F, 2, 15 * 256, L), 1);
      const vae = await timeVae(host.backend, f32, { height: 32, width: 32 }, 1);
      const stepMs = pairBig.part1Ms + cfg.depth * pairBig.ms + pairBig.part2Ms;
      const chunks = 3; // 51 frames: 3 temporal chunks of 17
      const microBatches = Math.ceil(51 / vae.microBatch);
      const textMs = (t5['f32'] as { stageMs: number }).stageMs;
      const vaeMs = chunks * vae.temporalChunkMs + microBatches * vae.spatialMicroBatchMs;
      projection = {
        video: '30 steps, 51 frames of 256×256 (latent 15×32×32, 3840 tokens), CFG batch 2, float32',
        pairMs: pairBig.ms,
        pairEffectiveGflops: pairBig.flops / pairBig.ms / 1e6,
        gemmGflops: gemmBig.gflops,
        stepMs,
        t5Ms: textMs,
        vae: { ...vae, chunks, microBatches, totalMs: vaeMs },
        totalSeconds: (textMs + 30 * stepMs + vaeMs) / 1000,
        withLpl16Seconds: (textMs + 16 * stepMs + vaeMs) / 1000,
        note: 'CI-DL loads are hidden at this shape (a pair computes for seconds, its 170 MB load takes a tenth of one)',
      };
    }
    return {
      format: 'odsora-bench-scale',
      version: 1,
      engineVersion: ENGINE_VERSION,
      createdAt: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model ?? null,
        cores: cpus().length,
        backend: host.backend.name,
        node: process.version,
      },
      preset,
      limitBytes: o.limitBytes,
      steps: o.steps,
      synth,
      conversion,
      generate,
      denoise,
      t5,
      efficiency,
      projection,
    };
  } finally {
    await host.close();
  }
}
