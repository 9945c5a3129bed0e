// The RFLOW sampler (+ LPL) against the opensora-tiny sampling goldens, without the neural net: the model callback
// replays the recorded model outputs and checks the inputs the sampler feeds it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRectifiedFlow } from '../../../../../shared/engine/sampler/rectified-flow';
import type { LplOptions } from '../../../../../shared/engine/techniques/knobs';
import { samplingTimesteps } from '../../../../../shared/engine/sampler/timesteps';
import { floatTensor } from '../../../../../shared/engine/tensor';
import { getFloat, getInt64, readSafetensorsLite } from '../../../../helpers/safetensors-lite';

const dir = join(__dirname, '../../../../fixtures/opensora-tiny');
const tensors = readSafetensorsLite(join(dir, 'sampling.safetensors'));
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
  config: { sample: { steps: number; cfg: number; num_frames: number; height: number; width: number } };
  tolerance: { sampling: { atol: number; rtol: number; timesteps_atol: number; cos_mean_atol: number } };
  lpl_adaptive_trace_float32: {
    step: number;
    cos_mean: number | null;
    best_cos_after: number;
    tolerance_n_after: number;
    shoot: boolean;
  }[];
};
const tol = manifest.tolerance.sampling;
const sample = manifest.config.sample;

/** Largest |a − g| and largest excess over atol + rtol·|g| (≤ 0 means within tolerance). */
function compare(
  actual: ArrayLike<number>,
  golden: ArrayLike<number>,
): { maxAbs: number; worstExcess: number } {
  expect(actual.length).toBe(golden.length);
  let maxAbs = 0;
  let worstExcess = -Infinity;
  for (let i = 0; i < golden.length; i++) {
    const g = golden[i] as number;
    const d = Math.abs((actual[i] as number) - g);
    maxAbs = Math.max(maxAbs, d);
    worstExcess = Math.max(worstExcess, d - (tol.atol + tol.rtol * Math.abs(g)));
  }
  return { maxAbs, worstExcess };
}

const timesteps = samplingTimesteps({
  steps: sample.steps,
  transform: { enabled: true, heightPx: sample.height, widthPx: sample.width, numFrames: sample.num_frames },
});

describe('samplingTimesteps vs fixture', () => {
  it('matches the timesteps fed to the model within 1e-3', () => {
    const golden = getFloat(tensors, 'timesteps').data;
    expect(timesteps.length).toBe(golden.length);
    for (let i = 0; i < golden.length; i++) {
      expect(Math.abs((timesteps[i] as number) - (golden[i] as number))).toBeLessThanOrEqual(
        tol.timesteps_atol,
      );
    }
  });
});

const cases: { name: string; lpl: LplOptions; leap: number | null }[] = [
  { name: 'plain', lpl: { mode: 'off' }, leap: null },
  { name: 'tdtm', lpl: { mode: 'off' }, leap: null },
  {
    name: 'lpl_fixed',
    lpl: { mode: 'fixed', leapStep: 3 },
    leap: Number(getInt64(tensors, 'lpl_fixed.leap_step').data[0] ?? -1n),
  },
  {
    name: 'lpl_adaptive',
    lpl: { mode: 'dynamic', minimumSteps: 1, patience: 2, tolerance: 1e-3, measure: 'reference-slice' },
    leap: Number(getInt64(tensors, 'lpl_adaptive.leap_step').data[0] ?? -1n),
  },
];

describe.each(cases)('sampleRectifiedFlow vs fixture: $name', ({ name, lpl, leap }) => {
  it('reproduces every z step, the final z, the leap step and the model inputs', async () => {
    const z0 = getFloat(tensors, 'in.z0');
    const zSteps = getFloat(tensors, `${name}.z_steps`);
    const modelOut = getFloat(tensors, `${name}.model_out`);
    const tIn = getFloat(tensors, `${name}.t_in`).data;
    const zFinal = getFloat(tensors, `${name}.z_final`).data;
    const zSize = z0.data.length;
    const outShape = modelOut.dims.slice(1);
    const outSize = outShape.reduce((a, b) => a * b, 1);
    const nCalls = modelOut.dims[0] as number;
    let maxZin = 0;
    let maxT = 0;

    const result = await sampleRectifiedFlow({
      z0: floatTensor(z0.dims, z0.data),
      timesteps,
      cfgScale: sample.cfg,
      lpl,
      model: (zIn, t, step) => {
        expect(step).toBeLessThan(nCalls);
        const golden = zSteps.data.subarray(step * zSize, (step + 1) * zSize);
        for (const row of [0, 1]) {
          const c = compare(zIn.data.subarray(row * zSize, (row + 1) * zSize), golden);
          expect(c.worstExcess).toBeLessThanOrEqual(0);
          maxZin = Math.max(maxZin, c.maxAbs);
        }
        for (const row of [0, 1]) {
          const d = Math.abs((t[row] as number) - (tIn[step * 2 + row] as number));
          expect(d).toBeLessThanOrEqual(tol.timesteps_atol);
          maxT = Math.max(maxT, d);
        }
        return Promise.resolve(
          floatTensor(outShape, modelOut.data.slice(step * outSize, (step + 1) * outSize)),
        );
      },
    });

    expect(result.modelCalls).toBe(nCalls);
    expect(result.leapStep).toBe(leap);
    expect(result.steps.map((s) => s.leapt)).toEqual(
      Array.from({ length: nCalls }, (_, i) => leap !== null && i === leap),
    );
    const zLast = zSteps.data.subarray(nCalls * zSize, (nCalls + 1) * zSize);
    const cLast = compare(result.z.data, zLast);
    const cFinal = compare(result.z.data, zFinal);
    expect(cLast.worstExcess).toBeLessThanOrEqual(0);
    expect(cFinal.worstExcess).toBeLessThanOrEqual(0);
    // Stronger than the manifest's tolerance: per-op float32 emulation reproduces torch's float32 run bit for bit.
    expect(cFinal.maxAbs).toBe(0);
    expect(maxZin).toBe(0);
    console.log(
      `${name}: max |z_in − z_steps| ${maxZin.toExponential(2)}, max |z − z_final| ${cFinal.maxAbs.toExponential(2)}, ` +
        `max |t − t_in| ${maxT.toExponential(2)}`,
    );

    if (name === 'lpl_adaptive') {
      const cosMean = getFloat(tensors, 'lpl_adaptive.cos_mean').data;
      const trace = manifest.lpl_adaptive_trace_float32;
      let maxCos = 0;
      for (const rec of result.steps) {
        const g = cosMean[rec.step] as number;
        if (Number.isNaN(g)) {
          expect(rec.cosine).toBeNull();
        } else {
          expect(rec.cosine).not.toBeNull();
          const d = Math.abs((rec.cosine as number) - g);
          expect(d).toBeLessThanOrEqual(tol.cos_mean_atol);
          maxCos = Math.max(maxCos, d);
        }
        const tr = trace[rec.step];
        expect(tr?.step).toBe(rec.step);
        expect(rec.leapt).toBe(tr?.shoot);
        if (tr?.cos_mean === null) expect(rec.cosine).toBeNull();
        else expect(Math.abs((rec.cosine as number) - (tr?.cos_mean as number))).toBeLessThanOrEqual(1e-5);
      }
      console.log(`lpl_adaptive: max |cos − cos_mean| ${maxCos.toExponential(2)}`);
    }
  });
});
