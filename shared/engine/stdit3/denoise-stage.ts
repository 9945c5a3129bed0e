/**
 * The denoise stage: the rectified-flow sampler (with LPL) driving STDiT3 block by block under the CI-DL
 * scheduler, with TDTM variants for the first merge steps.
 *
 * One step = one pass over `part1, pair.0 … pair.{depth−1}, part2` with the CFG batch of 2; the scheduler loads,
 * keeps and releases block weights around the compute, and every phase emits typed telemetry.
 */
import { computeWithPlacement } from '../placement-tally';
import type { BlockSet } from '../blockset/load';
import { stagePrecision } from '../blockset/manifest';
import { weightRowsInto, type Precision, type WeightMap } from '../blockset/precision';
import { replayStagePeak, stageLocal } from '../cidl/memory-limit';
import type { Plan } from '../cidl/plan';
import { openStage, type StageContext } from '../cidl/stage-scheduler';
import { gaussianNoise } from '../noise/gaussian';
import type { InferenceBackend } from '../ports';
import { sampleRectifiedFlow, type StepRecord, type StepState } from '../sampler/rectified-flow';
import { validateLplOptions } from '../techniques/validate';
import { samplingTimesteps } from '../sampler/timesteps';
import { stdit3ConfigFromJson, type Stdit3Config } from './config';
import { denoiseSessions } from './memory';
import { Stdit3Model, type Stdit3State } from './model';
import { floatTensor, type FloatTensor } from '../tensor';
import { validateDenoiseJob, type DenoiseJob } from '../pipeline/denoise-job';

/** Everything the stage needs from its host: the stage ports plus its model cache and observers. */
export interface DenoiseContext extends StageContext {
  /** Compiled graphs by shape, reused across runs of the same host (optional). */
  readonly models?: Stdit3ModelCache;
  /** Observes every model call (verification and debugging). */
  readonly onModelCall?: (call: {
    step: number;
    zIn: FloatTensor;
    tIn: Float32Array;
    out: FloatTensor;
  }) => void;
  /**
   * Observes each step's tensors between passes (previews; see `StepState`), awaited before the next step.
   * `cidl` is the stage's residency at that moment: `budgetBytes` the resolved budget (null = unlimited) and
   * `residentBytes` the denoiser block bytes loaded or loading (retained blocks, plus the next pass's prefetch);
   * they stay resident while the observer runs. `final`: the run ends with this step (last or LPL leap).
   */
  readonly afterStep?: (
    record: StepRecord,
    state: StepState,
    info: { final: boolean; cidl: { budgetBytes: number | null; residentBytes: number } },
  ) => void | Promise<void>;
}

/** What a denoise run returns. */
export interface DenoiseResult {
  /** The denoised latent [1, Cin, T, H, W]. */
  readonly z: FloatTensor;
  /** The initial noise the run started from. */
  readonly z0: FloatTensor;
  readonly timesteps: Float32Array;
  readonly leapStep: number | null;
  readonly modelCalls: number;
  readonly steps: readonly StepRecord[];
  readonly plan: Plan;
  /** The most block bytes that were loaded or loading at once. */
  readonly peakResidentBytes: number;
  /** Block loads performed and their total bytes. */
  readonly loads: { count: number; bytes: number };
  /** Wall time of graph compilation (0 when cached) and of the sampling loop. */
  readonly timings: { compileMs: number; denoiseMs: number };
}

/** Caches compiled STDiT3 sessions per (config, shape). */
export class Stdit3ModelCache {
  private readonly models = new Map<string, Promise<Stdit3Model>>();

  /** The model for a shape and weight precision, compiling it on first use. */
  get(
    backend: InferenceBackend,
    cfg: Stdit3Config,
    shape: Parameters<typeof Stdit3Model.create>[2],
    precision: Precision = 'f32',
  ): Promise<Stdit3Model> {
    const key = JSON.stringify([cfg, shape, precision]);
    let m = this.models.get(key);
    if (!m) {
      m = Promise.resolve(Stdit3Model.create(backend, cfg, shape, precision));
      this.models.set(key, m);
      m.catch(() => this.models.delete(key));
    }
    return m;
  }

