import { describe, expect, it } from 'vitest';
import {
  SamplerAbortedError,
  cfgCombine,
  eulerStep,
  sampleRectifiedFlow,
} from '../../../../../shared/engine/sampler/rectified-flow';
import type { StepRecord, VelocityModel } from '../../../../../shared/engine/sampler/rectified-flow';
import { samplingTimesteps } from '../../../../../shared/engine/sampler/timesteps';
import { floatTensor } from '../../../../../shared/engine/tensor';
import type { FloatTensor } from '../../../../../shared/engine/tensor';

const zDims = [1, 2, 2, 2, 2];
const z0 = floatTensor(
  zDims,
  Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 4),
);

/** A model whose conditional velocity is −z + 1 and unconditional −z, plus a 'sigma' half that must be ignored. */
const linearModel: VelocityModel = (zIn) => {
  const size = zIn.data.length / 2;
  const c = zIn.dims[1] as number;
  const out = new Float32Array(2 * 2 * size);
  for (let row = 0; row < 2; row++) {
    for (let i = 0; i < size; i++) {
      const z = zIn.data[row * size + i] as number;
      out[row * 2 * size + i] = row === 0 ? -z + 1 : -z;
      out[row * 2 * size + size + i] = 1e6; // learned-sigma channels
    }
  }
  return Promise.resolve(floatTensor([2, 2 * c, ...zIn.dims.slice(2)], out));
};

describe('cfgCombine / eulerStep', () => {
  it('keeps the velocity channels and applies uncond + s·(cond − uncond) in float32', () => {
    const pred = floatTensor([2, 2, 1, 1, 2], new Float32Array([1, 2, 9, 9, 0.5, -1, 9, 9]));
    const v = cfgCombine(pred, 1, 7);
    expect(v.dims).toEqual([1, 1, 1, 1, 2]);
    expect(Array.from(v.data)).toEqual([0.5 + 7 * 0.5, -1 + 7 * 3]);
    expect(() => cfgCombine(pred, 3, 7)).toThrow(/cannot keep 3 channels/);
    expect(() => cfgCombine(floatTensor([1, 2, 1, 1, 2]), 1, 7)).toThrow(/must be \[2, Cout, T, H, W\]/);
  });

  it('eulerStep: z + v·dt/1000', () => {
    const z = floatTensor([1, 1, 1, 1, 2], new Float32Array([1, 2]));
    const v = floatTensor([1, 1, 1, 1, 2], new Float32Array([-1, 4]));
    const out = eulerStep(z, v, 250);
    expect(Array.from(out.data)).toEqual([0.75, 3]);
    const f = Math.fround;
    expect(eulerStep(z, v, 93.8150024)).toEqual(
      floatTensor(
        z.dims,
        new Float32Array([f(1 + f(-1 * f(f(93.8150024) / 1000))), f(2 + f(4 * f(f(93.8150024) / 1000)))]),
      ),
    );
  });
});

