/**
 * Linear Proportional Leap (LPL, spec section 6.3; the On-device Sora paper). At the leap step i the sampler uses the
 * guided velocity it just computed to jump straight to t = 0 (`z + v·t_i/1000`) and stops.
 *
 * - `fixed`: the iPhone app's rule, leap at one step index (`numLpltarget`, default index 15: LPL 16/30).
 * - `dynamic`: the authors' Python rule (`RFLOW.compute_cosine_simularity`), reproduced exactly: best_cos starts at
 *   0; from step `minimumSteps` on (and only once a previous velocity exists) a cosine c > best + tolerance sets
 *   best = c and refills the patience, anything else uses up one unit; when the patience hits 0 the sampler leaps
 *   (and, as in Python, best and patience reset). The previous velocity is replaced at every step. Comparisons are
 *   made on float32-rounded values as torch does (`cos.mean() > best_cos + 1e-3` on float32 tensors).
 *
 * State: the Python object keeps prev_vel, best_cos and tolerance_n across `sample()` calls (they are only reset by
 * a leap), so a second video's decision depends on the first. We intentionally do NOT reproduce that leak: create a
 * fresh {@link LplController} for every run (the sampler does).
 */
import { type LplMeasure, type LplOptions } from '../techniques/knobs';
import { validateLplOptions } from '../techniques/validate';
import type { FloatTensor } from '../tensor';

// The settings' shape, defaults, bounds and the LPL N/S counting are the technique registry's
// (shared/engine/techniques/); this file runs them.

/** torch.nn.functional.cosine_similarity's eps: norms are clamped to at least this. */
const COSINE_EPS = 1e-8;

/**
 * Python's measure: mean over the H rows of the cosine along W between `a[0,0,0]` and `b[0,0,0]` (dims [B,C,T,H,W]).
 * Each row is x·y / (max(‖x‖, 1e-8)·max(‖y‖, 1e-8)), torch ≥ 1.12's formula, accumulated in float64.
 */
export function referenceSliceCosine(a: FloatTensor, b: FloatTensor): number {
  checkSameDims(a, b);
  if (a.dims.length !== 5)
    throw new Error(`LPL: reference-slice needs [B, C, T, H, W] velocities, got [${a.dims}]`);
  const h = a.dims[3] ?? 0;
  const w = a.dims[4] ?? 0;
  if (h === 0 || w === 0) throw new Error(`LPL: reference-slice on an empty H×W map [${a.dims}]`);
  let sum = 0;
  for (let r = 0; r < h; r++) {
    let dot = 0;
    let nx = 0;
    let ny = 0;
    for (let c = 0; c < w; c++) {
      const x = a.data[r * w + c] as number;
      const y = b.data[r * w + c] as number;
      dot += x * y;
      nx += x * x;
      ny += y * y;
    }
    sum += dot / (Math.max(Math.sqrt(nx), COSINE_EPS) * Math.max(Math.sqrt(ny), COSINE_EPS));
  }
  return sum / h;
}

/** Cosine similarity of two whole tensors (float64 accumulation, norms clamped to ≥ 1e-8 like torch). */
export function wholeCosine(a: FloatTensor, b: FloatTensor): number {
  checkSameDims(a, b);
  let dot = 0;
  let nx = 0;
  let ny = 0;
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    dot += xi * yi;
    nx += xi * xi;
    ny += yi * yi;
  }
  return dot / (Math.max(Math.sqrt(nx), COSINE_EPS) * Math.max(Math.sqrt(ny), COSINE_EPS));
}

/** Cosine between consecutive guided velocities, by measure. */
export function velocityCosine(a: FloatTensor, b: FloatTensor, measure: LplMeasure): number {
  return measure === 'whole' ? wholeCosine(a, b) : referenceSliceCosine(a, b);
}

function checkSameDims(a: FloatTensor, b: FloatTensor): void {
  if (
    a.dims.length !== b.dims.length ||
    a.dims.some((d, i) => d !== b.dims[i]) ||
    a.data.length !== b.data.length
  ) {
    throw new Error(`LPL: velocity shapes differ: [${a.dims.join(', ')}] vs [${b.dims.join(', ')}]`);
  }
}

/** What {@link LplController.observe} reports for one step. */
export interface LplObservation {
  /** Cosine to the previous step's velocity (null on step 0); reported for every step ≥ 1 whatever minimumSteps. */
  cosine: number | null;
  /** True when the sampler must leap to t = 0 at this step. */
  leap: boolean;
}

/**
 * Decides, step by step, whether to leap. Use one controller per sampling run. Steps must be observed in order
 * 0, 1, 2, ... and a controller that has leapt accepts no further steps. Off and fixed modes still measure the
 * whole-tensor cosine for telemetry.
 */
export class LplController {
  /** The validated options. */
  readonly options: LplOptions;
  private prev: FloatTensor | null = null;
  private nextStep = 0;
  private best = 0;
  private left: number;
  private leapt: number | null = null;

  /** Validates `options` (against `steps` if given) and starts a fresh state. */
  constructor(options: LplOptions, steps?: number) {
    this.options = validateLplOptions(options, steps);
    this.left = options.mode === 'dynamic' ? options.patience : 0;
  }

  /** Best cosine so far (Python's best_cos; 0 at the start and after a leap). Dynamic mode only. */
  get bestCosine(): number {
    return this.best;
  }

  /** Remaining patience (Python's tolerance_n). Dynamic mode only. */
  get patienceLeft(): number {
    return this.left;
  }

  /** The step at which the controller said to leap, or null. */
  get leapStep(): number | null {
    return this.leapt;
  }

  /** Feeds step `step`'s guided velocity ([1, C, T, H, W]); says whether to leap now. The velocity is copied. */
  observe(step: number, guidedVelocity: FloatTensor): LplObservation {
    if (this.leapt !== null) throw new Error(`LPL: the controller already leapt at step ${this.leapt}`);
    if (step !== this.nextStep) throw new Error(`LPL: expected step ${this.nextStep}, got ${step}`);
    this.nextStep++;
    const o = this.options;
    const measure: LplMeasure = o.mode === 'dynamic' ? o.measure : 'whole';
    const cosine = this.prev === null ? null : velocityCosine(guidedVelocity, this.prev, measure);
    let leap = false;
    if (o.mode === 'fixed') {
      leap = step === o.leapStep;
    } else if (o.mode === 'dynamic' && cosine !== null) {
      if (step >= o.minimumSteps) {
        const c = Math.fround(cosine);
        if (c > Math.fround(this.best + Math.fround(o.tolerance))) {
          this.best = c;
          this.left = o.patience;
        } else {
          this.left--;
        }
      }
      if (this.left === 0) {
        this.left = o.patience;
        this.best = 0;
        leap = true;
      }
    }
    if (leap) this.leapt = step;
    this.prev = { type: 'float32', dims: [...guidedVelocity.dims], data: guidedVelocity.data.slice() };
    return { cosine, leap };
  }
}
