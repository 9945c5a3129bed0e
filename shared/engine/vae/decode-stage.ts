/**
 * The decode stage (spec 7.3): latent → video with the Open-Sora v1.2 VAE, block by block under CI-DL.
 *
 * 1. Temporal phase (when the config has a temporal VAE): one scheduler pass per 5-latent chunk over
 *    `decode/temporal.in, decode/temporal.stage{n−1} … decode/temporal.stage0`; `temporal.in` also de-normalises
 *    z (z·scale + shift, on the first pass). Each chunk decodes independently with num_frames = min(17, left) and
 *    its first (4 − num_frames mod 4) mod 4 frames are dropped; the chunks concatenate to x_z [B, 4, numFrames, H, W].
 * 2. Spatial phase: frames flattened batch-major, one pass per micro-batch of `micro_batch_size` frames over
 *    `decode/spatial.pre, decode/spatial.up.{0..}, decode/spatial.out` on x_z / 0.18215. The last, partial
 *    micro-batch runs with its own static shape (no padding), so every frame's result is what a full batch gives.
 *
 * Each phase has its own BlockScheduler (stage `decode`) under one byte budget, resolved against the stage's total
 * block bytes; the temporal phase releases everything before the spatial phase starts. Without a temporal VAE
 * (see vae/config.ts) only the spatial phase runs, on z·scale + shift (scale/shift then live in `spatial.pre`).
 */
import { computeWithPlacement } from '../placement-tally';
import type { BlockSet, VerifyPolicy } from '../blockset/load';
import { MANIFEST_FILE, stagePrecision } from '../blockset/manifest';
import { weightToFloat32, type Precision } from '../blockset/precision';
import type { BudgetSpec } from '../cidl/budget';
import { replayStagePeak, stageLocal, stageWorkOf } from '../cidl/memory-limit';
import type { Plan, RetentionPolicy } from '../cidl/plan';
import type { BlockScheduler } from '../cidl/scheduler';
import { openStage, planPhase, type StageContext } from '../cidl/stage-scheduler';
import { floatTensor, type FloatTensor } from '../tensor';
import {
  latentChannelsOf,
  spatialFactorOf,
  spatialMicroBatches,
  temporalChunkPlan,
  timeFactorOf,
  type VaeConfig,
} from './config';
import { readDecodeStage, type DecodeBlockEntry } from './decode-manifest';
import { decodeSessions } from './memory';
import {
  VaeDecoderModel,
  denormalizeLatent,
  gatherFlatFrames,
  scatterFlatFrames,
  sliceFrames,
  writeFrames,
  type VaeWeights,
} from './model';

/** What the decode stage needs from its host: the stage ports (its pool is trimmed after each phase) and a model. */
export interface DecodeContext extends StageContext {
  /** Compiled graphs to reuse across runs (must be built for this block set's config); created per run otherwise. */
  readonly models?: VaeDecoderModel;
}

/** Options of one decode. */
export interface DecodeOptions {
  /** Pixel frames to produce (spec 7.2: 24 → 7 latents, 51 → 15, 68 → 20, 1 → 1). */
  readonly numFrames: number;
  /** Block memory budget of the stage. */
  readonly budget: BudgetSpec;
  /** Which blocks stay resident across passes (default 'paper'). */
  readonly policy?: RetentionPolicy;
  /** Load the next block while one computes (default true). */
  readonly prefetch?: boolean;
  /** Block hash checks (default 'first-load'). */
  readonly verify?: VerifyPolicy;
  /**
   * `z` (default): the sampler's normalised latent. `x_z`: the SD-VAE latent per frame (skips de-normalisation and
   * the temporal VAE, as `spatial_vae.decode` does); numFrames must equal its frame count.
   */
  readonly from?: 'z' | 'x_z';
  /**
   * Receives intermediates (verification): `z_denorm`, `x_z`, `temporal.chunk{k}.<name>` and
   * `spatial.mb{m}.<name>` (fixture names). Setting it builds probe graphs (extra copies): avoid in production.
   */
  readonly onProbe?: (name: string, tensor: FloatTensor) => void;
  /** Spatial micro-batches whose intermediates go to `onProbe` (default [0]). */
  readonly probeMicroBatches?: readonly number[];
  /**
   * Decode only these output frames (distinct indices in 0..numFrames−1, ascending) through the spatial VAE — the
   * expensive phase; the temporal phase still runs every chunk (previews). The video then has `frames.length`
   * frames, in this order. Default: every frame.
   */
  readonly frames?: readonly number[];
}