describe('sampleRectifiedFlow', () => {
  const timesteps = samplingTimesteps({ steps: 5 });

  it('calls the model with concat(z, z) and [t, t], integrates to t = 0, leaves z0 untouched', async () => {
    const z0Copy = z0.data.slice();
    const seen: { zIn: FloatTensor; t: number[]; step: number }[] = [];
    const records: StepRecord[] = [];
    let now = 0;
    const result = await sampleRectifiedFlow({
      z0,
      timesteps,
      cfgScale: 7,
      lpl: { mode: 'off' },
      model: (zIn, t, step) => {
        seen.push({ zIn, t: Array.from(t), step });
        now += 10;
        return linearModel(zIn, t, step);
      },
      onStep: (r) => records.push(r),
      clock: { nowMs: () => now },
    });
    expect(Array.from(z0.data)).toEqual(Array.from(z0Copy));
    expect(result.modelCalls).toBe(5);
    expect(result.leapStep).toBeNull();
    expect(seen.map((s) => s.step)).toEqual([0, 1, 2, 3, 4]);
    expect(seen.map((s) => s.t)).toEqual(Array.from(timesteps, (t) => [t, t]));
    expect(seen[0]?.zIn.dims).toEqual([2, 2, 2, 2, 2]);
    expect(Array.from(seen[0]?.zIn.data ?? [])).toEqual([...z0Copy, ...z0Copy]);
    expect(records).toEqual(result.steps);
    expect(records.map((r) => r.latencyMs)).toEqual([10, 10, 10, 10, 10]);
    expect(records[0]?.cosine).toBeNull();
    expect(records.slice(1).every((r) => typeof r.cosine === 'number')).toBe(true);
    // v = −z + 7: z follows the Euler steps of dz/ds = (−z + 7)/1000 with step sizes 200 each.
    const expected = Array.from(z0Copy, (z) => {
      for (let i = 0; i < 5; i++) z = z + (-z + 7) * 0.2;
      return z;
    });
    result.z.data.forEach((x, i) => expect(x).toBeCloseTo(expected[i] as number, 5));
  });

  it('fixed LPL: leaps with dt = t_i and makes leapStep + 1 model calls', async () => {
    const plain = await sampleRectifiedFlow({
      z0,
      timesteps,
      cfgScale: 7,
      lpl: { mode: 'off' },
      model: linearModel,
    });
    const r = await sampleRectifiedFlow({
      z0,
      timesteps,
      cfgScale: 7,
      lpl: { mode: 'fixed', leapStep: 2 },
      model: linearModel,
    });
    expect(r.leapStep).toBe(2);
    expect(r.modelCalls).toBe(3);
    expect(r.steps.map((s) => s.leapt)).toEqual([false, false, true]);
    // Same as plain for two steps, then one jump over t_2 = 600.
    expect(plain.modelCalls).toBe(5);
    const z2 = Array.from(z0.data, (z) => {
      for (let i = 0; i < 2; i++) z = z + (-z + 7) * 0.2;
      return z + (-z + 7) * 0.6;
    });
    r.z.data.forEach((x, i) => expect(x).toBeCloseTo(z2[i] as number, 5));
  });

  it('afterStep: x̂0 per step is exactly what a leap there returns, and observing changes nothing', async () => {
    const plain = await sampleRectifiedFlow({
      z0,
      timesteps,
      cfgScale: 7,
      lpl: { mode: 'off' },
      model: linearModel,
    });
    const seen: { step: number; x0: FloatTensor; zIn: FloatTensor; z: FloatTensor }[] = [];
    const observed = await sampleRectifiedFlow({
      z0,
      timesteps,
      cfgScale: 7,
      lpl: { mode: 'off' },
      model: linearModel,
      afterStep: async (r, s) => {
        await Promise.resolve();
        seen.push({ step: r.step, x0: s.cleanEstimate(), zIn: s.zIn, z: s.z });
        expect(s.cleanEstimate()).toBe(seen[seen.length - 1]!.x0); // cached
      },
    });
    expect(observed.z).toEqual(plain.z);
    expect(observed.steps.map((r) => r.step)).toEqual(plain.steps.map((r) => r.step));
    expect(seen.map((s) => s.step)).toEqual([0, 1, 2, 3, 4]);
    expect(seen[0]!.zIn).toEqual(z0);
    for (let k = 0; k < 4; k++) {
      expect(seen[k + 1]!.zIn).toBe(seen[k]!.z);
      const leapt = await sampleRectifiedFlow({
        z0,
        timesteps,
        cfgScale: 7,
        lpl: { mode: 'fixed', leapStep: k },
        model: linearModel,
      });
      expect(seen[k]!.x0).toEqual(leapt.z); // bit-identical
    }
    // On the last step x̂0 is the result itself.
    expect(seen[4]!.x0).toBe(seen[4]!.z);
    expect(seen[4]!.x0).toEqual(plain.z);
  });

  it('aborts between steps with an AbortError', async () => {
    const controller = new AbortController();
    let calls = 0;
    const p = sampleRectifiedFlow({
      z0,
      timesteps,
      cfgScale: 7,
      lpl: { mode: 'off' },
      model: (zIn, t, step) => {
        calls++;
        return linearModel(zIn, t, step);
      },
      signal: controller.signal,
      onStep: (r) => {
        if (r.step === 1) controller.abort('user cancelled');
      },
    });
    await expect(p).rejects.toBeInstanceOf(SamplerAbortedError);
    await expect(p).rejects.toMatchObject({ name: 'AbortError', step: 2, reason: 'user cancelled' });
    expect(calls).toBe(2);
  });

  it('an already-aborted signal runs no model call; an abort during a call is seen after it', async () => {
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    const model: VelocityModel = (zIn, t, step) => {
      calls++;
      return linearModel(zIn, t, step);
    };
    await expect(
      sampleRectifiedFlow({
        z0,
        timesteps,
        cfgScale: 7,
        lpl: { mode: 'off' },
        model,
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ name: 'AbortError', step: 0 });
    expect(calls).toBe(0);

    const c2 = new AbortController();
    await expect(
      sampleRectifiedFlow({
        z0,
        timesteps,
        cfgScale: 7,
        lpl: { mode: 'off' },
        model: (zIn, t, step) => {
          if (step === 3) c2.abort();
          return linearModel(zIn, t, step);
        },
        signal: c2.signal,
      }),
    ).rejects.toMatchObject({ name: 'AbortError', step: 3 });
  });

  it('rejects bad inputs and bad model outputs', async () => {
    await expect(
      sampleRectifiedFlow({
        z0,
        timesteps,
        cfgScale: 7,
        lpl: { mode: 'fixed', leapStep: 5 },
        model: linearModel,
      }),
    ).rejects.toThrow(/leapStep 5 is not a step of a 5-step run/);
    await expect(
      sampleRectifiedFlow({
        z0: floatTensor([2, 2, 2, 2, 2]),
        timesteps,
        cfgScale: 7,
        lpl: { mode: 'off' },
        model: linearModel,
      }),
    ).rejects.toThrow(/z0 must be \[1, C, T, H, W\]/);
    await expect(
      sampleRectifiedFlow({
        z0,
        timesteps,
        cfgScale: 7,
        lpl: { mode: 'off' },
        model: () => Promise.resolve(floatTensor([2, 4, 2, 2, 3])),
      }),
    ).rejects.toThrow(/step 0: model returned \[2, 4, 2, 2, 3\], expected \[2, Cout ≥ 2, 2, 2, 2\]/);
  });
});
