import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LplController, referenceSliceCosine, wholeCosine } from '../../../../../shared/engine/sampler/lpl';
import {
  leapStepOfLplStep,
  lplStepOfLeapStep,
  PAPER_LPL_STEP,
  PYTHON_DYNAMIC_LPL,
  type LplOptions,
} from '../../../../../shared/engine/techniques/knobs';
import { describeLpl } from '../../../../../shared/engine/techniques/summary';
import { LplOptionsError, validateLplOptions } from '../../../../../shared/engine/techniques/validate';
import { cfgCombine } from '../../../../../shared/engine/sampler/rectified-flow';
import { floatTensor } from '../../../../../shared/engine/tensor';
import type { FloatTensor } from '../../../../../shared/engine/tensor';
import { getFloat, readSafetensorsLite } from '../../../../helpers/safetensors-lite';

const dims = [1, 2, 2, 4, 4];

/** A deterministic pseudo-random tensor (LCG), for synthetic velocity sequences. */
function lcgTensor(seed: number, shape: readonly number[]): FloatTensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 2 ** 32 - 0.5;
  }
  return floatTensor(shape, d);
}

function constant(value: number, shape: readonly number[] = dims): FloatTensor {
  return floatTensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value));
}

/** Feeds velocities until a leap; returns the leap step (or null) and the cosines. */
function run(
  options: LplOptions,
  velocities: FloatTensor[],
): { leap: number | null; cosines: (number | null)[] } {
  const c = new LplController(options, velocities.length);
  const cosines: (number | null)[] = [];
  for (let i = 0; i < velocities.length; i++) {
    const o = c.observe(i, velocities[i] as FloatTensor);
    cosines.push(o.cosine);
    if (o.leap) return { leap: i, cosines };
  }
  return { leap: null, cosines };
}