/** The CI-DL plans a decode would run under (see {@link planDecodeStage}). */
export interface DecodeStagePlan {
  /** False when a phase's largest block alone exceeds the budget; `reason` says which. */
  readonly fits: boolean;
  readonly reason?: string;
  /** The budget the plans were made for (null = unlimited). */
  readonly budgetBytes: number | null;
  /** Block bytes of the blocks the decode uses. */
  readonly totalBytes: number;
  /** The larger of the phases' predicted peak block bytes (the temporal phase releases before the spatial one). */
  readonly predictedPeakBytes: number;
  readonly temporal: Plan | null;
  readonly spatial: Plan;
}

/** The plan of one decode phase over `phase`'s blocks. */
function phasePlan(
  phase: readonly DecodeBlockEntry[],
  budgetBytes: number | null,
  passes: number,
  opts: Pick<DecodeOptions, 'policy' | 'prefetch'>,
): Plan {
  return planPhase('decode/', phase, budgetBytes, { passes, policy: opts.policy, prefetch: opts.prefetch });
}

/**
 * Preflight of {@link runDecodeStage} without loading anything: the CI-DL plans of its phases for a latent of
 * `latentFrames` frames under `budgetBytes` (already resolved; null = unlimited). Callers that must not exceed a
 * byte allowance (previews decoded while the denoiser's blocks stay resident) check `fits` first.
 */
export function planDecodeStage(
  blockSet: BlockSet,
  latentFrames: number,
  budgetBytes: number | null,
  opts: Pick<DecodeOptions, 'numFrames' | 'policy' | 'prefetch' | 'from' | 'frames'>,
): DecodeStagePlan {
  const { stage, config: cfg } = readDecodeStage(blockSet.manifest, blockSet.path(MANIFEST_FILE));
  const temporal = (opts.from ?? 'z') === 'z' && cfg.temporal;
  const entries = stage.blocks.filter((b) => temporal || b.id.startsWith('spatial.'));
  const chunks = temporal
    ? temporalChunkPlan(latentFrames, opts.numFrames, cfg.microFrameSize, timeFactorOf(cfg)).length
    : 0;
  const spatialFrames = opts.frames?.length ?? opts.numFrames;
  const tPlan = temporal
    ? phasePlan(
        entries.filter((b) => b.id.startsWith('temporal.')),
        budgetBytes,
        chunks,
        opts,
      )
    : null;
  const sPlan = phasePlan(
    entries.filter((b) => b.id.startsWith('spatial.')),
    budgetBytes,
    spatialMicroBatches(spatialFrames, cfg.microBatchSize).length,
    opts,
  );
  const bad = [tPlan, sPlan].find((p) => p !== null && !p.fits);
  return {
    fits: bad === undefined,
    ...(bad ? { reason: bad.reason ?? 'a block exceeds the budget' } : {}),
    budgetBytes,
    totalBytes: entries.reduce((s, b) => s + b.bytes, 0),
    predictedPeakBytes: Math.max(tPlan?.predictedPeakBytes ?? 0, sPlan.predictedPeakBytes),
    temporal: tPlan,
    spatial: sPlan,
  };
}

/** The name of each block's result `y` among the fixture's intermediates. */
function resultName(local: string): string | null {
  if (local === 'temporal.in') return 'decoder.res_blocks';
  if (local === 'temporal.stage0') return 'decoder.conv_out';
  if (local === 'spatial.pre') return 'decoder.mid_block';
  if (local === 'spatial.out') return 'decode_out';
  const up = /^spatial\.up\.(\d+)$/.exec(local);
  return up ? `decoder.up_blocks.${up[1]}` : null;
}

function need(weights: VaeWeights, key: string, id: string): FloatTensor {
  const t = weights.get(key);
  if (!t) throw new Error(`VAE: block ${id} has no '${key}'`);
  return weightToFloat32(t);
}

