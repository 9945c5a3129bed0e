// shared/protocol/thermal.ts and the thermal fields of device info and run events (run.ts runEventForVersion).
import { describe, expect, it } from 'vitest';
import { deviceInfoSchema } from '../../../../shared/protocol/device';
import { runEventForVersion, runEventSchema, thermalOf } from '../../../../shared/protocol/run';
import { deviceInfo } from '../../../../shared/protocol/samples';
import { thermalAtMost, thermalLabel, thermalStateSchema } from '../../../../shared/protocol/thermal';

describe('thermal state', () => {
  it("takes iOS's four names and nothing else", () => {
    for (const s of ['nominal', 'fair', 'serious', 'critical']) expect(thermalStateSchema.parse(s)).toBe(s);
    expect(thermalStateSchema.safeParse('hot').success).toBe(false);
    expect(thermalStateSchema.safeParse('unknown').success).toBe(false);
    expect(deviceInfoSchema.safeParse({ ...deviceInfo, thermalState: 'warm' }).success).toBe(false);
    expect(deviceInfoSchema.parse({ ...deviceInfo, thermalState: null }).thermalState).toBeNull();
  });

  it('orders the states coolest first; unknown is never "at most" anything', () => {
    expect(thermalAtMost('nominal', 'nominal')).toBe(true);
    expect(thermalAtMost('fair', 'nominal')).toBe(false);
    expect(thermalAtMost('fair', 'serious')).toBe(true);
    expect(thermalAtMost('critical', 'serious')).toBe(false);
    expect(thermalAtMost(null, 'critical')).toBe(false);
    expect(thermalLabel(null)).toBe('unknown');
    expect(thermalLabel(undefined)).toBe('unknown');
  });

  it('run.started and the terminal events carry it; older sessions get them without it', () => {
    const started = runEventSchema.parse({ type: 'run.started', atMs: 1, thermal: 'fair' });
    const cancelled = runEventSchema.parse({
      type: 'run.cancelled',
      atMs: 2,
      byClientId: null,
      thermal: null,
    });
    expect(runEventSchema.safeParse({ type: 'run.started', atMs: 1, thermal: 'hot' }).success).toBe(false);
    expect(
      runEventSchema.safeParse({ type: 'run.queued', atMs: 1, position: 0, thermal: 'fair' }).success,
    ).toBe(false);
    expect(thermalOf(started)).toBe('fair');
    expect(thermalOf(cancelled)).toBeNull();
    expect(runEventForVersion(started, 3)).toEqual(started);
    for (const version of [1, 2]) {
      expect(runEventForVersion(started, version)).toEqual({ type: 'run.started', atMs: 1 });
      expect(runEventForVersion(cancelled, version)).toEqual({
        type: 'run.cancelled',
        atMs: 2,
        byClientId: null,
      });
    }
  });

  it('still strips version-3 engine fields for older sessions', () => {
    const placed = runEventSchema.parse({
      type: 'block.compute.end',
      atMs: 1,
      block: 'denoiser/part1',
      step: 0,
      variant: 'plain',
      placement: 'cpu',
    });
    expect('placement' in runEventForVersion(placed, 2)).toBe(false);
  });
});
