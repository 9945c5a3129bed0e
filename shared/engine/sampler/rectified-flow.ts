/**
 * The rectified-flow (RFLOW) Euler sampler of Open-Sora v1.2 with classifier-free guidance and Linear Proportional
 * Leap (spec sections 6.2 and 6.3). Every tensor operation is emulated in float32 exactly as torch performs it
 * (`Math.fround` after each + − × ÷), so the result tracks the authors' float32 run to rounding noise.
 */
import type { Clock } from '../ports';
import { floatTensor, numel } from '../tensor';
import type { FloatTensor } from '../tensor';
import { LplController } from './lpl';
import type { LplOptions } from '../techniques/knobs';

const f = Math.fround;

/** One denoising step as the sampler saw it (also what `onStep` receives). */
export interface StepRecord {
  /** Step index i (0-based). */
  step: number;
  /** The timestep t_i fed to the model. */
  t: number;
  /** Cosine of this step's guided velocity to the previous one (null on step 0); see {@link LplController}. */
  cosine: number | null;
  /** True on the step where LPL leapt to t = 0 (the last step of the run). */
  leapt: boolean;
  /** Wall time of the step (model call + guidance + update), from the injected clock. */
  latencyMs: number;
}

/**
 * A step's tensors, for observers (`afterStep`): read-only views of the sampler's own arrays — do not modify them.
 * Reading them never changes the run's numerics.
 */
export interface StepState {
  /** z_i, the latent the step started from, [1, C, T, H, W]. */
  readonly zIn: FloatTensor;
  /** v_i, the guided velocity of the step, [1, C, T, H, W]. */
  readonly v: FloatTensor;
  /** z_{i+1}, the latent after the step's update (the result, on the last or leap step). */
  readonly z: FloatTensor;
  /**
   * x̂0 = z_i + v_i·t_i/N, the current clean-sample estimate: exactly what an LPL leap at this step returns (the same
   * float32 Euler update with dt = t_i). Computed on the first call, then cached; on the last and leap steps it is
   * `z` itself.
   */
  cleanEstimate(): FloatTensor;
}

/**
 * The denoiser: takes `zIn` = concat(z, z) [2, C, T, H, W], `tIn` = [t_i, t_i] and the step index, and returns
 * [2, Cout ≥ C, T, H, W] with batch row 0 conditional (prompt) and row 1 unconditional (null caption).
 */
export type VelocityModel = (zIn: FloatTensor, tIn: Float32Array, step: number) => Promise<FloatTensor>;

/** The part of an AbortSignal the sampler reads (shared/ has no DOM types). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

/** Options of {@link sampleRectifiedFlow}. */
export interface SampleRectifiedFlowOptions {
  /** Initial noise at t = 1000, [1, C, T, H, W]. Not modified. */
  z0: FloatTensor;
  /** t_0 > ... > t_{n−1} from `samplingTimesteps`. */
  timesteps: Float32Array;
  /** Guidance scale (Open-Sora inference and the app: 7.0). */
  cfgScale: number;
  /** LPL settings; a fresh controller is made for this run. */
  lpl: LplOptions;
  /** The denoiser, called once per step with the CFG batch. */
  model: VelocityModel;
  /** Cancels the run between steps (checked before and after every model call). */
  signal?: AbortSignalLike;
  /** Called after each step. Must not throw. */
  onStep?: (record: StepRecord) => void;
  /**
   * Called after `onStep` with the step's tensors (previews); awaited before the next step starts, so a slow
   * observer delays the run but never changes it. A rejection ends the run with that error.
   */
  afterStep?: (record: StepRecord, state: StepState) => void | Promise<void>;
  /** Time source for `latencyMs` (default: `Date.now`). */
  clock?: Clock;
  /** Training timesteps N of `dt / N` (default 1000). */
  numTimesteps?: number;
}

/** What {@link sampleRectifiedFlow} returns. */
export interface SampleRectifiedFlowResult {
  /** The denoised latent, [1, C, T, H, W]. */
  z: FloatTensor;
  /** The step at which LPL leapt, or null when all steps ran. */
  leapStep: number | null;
  /** Number of model calls made (= steps run). */
  modelCalls: number;
  /** One record per step run. */
  steps: StepRecord[];
}

/** Thrown when the run is cancelled through `signal`; `name` is 'AbortError' like DOMException's. */
export class SamplerAbortedError extends Error {
  override readonly name = 'AbortError';
  /** The signal's reason, if any. */
  readonly reason: unknown;
  /** The step that was about to run or had just run when cancellation was seen. */
  readonly step: number;

  /** Creates the error for cancellation observed at `step`. */
  constructor(step: number, reason?: unknown) {
    super(`sampling aborted at step ${step}`);
    this.step = step;
    this.reason = reason;
  }
}

/**
 * Classifier-free guidance on a model output [2, Cout, T, H, W]: keeps channels 0..channels−1 and returns
 * v = pred[1] + scale·(pred[0] − pred[1]) as [1, channels, T, H, W], each op rounded to float32 like torch.
 */