/** Decodes a latent [B, C, T, H, W] to a video [B, 3, numFrames, 8H, 8W] in about [−1, 1] (not clamped). */
export async function runDecodeStage(
  ctx: DecodeContext,
  z: FloatTensor,
  opts: DecodeOptions,
): Promise<FloatTensor> {
  const { blockSet, clock, emit } = ctx;
  const { stage, config: cfg } = readDecodeStage(blockSet.manifest, blockSet.path(MANIFEST_FILE));
  const from = opts.from ?? 'z';
  if (z.dims.length !== 5)
    throw new Error(`VAE decode: the latent must be [B, C, T, H, W], got [${z.dims.join(', ')}]`);
  const [B, C, T, H, W] = z.dims as [number, number, number, number, number];
  const wantC = from === 'x_z' ? cfg.spatial.latentChannels : latentChannelsOf(cfg);
  if (C !== wantC)
    throw new Error(
      `VAE decode: the latent has ${C} channels, the ${from === 'x_z' ? 'SD-VAE' : 'VAE'} takes ${wantC}`,
    );
  const temporal = from === 'z' && cfg.temporal;
  if (!temporal && opts.numFrames !== T)
    throw new Error(
      `VAE decode: without the temporal VAE every latent frame is one video frame: numFrames ${opts.numFrames} ≠ ${T} latent frames`,
    );
  const chunks = temporal ? temporalChunkPlan(T, opts.numFrames, cfg.microFrameSize, timeFactorOf(cfg)) : [];
  const frames = opts.numFrames;
  const pick = opts.frames;
  if (pick !== undefined) {
    if (pick.length < 1) throw new Error('VAE decode: frames must name at least one frame');
    pick.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= frames || (i > 0 && t <= pick[i - 1]!))
        throw new Error(
          `VAE decode: frames must be ascending distinct indices in 0..${frames - 1}, got [${pick.join(', ')}]`,
        );
    });
  }
  const outFrames = pick?.length ?? frames;
  const onProbe = opts.onProbe;
  const probeMbs = new Set(opts.probeMicroBatches ?? [0]);

  const entries = stage.blocks.filter((b) => temporal || b.id.startsWith('spatial.'));
  const precision = stagePrecision(stage);
  const sessions = decodeSessions(cfg, { batch: B, frames: T, height: H, width: W }, outFrames, precision);
  const opened = await openStage(ctx, {
    stage: 'decode',
    prefix: 'decode/',
    entries,
    sessions,
    budget: opts.budget,
    verify: opts.verify,
  });
  const { budgetBytes } = opened;
  // The temporal phase's sessions stay alive through the spatial phase.
  const temporalArenas = stageWorkOf(
    { heldBytes: 0, sessionOf: sessions.sessionOf },
    entries.filter((e) => e.id.startsWith('temporal.')).map((e) => e.id),
    0,
  ).totalBytes;
  let replayedPeak = 0;
  let blockPeakBytes = 0;
  const model = ctx.models ?? new VaeDecoderModel(ctx.backend, cfg, precision);
  if (model.precision !== precision)
    throw new Error(
      `VAE decode: the compiled decoder expects ${model.precision} weights, the decode stage stores ${precision}`,
    );

  const makeScheduler = (phase: readonly DecodeBlockEntry[], passes: number): BlockScheduler<VaeWeights> => {
    const { blocks, plan, scheduler } = opened.schedule(phase, {
      passes,
      policy: opts.policy,
      prefetch: opts.prefetch,
    });
    blockPeakBytes = Math.max(blockPeakBytes, plan.predictedPeakBytes);
    const spatial = phase[0]?.id.startsWith('spatial.') === true;
    replayedPeak = Math.max(
      replayedPeak,
      replayStagePeak(
        blocks,
        plan,
        passes,
        true,
        opened.extras,
        { ...sessions, localId: stageLocal('decode/') },
        spatial ? temporalArenas : 0,
      ),
    );
    return scheduler;
  };

  const runPhase = async (
    scheduler: BlockScheduler<VaeWeights>,
    passes: number,
    compute: (pass: number, local: string, weights: VaeWeights) => Promise<void>,
  ): Promise<void> => {
    try {
      for (let p = 0; p < passes; p++)
        await scheduler.runPass(
          p,
          computeWithPlacement(model.placements, (id, weights) =>
            compute(p, id.slice('decode/'.length), weights),
          ),
          {
            signal: ctx.signal,
            isLastPass: p === passes - 1,
          },
        );
    } catch (e) {
      await scheduler.releaseAll('error').catch(() => undefined);
      ctx.memory?.trim();
      throw e;
    }
    await scheduler.releaseAll('end-of-run');
    ctx.memory?.trim();
  };

  const t0 = clock.nowMs();
  emit({ type: 'stage.start', atMs: t0, stage: 'decode' });
  try {
    let xz: FloatTensor | null = from === 'x_z' ? z : null;
    let zDenorm: FloatTensor | null = null;
    let zSrc = z;
    const denorm = (weights: VaeWeights, id: string): FloatTensor => {
      if (!zDenorm) {
        zDenorm = denormalizeLatent(zSrc, need(weights, 'scale', id), need(weights, 'shift', id));
        onProbe?.('z_denorm', zDenorm);
      }
      return zDenorm;
    };

    if (temporal) {
      const out = floatTensor([B, cfg.spatial.latentChannels, frames, H, W]);
      const offsets = chunks.map((_, k) => chunks.slice(0, k).reduce((s, c) => s + c.outFrames, 0));
      const phase = entries.filter((b) => b.id.startsWith('temporal.'));
      let cur: FloatTensor | null = null;
      await runPhase(makeScheduler(phase, chunks.length), chunks.length, async (k, local, weights) => {
        const chunk = chunks[k]!;
        const probe = (name: string, t: FloatTensor): void => onProbe?.(`temporal.chunk${k}.${name}`, t);
        if (local === 'temporal.in') {
          cur = sliceFrames(denorm(weights, local), chunk.zStart, chunk.zFrames);
          probe('in', cur);
        }
        if (!cur) throw new Error(`VAE: ${local} ran before temporal.in`);
        const shape = { batch: B, frames: cur.dims[2] as number, height: H, width: W };
        const r = await model.run(local, weights, cur, shape, { probes: onProbe !== undefined });
        for (const [name, t] of r.probes) probe(name, t);
        const rn = resultName(local);
        if (rn) probe(rn, r.y);
        cur = r.y;
        if (local === 'temporal.stage0') {
          const kept = sliceFrames(r.y, chunk.drop, chunk.outFrames);
          probe('out', kept);
          writeFrames(out, kept, offsets[k]!);
          cur = null;
        }
      });
      xz = out;
      onProbe?.('x_z', xz);
    }

    if (pick !== undefined) {
      // Only the picked frames go through the spatial VAE (it decodes every frame on its own). Without a temporal
      // phase x_z is z·scale + shift, made in spatial.pre: pick from z then (denormalisation is per element).
      if (xz) xz = pickFrames(xz, pick);
      else zSrc = pickFrames(zSrc, pick);
    }
    const f = spatialFactorOf(cfg);
    const video = floatTensor([B, cfg.spatial.outChannels, outFrames, H * f, W * f]);
    const mbs = spatialMicroBatches(B * outFrames, cfg.microBatchSize);
    const starts = mbs.map((_, m) => m * cfg.microBatchSize);
    const phase = entries.filter((b) => b.id.startsWith('spatial.'));
    let cur: FloatTensor | null = null;
    await runPhase(makeScheduler(phase, mbs.length), mbs.length, async (m, local, weights) => {
      const n = mbs[m]!;
      const probing = onProbe !== undefined && probeMbs.has(m);
      const probe = (name: string, t: FloatTensor): void => {
        if (probing) onProbe?.(`spatial.mb${m}.${name}`, t);
      };
      if (local === 'spatial.pre') {
        if (!xz) {
          xz = denorm(weights, local);
          onProbe?.('x_z', xz);
        }
        cur = gatherFlatFrames(xz, starts[m]!, n);
      }
      if (!cur) throw new Error(`VAE: ${local} ran before spatial.pre`);
      const r = await model.run(
        local,
        weights,
        cur,
        { batch: n, frames: 1, height: H, width: W },
        { probes: probing },
      );
      for (const [name, t] of r.probes) probe(name, t);
      const rn = resultName(local);
      if (rn) probe(rn, r.y);
      cur = r.y;
      if (local === 'spatial.out') {
        scatterFlatFrames(video, r.y, starts[m]!);
        cur = null;
      }
    });
    if (ctx.onMemory)
      ctx.onMemory(
        await opened.meter.report(
          'decode',
          opened.work,
          { budgetBytes, predictedPeakBytes: blockPeakBytes },
          replayedPeak,
        ),
      );
    const t1 = clock.nowMs();
    emit({ type: 'stage.end', atMs: t1, stage: 'decode', durationMs: t1 - t0 });
    return video;
  } finally {
    if (!ctx.models) await model.release();
  }
}