describe('validateLplOptions', () => {
  it('accepts valid options', () => {
    expect(validateLplOptions({ mode: 'off' })).toEqual({ mode: 'off' });
    expect(validateLplOptions({ mode: 'fixed', leapStep: 15 }, 30)).toEqual({ mode: 'fixed', leapStep: 15 });
    expect(validateLplOptions({ ...PYTHON_DYNAMIC_LPL }, 30).mode).toBe('dynamic');
  });

  it.each<[unknown, number | undefined, RegExp]>([
    [{ mode: 'fixed', leapStep: 30 }, 30, /leapStep 30 is not a step of a 30-step run \(steps are 0\.\.29\)/],
    [{ mode: 'fixed', leapStep: 31 }, 30, /leapStep 31/],
    [{ mode: 'fixed', leapStep: -1 }, 30, /leapStep must be a non-negative integer step index, got -1/],
    [{ mode: 'fixed', leapStep: 2.5 }, undefined, /non-negative integer/],
    [
      { ...PYTHON_DYNAMIC_LPL, minimumSteps: -2 },
      30,
      /minimumSteps must be a non-negative integer step index/,
    ],
    [{ ...PYTHON_DYNAMIC_LPL, tolerance: -1e-3 }, 30, /tolerance must be a finite number ≥ 0/],
    [{ ...PYTHON_DYNAMIC_LPL, tolerance: Number.NaN }, 30, /tolerance/],
    [{ ...PYTHON_DYNAMIC_LPL, patience: 0 }, 30, /patience must be an integer ≥ 1 \(Python: 3\), got 0/],
    [
      { ...PYTHON_DYNAMIC_LPL, measure: 'slice' },
      30,
      /measure must be 'whole' or 'reference-slice', got "slice"/,
    ],
    [{ mode: 'adaptive' }, 30, /unknown mode "adaptive"/],
    [{ mode: 'off' }, 0, /step count must be a positive integer/],
  ])('rejects %j (steps %s)', (options, steps, message) => {
    expect(() => validateLplOptions(options as LplOptions, steps)).toThrow(LplOptionsError);
    expect(() => validateLplOptions(options as LplOptions, steps)).toThrow(message);
  });

  it.each([
    [{ mode: 'fixed', leapStep: 30 }, 'leapStep'],
    [{ ...PYTHON_DYNAMIC_LPL, patience: 0 }, 'patience'],
    [{ mode: 'adaptive' }, 'mode'],
  ])('names the bad option of %j', (options, field) => {
    let thrown: unknown;
    try {
      validateLplOptions(options as LplOptions, 30);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(LplOptionsError);
    expect((thrown as LplOptionsError).field).toBe(field);
  });

  it('the controller validates too', () => {
    expect(() => new LplController({ mode: 'fixed', leapStep: 6 }, 6)).toThrow(/leapStep 6/);
  });
});

describe('cosines', () => {
  it('whole-tensor cosine: identical, opposite, orthogonal, zero', () => {
    const a = lcgTensor(1, dims);
    const neg = floatTensor(
      dims,
      a.data.map((x) => -x),
    );
    expect(wholeCosine(a, a)).toBeCloseTo(1, 12);
    expect(wholeCosine(a, neg)).toBeCloseTo(-1, 12);
    const x = floatTensor([1, 1, 1, 1, 2], new Float32Array([1, 0]));
    const y = floatTensor([1, 1, 1, 1, 2], new Float32Array([0, 3]));
    expect(wholeCosine(x, y)).toBe(0);
    expect(wholeCosine(constant(0), a)).toBe(0); // norms clamped to eps, no NaN
  });

  it('reference-slice cosine averages rows of v[0,0,0] only', () => {
    // H=2, W=2: row 0 identical (cos 1), row 1 orthogonal (cos 0); other channels/frames ignored.
    const a = floatTensor([1, 2, 1, 2, 2], new Float32Array([1, 2, 1, 0, 9, 9, 9, 9]));
    const b = floatTensor([1, 2, 1, 2, 2], new Float32Array([2, 4, 0, 5, -9, 1, 2, 3]));
    expect(referenceSliceCosine(a, b)).toBeCloseTo(0.5, 12);
  });

  it('rejects mismatched shapes', () => {
    expect(() => wholeCosine(constant(1), constant(1, [1, 2, 2, 4, 2]))).toThrow(/shapes differ/);
  });
});

describe('LplController', () => {
  it('off: never leaps but reports the cosine from step 1', () => {
    const r = run({ mode: 'off' }, [lcgTensor(1, dims), lcgTensor(2, dims), lcgTensor(3, dims)]);
    expect(r.leap).toBeNull();
    expect(r.cosines[0]).toBeNull();
    expect(typeof r.cosines[1]).toBe('number');
    expect(typeof r.cosines[2]).toBe('number');
  });

  it('fixed: leaps exactly at leapStep', () => {
    const vs = Array.from({ length: 30 }, (_, i) => lcgTensor(i + 1, dims));
    expect(run({ mode: 'fixed', leapStep: 15 }, vs).leap).toBe(15);
    expect(run({ mode: 'fixed', leapStep: 0 }, vs).leap).toBe(0);
  });

  it('Python constants: constant velocity leaps at 17 (one improvement at 14)', () => {
    const vs = Array.from({ length: 30 }, () => constant(0.5));
    const r = run({ ...PYTHON_DYNAMIC_LPL }, vs);
    expect(r.leap).toBe(17);
    // The cosine is reported before minimumSteps although only steps ≥ 14 count.
    expect(r.cosines.slice(1, 14).every((c) => c !== null && Math.abs(c - 1) < 1e-12)).toBe(true);
  });

  it('Python constants: the earliest possible leap is 16 (no improvement from 14 on)', () => {
    // Alternating orthogonal velocities: cosine 0 never beats best_cos + 1e-3 = 1e-3.
    const x = floatTensor([1, 1, 1, 1, 2], new Float32Array([1, 0]));
    const y = floatTensor([1, 1, 1, 1, 2], new Float32Array([0, 1]));
    const vs = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? x : y));
    expect(run({ ...PYTHON_DYNAMIC_LPL }, vs).leap).toBe(16);
  });

  it('never leaps when minimumSteps is beyond the run', () => {
    const vs = Array.from({ length: 10 }, () => constant(1));
    expect(run({ ...PYTHON_DYNAMIC_LPL }, vs).leap).toBeNull();
  });

  it("dynamic 'whole' leaps once a converging velocity stops improving", () => {
    // v_i = d + 0.6^i·e_i: consecutive cosines rise towards 1 with shrinking gains.
    const d = lcgTensor(7, dims);
    const vs = Array.from({ length: 30 }, (_, i) => {
      const e = lcgTensor(100 + i, dims);
      return floatTensor(
        dims,
        d.data.map((x, k) => x + 0.6 ** i * 2 * (e.data[k] as number)),
      );
    });
    const options: LplOptions = {
      mode: 'dynamic',
      minimumSteps: 5,
      tolerance: 1e-4,
      patience: 3,
      measure: 'whole',
    };
    const r = run(options, vs);
    expect(r.leap).not.toBeNull();
    const leap = r.leap as number;
    expect(leap).toBeGreaterThanOrEqual(5 + 3 - 1);
    expect(leap).toBeLessThan(25);
    // Converged by then: the last cosine is close to 1, and it had been rising.
    expect(r.cosines[leap] as number).toBeGreaterThan(0.999);
    expect(r.cosines[5] as number).toBeLessThan(r.cosines[leap] as number);
    // And the controller is never asked to continue past the leap.
    const c = new LplController(options, 30);
    for (let i = 0; i <= leap; i++) c.observe(i, vs[i] as FloatTensor);
    expect(c.leapStep).toBe(leap);
    expect(() => c.observe(leap + 1, vs[leap + 1] as FloatTensor)).toThrow(/already leapt/);
  });

  it('requires steps in order', () => {
    const c = new LplController({ mode: 'off' });
    c.observe(0, constant(1));
    expect(() => c.observe(2, constant(1))).toThrow(/expected step 1, got 2/);
  });

  it("reproduces the fixture's float32 decision trace (best_cos, tolerance_n, shoot)", () => {
    const dir = join(__dirname, '../../../../fixtures/opensora-tiny');
    const tensors = readSafetensorsLite(join(dir, 'sampling.safetensors'));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      lpl_adaptive_trace_float32: {
        step: number;
        cos_mean: number | null;
        best_cos_after: number;
        tolerance_n_after: number;
        shoot: boolean;
      }[];
    };
    const out = getFloat(tensors, 'lpl_adaptive.model_out');
    const per = out.dims.slice(1).reduce((a, b) => a * b, 1);
    const c = new LplController({
      mode: 'dynamic',
      minimumSteps: 1,
      tolerance: 1e-3,
      patience: 2,
      measure: 'reference-slice',
    });
    for (const tr of manifest.lpl_adaptive_trace_float32) {
      const pred = floatTensor(out.dims.slice(1), out.data.slice(tr.step * per, (tr.step + 1) * per));
      const o = c.observe(tr.step, cfgCombine(pred, 4, 7));
      expect(o.leap).toBe(tr.shoot);
      if (tr.cos_mean === null) expect(o.cosine).toBeNull();
      else expect(Math.abs((o.cosine as number) - tr.cos_mean)).toBeLessThanOrEqual(1e-5);
      expect(c.patienceLeft).toBe(tr.tolerance_n_after);
      expect(Math.abs(c.bestCosine - tr.best_cos_after)).toBeLessThanOrEqual(1e-5);
    }
    expect(c.leapStep).toBe(4);
  });
});

describe('how people count a fixed leap (LPL N/S)', () => {
  it('is the step counted from 1, one more than the engine index', () => {
    expect(leapStepOfLplStep(PAPER_LPL_STEP)).toBe(15); // the app's numLpltarget
    expect(lplStepOfLeapStep(15)).toBe(16);
    for (const n of [1, 2, 16, 30]) expect(lplStepOfLeapStep(leapStepOfLplStep(n))).toBe(n);
  });

  it('reads LPL off, LPL 16/30, LPL 16 and LPL dynamic', () => {
    expect(describeLpl(undefined, 30)).toBe('LPL off');
    expect(describeLpl({ mode: 'off' })).toBe('LPL off');
    expect(describeLpl({ mode: 'fixed', leapStep: 15 }, 30)).toBe('LPL 16/30');
    expect(describeLpl({ mode: 'fixed', leapStep: 15 }, null)).toBe('LPL 16');
    expect(describeLpl(PYTHON_DYNAMIC_LPL, 30)).toBe('LPL dynamic');
  });
});
