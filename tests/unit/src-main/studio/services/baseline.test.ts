// Baselines: the same job with every technique off, on the device chosen as baseline (or the built-in device as
// its own baseline when it is the only one).
import { describe, expect, it } from 'vitest';
import type { StudioDevice } from '../../../../../shared/protocol/studio-contract';
import { baselineParams, chooseBaselineDevice } from '../../../../../src-main/studio/services/baseline';

function dev(id: string, over: Partial<StudioDevice> = {}): StudioDevice {
  return {
    id,
    deviceId: id,
    name: id,
    model: 'm',
    role: 'target',
    simulated: false,
    engineVersion: '1',
    host: '127.0.0.1',
    port: 1,
    sources: { builtin: id === 'builtin', discovered: false, manual: id !== 'builtin' },
    status: 'paired',
    baseline: false,
    diagnostics: {
      seenOverMdns: false,
      portReachable: true,
      protocolVersion: 1,
      paired: true,
      lastError: null,
    },
    ...over,
  };
}

describe('baseline', () => {
  it('turns LPL, TDTM and CI-DL off and keeps prompt, seed, steps, CFG and size', () => {
    const params = {
      prompt: 'p',
      seed: 9,
      steps: 30,
      cfgScale: 7,
      numFrames: 17,
      heightPx: 64,
      widthPx: 64,
      lpl: { mode: 'fixed' as const, leapStep: 15 },
      tdtm: { mergeSteps: 15 },
      cidl: { budget: { kind: 'fraction' as const, of: 0.5 }, policy: 'paper' as const },
    };
    expect(baselineParams(params)).toEqual({
      prompt: 'p',
      seed: 9,
      steps: 30,
      cfgScale: 7,
      numFrames: 17,
      heightPx: 64,
      widthPx: 64,
      lpl: { mode: 'off' },
      tdtm: { mergeSteps: 0 },
      cidl: { budget: { kind: 'unlimited' } },
    });
  });

  it('picks the paired baseline device, else the lone built-in device for its own runs, else none', () => {
    const phone = dev('phone');
    const gpu = dev('gpu', { baseline: true });
    expect(chooseBaselineDevice([phone, gpu], 'phone')?.id).toBe('gpu');
    expect(chooseBaselineDevice([phone, { ...gpu, status: 'connected' }], 'phone')).toBeNull();
    expect(chooseBaselineDevice([dev('builtin')], 'builtin')?.id).toBe('builtin');
    expect(chooseBaselineDevice([dev('builtin'), phone], 'builtin')).toBeNull();
    expect(chooseBaselineDevice([phone], 'phone')).toBeNull();
  });
});