/** Frames `pick` (ascending indices) of [B, C, T, H, W] as [B, C, pick.length, H, W]. */
function pickFrames(x: FloatTensor, pick: readonly number[]): FloatTensor {
  const [B, C, T, H, W] = x.dims as [number, number, number, number, number];
  const hw = H * W;
  const n = pick.length;
  const out = new Float32Array(B * C * n * hw);
  for (let bc = 0; bc < B * C; bc++)
    pick.forEach((t, i) =>
      out.set(x.data.subarray((bc * T + t) * hw, (bc * T + t + 1) * hw), (bc * n + i) * hw),
    );
  return floatTensor([B, C, n, H, W], out);
}

/** Frames of one batch item as 8-bit images, as `save_sample` writes them. */
export interface Uint8Frames {
  readonly width: number;
  readonly height: number;
  /** 3 (RGB) or 4 (RGBA, alpha 255). */
  readonly channels: 3 | 4;
  /** One interleaved buffer per frame, row-major, `width·height·channels` bytes. */
  readonly frames: Uint8Array[];
}

/**
 * save_sample's conversion (spec 7.3 item 6) of a video [B, 3, T, H, W]: clamp to [−1, 1], map to [0, 1], then
 * uint8(clamp(x·255 + 0.5, 0, 255)) (round half up, truncate); one entry per batch item, interleaved RGB or RGBA.
 * Done in float32 like the reference: ((x + 1) / 2)·255 + 0.5, each step rounded to float32.
 */
