// The sweep spec: what it accepts, and the error a researcher gets for each mistake (naming field and value).
import { describe, expect, it } from 'vitest';
import { SWEEP_AXIS_NAMES } from '../../../../shared/sweep/axes';
import { parseSweepSpec, SweepSpecError } from '../../../../shared/sweep/spec';

const minimal = {
  format: 'odsora-sweep',
  version: 1,
  prompts: ['a red ball'],
  seeds: [1],
  devices: [{ id: 'phone', builtin: true }],
};

function refusal(over: Record<string, unknown>): string {
  try {
    parseSweepSpec({ ...minimal, ...over });
  } catch (e) {
    expect(e).toBeInstanceOf(SweepSpecError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('parseSweepSpec', () => {
  it('fills the defaults of a minimal spec', () => {
    const spec = parseSweepSpec(minimal);
    expect(spec).toMatchObject({ repeats: 1, warmup: 0, order: 'grid', baseline: true, axes: {}, base: {} });
    expect(spec.devices[0]).toEqual({ id: 'phone', role: 'target', builtin: true });
  });

  it('takes its axes from the technique registry', () => {
    expect(SWEEP_AXIS_NAMES).toEqual(
      expect.arrayContaining([
        'lpl.leapStep',
        'lpl.minimumSteps',
        'lpl.tolerance',
        'lpl.patience',
        'lpl.measure',
        'tdtm.mergeSteps',
        'cidl.policy',
        'cidl.prefetch',
        'cidl.verify',
        'cidl.budget',
      ]),
    );
  });

  it('refuses another format or version', () => {
    expect(() => parseSweepSpec({ ...minimal, format: 'x' })).toThrow(/"format" must be "odsora-sweep"/);
    expect(() => parseSweepSpec({ ...minimal, version: 2 })).toThrow(
      /version 2: this odsora reads version 1/,
    );
  });

  it('refuses an unknown axis, naming it and listing the axes', () => {
    const m = refusal({ axes: { 'lpl.leap': [1] } });
    expect(m).toContain('axes["lpl.leap"]: unknown axis (the axes are lpl.leapStep,');
  });

  it('refuses a value out of its knob bounds, naming the axis, index and value', () => {
    expect(refusal({ axes: { 'tdtm.mergeSteps': [0, -1] } })).toContain(
      'axes["tdtm.mergeSteps"][1]: -1: must be a non-negative integer, got -1',
    );
    expect(refusal({ axes: { 'lpl.leapStep': [10_001] } })).toContain(
      'axes["lpl.leapStep"][0]: 10001: must be at most 10000',
    );
    expect(refusal({ axes: { 'cidl.policy': ['fastest'] } })).toContain(
      `axes["cidl.policy"][0]: "fastest": must be 'paper', 'none' or 'largest-first'`,
    );
    expect(refusal({ axes: { 'cidl.budget': ['lots'] } })).toContain(
      'axes["cidl.budget"][0]: "lots": invalid budget',
    );
  });

  it('checks leaps and merges against the base step count', () => {
    const m = refusal({ base: { steps: 4 }, axes: { 'lpl.leapStep': [1, 4], 'tdtm.mergeSteps': [5] } });
    expect(m).toContain('axes["lpl.leapStep"][1]: 4: LPL fixed: leapStep 4 is not a step of a 4-step run');
    expect(m).toContain('axes["tdtm.mergeSteps"][0]: 5: TDTM merge steps (5) exceed the step count 4');
  });

  it('refuses mixed LPL modes, repeated values, prompts, seeds and devices', () => {
    expect(refusal({ axes: { 'lpl.leapStep': [1], 'lpl.patience': [2] } })).toContain(
      'one LPL mode per sweep',
    );
    expect(refusal({ axes: { 'tdtm.mergeSteps': [1, 1] } })).toContain(
      'axes["tdtm.mergeSteps"][1]: repeats 1',
    );
    expect(refusal({ prompts: ['a', 'a'] })).toContain('prompts[1]: repeats an earlier prompt');
    expect(refusal({ seeds: [3, 3] })).toContain('seeds[1]: repeats seed 3');
    expect(
      refusal({
        devices: [
          { id: 'a', address: 'h:1' },
          { id: 'a', address: 'h:2' },
        ],
      }),
    ).toContain('devices[1].id: repeats device id a');
  });

  it('refuses bad base params and devices with the field named', () => {
    expect(refusal({ base: { steps: 0 } })).toContain('base.steps:');
    expect(refusal({ base: { prompt: 'x' } })).toContain('base: unknown field prompt');
    expect(refusal({ devices: [{ id: 'x', address: 'h:1', builtin: true }] })).toContain(
      'devices[0]: needs exactly one of builtin: true, address',
    );
    expect(refusal({ devices: [{ id: 'x', address: 'nowhere' }] })).toContain(
      'devices[0].address: must be host:port',
    );
    expect(refusal({ devices: [{ id: 'Phone 1', builtin: true }] })).toContain(
      'devices[0].id: must be 1-32 of',
    );
  });
});
