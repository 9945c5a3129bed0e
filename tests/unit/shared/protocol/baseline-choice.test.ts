// Which device runs a baseline: the one chosen, else an obvious one, else none with what to do about it; and a
// baseline's parameters (the same job with every technique off).
import { describe, expect, it } from 'vitest';
import {
  baselineParams,
  chooseBaselineDevice,
  describeBaselineChoice,
  type BaselineChoice,
} from '../../../../shared/protocol/baseline-choice';
import type { StudioDevice } from '../../../../shared/protocol/studio-contract';

function dev(id: string, over: Partial<StudioDevice> = {}): StudioDevice {
  return {
    id,
    deviceId: id,
    name: `${id} device`,
    model: 'm',
    role: 'target',
    simulated: false,
    engineVersion: '1',
    host: '127.0.0.1',
    port: 1,
    sources: { builtin: id === 'builtin', discovered: false, manual: id !== 'builtin' },
    status: 'paired',
    baseline: false,
    thermalState: null,
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

const picked = (c: BaselineChoice): [string, string] | [null, string] =>
  c.ok ? [c.device.id, c.reason] : [null, c.reason];

describe('baseline device choice', () => {
  const phone = dev('phone');
  const builtin = dev('builtin');

  it('takes the device chosen as baseline, and only it while it is not paired', () => {
    const gpu = dev('gpu', { baseline: true });
    expect(picked(chooseBaselineDevice([phone, gpu], 'phone'))).toEqual(['gpu', 'chosen']);
    const away = chooseBaselineDevice([phone, { ...gpu, status: 'connecting' }], 'phone');
    expect(picked(away)).toEqual([null, 'chosen-not-paired']);
    expect(describeBaselineChoice(away)).toBe(
      'The baseline device gpu device is connecting, not paired: reconnect it, or choose another baseline ' +
        'device on the Devices screen.',
    );
  });

  it('else the one paired baseline machine, else the device that ran the run, else the only paired device', () => {
    const machine = dev('ref', { role: 'baseline' });
    expect(picked(chooseBaselineDevice([phone, machine, builtin], 'phone'))).toEqual([
      'ref',
      'baseline-machine',
    ]);
    // Two baseline machines: neither is obvious, so the run's own device is.
    const twoMachines = [phone, machine, dev('ref2', { role: 'baseline' })];
    expect(picked(chooseBaselineDevice(twoMachines, 'phone'))).toEqual(['phone', 'same-device']);
    expect(picked(chooseBaselineDevice([builtin, phone], 'builtin'))).toEqual(['builtin', 'same-device']);
    expect(picked(chooseBaselineDevice([phone], 'phone'))).toEqual(['phone', 'same-device']);
    // The run's device is gone (forgotten or disconnected): the one device left.
    expect(picked(chooseBaselineDevice([builtin, { ...phone, status: 'error' }], 'phone'))).toEqual([
      'builtin',
      'only-paired',
    ]);
  });

  it('else none, saying what to do', () => {
    const none = chooseBaselineDevice([{ ...phone, status: 'discovered' }], 'phone');
    expect(picked(none)).toEqual([null, 'none-paired']);
    expect(describeBaselineChoice(none)).toMatch(
      /pair one and choose it as the baseline on the Devices screen/,
    );
    const several = chooseBaselineDevice([builtin, dev('tablet')], 'phone');
    expect(picked(several)).toEqual([null, 'several-paired']);
    expect(describeBaselineChoice(several)).toMatch(/2 other paired devices could run the baseline/);
  });
});

describe('baselineParams', () => {
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
});