export function toUint8Frames(video: FloatTensor, opts: { format?: 'rgb' | 'rgba' } = {}): Uint8Frames[] {
  if (video.dims.length !== 5 || video.dims[1] !== 3)
    throw new Error(`toUint8Frames: expected a video [B, 3, T, H, W], got [${video.dims.join(', ')}]`);
  const [B, , T, H, W] = video.dims as [number, number, number, number, number];
  const channels = opts.format === 'rgb' ? 3 : 4;
  const hw = H * W;
  const f = Math.fround;
  const result: Uint8Frames[] = [];
  for (let b = 0; b < B; b++) {
    const frames: Uint8Array[] = [];
    for (let t = 0; t < T; t++) {
      const img = new Uint8Array(hw * channels);
      if (channels === 4) for (let i = 3; i < img.length; i += 4) img[i] = 255;
      for (let c = 0; c < 3; c++) {
        const base = ((b * 3 + c) * T + t) * hw;
        for (let i = 0; i < hw; i++) {
          const x = Math.min(1, Math.max(-1, video.data[base + i] as number));
          const v = f(f(f(f(x + 1) / 2) * 255) + 0.5);
          img[i * channels + c] = Math.trunc(Math.min(255, Math.max(0, v)));
        }
      }
      frames.push(img);
    }
    result.push({ width: W, height: H, channels, frames });
  }
  return result;
}

/** The parsed VAE config of a block set's decode stage. */
export function decodeConfig(blockSet: BlockSet): VaeConfig {
  return readDecodeStage(blockSet.manifest, blockSet.path(MANIFEST_FILE)).config;
}

/** How a block set's decode stage stores its weights. */
export function decodePrecision(blockSet: BlockSet): Precision {
  return stagePrecision(readDecodeStage(blockSet.manifest, blockSet.path(MANIFEST_FILE)).stage);
}
