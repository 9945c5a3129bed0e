// The Sweeps screen's form → spec: every axis from the registry, the fixed leap counted from 1 as the composer
// shows it, devices from the studio's paired entries, and the runner's own messages for what is wrong.
import { describe, expect, it } from 'vitest';
import type { StudioDevice } from '../../../../shared/protocol/studio-contract';
import { SWEEP_AXIS_NAMES } from '../../../../shared/sweep/axes';
import { parseSweepSpec } from '../../../../shared/sweep/spec';
import { sweepThermalGateSchema } from '../../../../shared/sweep/thermal-gate';
import {
  buildSweepSpec,
  DEFAULT_SWEEP_FORM,
  sweepDeviceId,
  THERMAL_TIME_FIELDS,
} from '../../../../src-renderer/sweeps/sweep-model';
import { fakeDevice } from '../helpers/fake-studio';

const builtin = fakeDevice();
const desk: StudioDevice = fakeDevice({
  id: 'dev-desk',
  name: 'Desk Mac',
  host: '192.168.1.20',
  port: 7420,
  sources: { builtin: false, discovered: false, manual: true },
});

describe('buildSweepSpec', () => {
  it('builds a 2 × 2 grid on two devices, the leap step counted from 1', () => {
    const r = buildSweepSpec(
      {
        ...DEFAULT_SWEEP_FORM,
        axes: { 'lpl.leapStep': '3, 5', 'tdtm.mergeSteps': '0, 2', 'cidl.budget': '' },
        steps: '6',
        deviceIds: [builtin.id, desk.id],
        repeats: '2',
        warmup: '1',
      },
      [builtin, desk],
    );
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.spec.axes).toEqual({ 'lpl.leapStep': [2, 4], 'tdtm.mergeSteps': [0, 2] });
    expect(r.spec.devices).toEqual([
      { id: 'builtin', role: 'target', builtin: true },
      { id: 'desk-mac', role: 'target', address: '192.168.1.20:7420' },
    ]);
    // 4 points × 1 prompt × 1 seed × 2 repeats × 2 devices, 1 shared baseline, 2 warm-ups.
    expect(r.runs).toEqual({ measured: 16, baseline: 1, warmup: 2, total: 19 });
  });

  it('the thermal gate: off by default; on, its fields in seconds become spec.thermal in ms', () => {
    const base = { ...DEFAULT_SWEEP_FORM, deviceIds: [builtin.id] };
    const off = buildSweepSpec(base, [builtin]);
    if (!off.ok) throw new Error(off.problems.join('; '));
    expect(off.spec.thermal).toBeUndefined();
    const on = buildSweepSpec(
      {
        ...base,
        thermal: {
          on: true,
          maxState: 'fair',
          seconds: { coolDownMs: '30', pollMs: '2.5', maxWaitMs: '120' },
        },
      },
      [builtin],
    );
    if (!on.ok) throw new Error(on.problems.join('; '));
    const thermal = { maxState: 'fair', coolDownMs: 30_000, pollMs: 2500, maxWaitMs: 120_000 };
    expect(on.spec.thermal).toEqual(thermal);
    // The file `odsora sweep --spec` reads says the same.
    expect(parseSweepSpec(JSON.parse(JSON.stringify(on.spec))).thermal).toEqual(thermal);
    // Turned on untouched: the schema's defaults.
    const defaults = buildSweepSpec({ ...base, thermal: { ...base.thermal, on: true } }, [builtin]);
    expect(defaults.ok && defaults.spec.thermal).toEqual(sweepThermalGateSchema.parse({}));
  });

  it("the thermal gate's bounds are the spec schema's, in seconds, and a value outside them is named", () => {
    const poll = THERMAL_TIME_FIELDS.find((f) => f.key === 'pollMs')!;
    expect([poll.minS, poll.maxS]).toEqual([
      sweepThermalGateSchema.shape.pollMs.unwrap().minValue! / 1000,
      sweepThermalGateSchema.shape.pollMs.unwrap().maxValue! / 1000,
    ]);
    const r = buildSweepSpec(
      {
        ...DEFAULT_SWEEP_FORM,
        deviceIds: [builtin.id],
        thermal: {
          on: true,
          maxState: 'nominal',
          seconds: { coolDownMs: '-1', pollMs: '0.01', maxWaitMs: 'soon' },
        },
      },
      [builtin],
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      'Thermal gate · Cool-down (s): must be a number of seconds from 0 to 3600, got "-1"',
      'Thermal gate · Poll every (s): must be a number of seconds from 0.05 to 600, got "0.01"',
      'Thermal gate · Longest wait (s): must be a number of seconds from 0 to 86400, got "soon"',
    ]);
  });

  it('offers every axis of the registry', () => {
    expect(SWEEP_AXIS_NAMES).toContain('cidl.budget');
    expect(SWEEP_AXIS_NAMES).toContain('tdtm.mergeSteps');
  });

  it("names what is wrong with the runner's own messages", () => {
    const r = buildSweepSpec(
      { ...DEFAULT_SWEEP_FORM, axes: { 'tdtm.mergeSteps': '0, -1' }, seeds: '1, x', deviceIds: [] },
      [builtin],
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      'Seeds: "x" is not a whole number',
      'Devices: choose at least one paired device',
    ]);
    const bounds = buildSweepSpec(
      { ...DEFAULT_SWEEP_FORM, axes: { 'tdtm.mergeSteps': '0, -1' }, deviceIds: [builtin.id] },
      [builtin],
    );
    expect(bounds.ok).toBe(false);
    if (!bounds.ok) expect(bounds.problems[0]).toContain('axes["tdtm.mergeSteps"][1]: -1');
  });

  it('gives devices unique sweep ids', () => {
    expect(sweepDeviceId(desk, new Set(['desk-mac']))).toBe('desk-mac-2');
  });
});