export function cfgCombine(pred: FloatTensor, channels: number, cfgScale: number): FloatTensor {
  const d = pred.dims;
  if (d.length !== 5 || d[0] !== 2)
    throw new Error(`CFG: model output must be [2, Cout, T, H, W], got [${d.join(', ')}]`);
  const cout = d[1] as number;
  if (!Number.isInteger(channels) || channels < 1 || channels > cout) {
    throw new Error(`CFG: cannot keep ${channels} channels of a ${cout}-channel model output`);
  }
  const plane = (d[2] as number) * (d[3] as number) * (d[4] as number);
  const n = channels * plane;
  const rowStride = cout * plane;
  const s = f(cfgScale);
  const out = new Float32Array(n);
  const p = pred.data;
  for (let i = 0; i < n; i++) {
    const cond = p[i] as number;
    const uncond = p[rowStride + i] as number;
    out[i] = f(uncond + f(s * f(cond - uncond)));
  }
  return floatTensor([1, channels, d[2] as number, d[3] as number, d[4] as number], out);
}

/** One Euler update z + v·(dt/N), with dt in timestep units, every op in float32 like torch's `z + v * (dt / N)`. */
export function eulerStep(z: FloatTensor, v: FloatTensor, dt: number, numTimesteps = 1000): FloatTensor {
  if (z.data.length !== v.data.length) {
    throw new Error(`Euler step: z [${z.dims.join(', ')}] and v [${v.dims.join(', ')}] differ in size`);
  }
  const h = f(f(dt) / f(numTimesteps));
  const out = new Float32Array(z.data.length);
  const zd = z.data;
  const vd = v.data;
  for (let i = 0; i < out.length; i++) out[i] = f((zd[i] as number) + f((vd[i] as number) * h));
  return floatTensor(z.dims, out);
}

const defaultClock: Clock = { nowMs: () => Date.now() };

/**
 * Runs the RFLOW sampler: for each step, one CFG model call, guidance, an LPL decision, then the Euler update
 * (dt = t_i − t_{i+1}, or t_{n−1} on the last step); on a leap, z + v·t_i/N and stop.
 */
export async function sampleRectifiedFlow(
  options: SampleRectifiedFlowOptions,
): Promise<SampleRectifiedFlowResult> {
  const {
    z0,
    timesteps,
    cfgScale,
    lpl,
    model,
    signal,
    onStep,
    afterStep,
    clock = defaultClock,
    numTimesteps = 1000,
  } = options;
  const zd = z0.dims;
  if (zd.length !== 5 || zd[0] !== 1)
    throw new Error(`sampler: z0 must be [1, C, T, H, W], got [${zd.join(', ')}]`);
  if (z0.data.length !== numel(zd)) throw new Error(`sampler: z0 has ${z0.data.length} elements for [${zd}]`);
  const n = timesteps.length;
  if (n < 1) throw new Error('sampler: no timesteps');
  if (!Number.isFinite(cfgScale)) throw new Error(`sampler: cfgScale must be finite, got ${cfgScale}`);
  const controller = new LplController(lpl, n);
  const channels = zd[1] as number;
  const size = z0.data.length;

  let z: FloatTensor = floatTensor(zd, z0.data.slice());
  const records: StepRecord[] = [];
  let leapStep: number | null = null;
  let calls = 0;

  for (let i = 0; i < n; i++) {
    if (signal?.aborted) throw new SamplerAbortedError(i, signal.reason);
    const start = clock.nowMs();
    const t = timesteps[i] as number;

    const zIn = new Float32Array(2 * size);
    zIn.set(z.data, 0);
    zIn.set(z.data, size);
    const pred = await model(floatTensor([2, ...zd.slice(1)], zIn), new Float32Array([t, t]), i);
    calls++;
    if (signal?.aborted) throw new SamplerAbortedError(i, signal.reason);
    const pd = pred.dims;
    if (pd.length !== 5 || pd[0] !== 2 || pd[2] !== zd[2] || pd[3] !== zd[3] || pd[4] !== zd[4]) {
      throw new Error(
        `sampler: step ${i}: model returned [${pd.join(', ')}], expected [2, Cout ≥ ${channels}, ${zd.slice(2).join(', ')}]`,
      );
    }
    const v = cfgCombine(pred, channels, cfgScale);
    const { cosine, leap } = controller.observe(i, v);

    const final = leap || i === n - 1;
    const dt = final ? t : f(t - (timesteps[i + 1] as number));
    const zPrev = z;
    z = eulerStep(z, v, dt, numTimesteps);

    const record: StepRecord = { step: i, t, cosine, leapt: leap, latencyMs: clock.nowMs() - start };
    records.push(record);
    onStep?.(record);
    if (afterStep) {
      const zOut = z;
      let x0: FloatTensor | null = final ? zOut : null;
      await afterStep(record, {
        zIn: zPrev,
        v,
        z: zOut,
        cleanEstimate: () => (x0 ??= eulerStep(zPrev, v, t, numTimesteps)),
      });
    }
    if (leap) {
      leapStep = i;
      break;
    }
  }
  return { z, leapStep, modelCalls: calls, steps: records };
}