  /** Releases every compiled session. */
  async clear(): Promise<void> {
    const all = [...this.models.values()];
    this.models.clear();
    for (const m of all) await (await m.catch(() => null))?.release();
  }
}

/** The denoiser config of a block set. */
export function denoiserConfig(blockSet: BlockSet): Stdit3Config {
  const stage = blockSet.manifest.stages.denoiser;
  if (!stage) throw new Error(`${blockSet.dir}: the block set has no denoiser stage`);
  return stdit3ConfigFromJson(stage.config);
}

/** How a block set's denoiser stage stores its weights. */
export function denoiserPrecision(blockSet: BlockSet): Precision {
  const stage = blockSet.manifest.stages.denoiser;
  return stage ? stagePrecision(stage) : 'f32';
}

/** Runs the sampler over the block set's STDiT3. */
export async function runDenoise(ctx: DenoiseContext, job: DenoiseJob): Promise<DenoiseResult> {
  const { blockSet, clock, emit } = ctx;
  const cfg = denoiserConfig(blockSet);
  validateDenoiseJob(job, cfg.modelMaxLength);
  validateLplOptions(job.lpl, job.steps);
  const { frames: T, height: H, width: W } = job.latent;
  const L = job.caption.mask.length;
  const z0 = job.z0 ?? gaussianNoise(job.seed ?? 0, [1, cfg.inChannels, T, H, W]);
  if (z0.dims.join() !== [1, cfg.inChannels, T, H, W].join())
    throw new Error(
      `invalid job: z0 has shape [${z0.dims.join(', ')}], expected [1, ${cfg.inChannels}, ${T}, ${H}, ${W}]`,
    );

  // Compile (or reuse) the graphs for this shape.
  const t0 = clock.nowMs();
  emit({ type: 'stage.start', atMs: t0, stage: 'load' });
  const cache = ctx.models ?? new Stdit3ModelCache();
  const model = await cache.get(
    ctx.backend,
    cfg,
    { batch: 2, frames: T, height: H, width: W, captionLength: L },
    denoiserPrecision(blockSet),
  );
  const t1 = clock.nowMs();
  emit({ type: 'stage.end', atMs: t1, stage: 'load', durationMs: t1 - t0 });

  // CI-DL plan over the denoiser's blocks.
  const entries = blockSet.denoiserBlocks();
  const sessions = denoiseSessions(cfg, model.shape, model.precision, { tdtm: job.tdtm.mergeSteps > 0 });
  const opened = await openStage(ctx, {
    stage: 'denoise',
    prefix: 'denoiser/',
    entries,
    sessions,
    budget: job.cidl.budget,
    verify: job.cidl.verify,
  });
  const { budgetBytes } = opened;
  const { blocks, plan, scheduler } = opened.schedule(entries, {
    passes: job.steps,
    policy: job.cidl.policy,
    prefetch: job.cidl.prefetch,
  });

  const timesteps = samplingTimesteps({
    steps: job.steps,
    discrete: job.timesteps?.discrete ?? true,
    transform: {
      enabled: job.timesteps?.transform ?? true,
      heightPx: job.video.heightPx,
      widthPx: job.video.widthPx,
      numFrames: job.video.numFrames,
      ratioTime: job.timesteps?.ratioTime ?? 'python',
    },
  });
  const yPrompt = captionRows(job.caption.y, L, cfg.captionChannels);

  emit({ type: 'stage.start', atMs: clock.nowMs(), stage: 'denoise' });
  const tDenoise = clock.nowMs();
  let result;
  try {
    result = await sampleRectifiedFlow({
      z0,
      timesteps,
      cfgScale: job.cfgScale,
      lpl: job.lpl,
      clock,
      signal: ctx.signal,
      onStep: (r) =>
        emit({
          type: 'step.end',
          atMs: clock.nowMs(),
          step: r.step,
          t: r.t,
          latencyMs: r.latencyMs,
          cosine: r.cosine,
          merged: r.step < job.tdtm.mergeSteps,
          leapt: r.leapt,
        }),
      afterStep:
        ctx.afterStep &&
        ((r, state) =>
          ctx.afterStep?.(r, state, {
            final: r.leapt || r.step === job.steps - 1,
            cidl: { budgetBytes, residentBytes: scheduler.residentBytes },
          })),
      model: async (zIn, tIn, step) => {
        const merged = step < job.tdtm.mergeSteps;
        emit({ type: 'step.start', atMs: clock.nowMs(), step, t: tIn[0] ?? 0, merged });
        const pass: { state?: Stdit3State; tokens?: FloatTensor; out?: FloatTensor } = {};
        await scheduler.runPass(
          step,
          computeWithPlacement(model.placements, async (id, weights) => {
            const local = id.slice('denoiser/'.length);
            if (local === 'part1') {
              const state = await model.part1(weights, {
                x: zIn,
                timestep: tIn,
                y: withNullCaption(yPrompt, weights, L, cfg.captionChannels),
                mask: { rows: 1, data: job.caption.mask },
                fps: job.video.fps,
                heightPx: job.video.heightPx,
                widthPx: job.video.widthPx,
                tFreqTable: job.tFreqTable,
              });
              pass.state = state;
              pass.tokens = state.tokens;
            } else {
              const { state, tokens } = pass;
              if (!state || !tokens) throw new Error(`${id} ran before part1`);
              if (local === 'part2') {
                pass.out = await model.part2(weights, tokens, state.t);
              } else {
                const index = Number(local.slice('pair.'.length));
                pass.tokens = (await model.pair(merged, weights, index, { ...state, tokens })).tokens;
              }
            }
          }),
          {
            variant: (id) => (merged && id.includes('/pair.') ? 'tdtm' : 'plain'),
            signal: ctx.signal,
            isLastPass: step === job.steps - 1 || isFixedLeap(job, step),
          },
        );
        const out = pass.out;
        if (!out) throw new Error('the denoiser pass produced no output');
        ctx.onModelCall?.({ step, zIn, tIn, out });
        return out;
      },
    });
  } catch (e) {
    await scheduler.releaseAll('error').catch(() => undefined);
    ctx.memory?.trim();
    throw e;
  }
  await scheduler.releaseAll(result.leapStep !== null ? 'leap' : 'end-of-run');
  ctx.memory?.trim();
  if (ctx.onMemory)
    ctx.onMemory(
      await opened.meter.report(
        'denoise',
        opened.work,
        plan,
        replayStagePeak(blocks, plan, job.steps, true, opened.extras, {
          ...sessions,
          localId: stageLocal('denoiser/'),
        }),
      ),
    );
  const tEnd = clock.nowMs();
  emit({ type: 'stage.end', atMs: tEnd, stage: 'denoise', durationMs: tEnd - tDenoise });
  return {
    z: result.z,
    z0,
    timesteps,
    leapStep: result.leapStep,
    modelCalls: result.modelCalls,
    steps: result.steps,
    plan,
    peakResidentBytes: scheduler.peakResidentBytes,
    loads: { ...scheduler.loads },
    timings: { compileMs: t1 - t0, denoiseMs: tEnd - tDenoise },
  };
}

function isFixedLeap(job: DenoiseJob, step: number): boolean {
  return job.lpl.mode === 'fixed' && job.lpl.leapStep === step;
}

/** The prompt rows [L, Cc] of a caption tensor [1, L, Cc] or [1, 1, L, Cc]. */
function captionRows(y: FloatTensor, L: number, Cc: number): Float32Array {
  if (y.data.length !== L * Cc)
    throw new Error(
      `invalid job: caption.y has ${y.data.length} values, expected 1 × ${L} × ${Cc} (model caption width ${Cc})`,
    );
  return y.data;
}

/** The CFG caption batch [2, L, Cc]: the prompt, then the first L rows of the learned null caption. */
function withNullCaption(prompt: Float32Array, part1: WeightMap, L: number, Cc: number): FloatTensor {
  const yNull = part1.get('y_embedder.y_embedding');
  if (!yNull) throw new Error('block part1 has no y_embedder.y_embedding');
  const y = new Float32Array(2 * L * Cc);
  y.set(prompt, 0);
  weightRowsInto(yNull, 0, L, y, L * Cc);
  return floatTensor([2, L, Cc], y);
}
