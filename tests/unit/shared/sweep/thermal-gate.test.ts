// The sweep's thermal gate: waits while the device is too hot, goes ahead after the cool-down, never waits on a
// device that cannot tell, and gives up after maxWaitMs (the run is marked expired).
import { describe, expect, it } from 'vitest';
import type { ThermalState } from '../../../../shared/protocol/thermal';
import { parseSweepSpec } from '../../../../shared/sweep/spec';
import { sweepThermalGateSchema, waitForThermal } from '../../../../shared/sweep/thermal-gate';

/** A fake clock whose sleep advances time; `states` are read in order (the last one repeats). */
function ports(states: (ThermalState | null)[], opts: { stopAfterReads?: number } = {}) {
  let now = 1000;
  const reads: number[] = [];
  return {
    reads,
    ports: {
      read: async () => {
        reads.push(now);
        return states[Math.min(reads.length - 1, states.length - 1)]!;
      },
      nowMs: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
      stopped: () => opts.stopAfterReads !== undefined && reads.length >= opts.stopAfterReads,
    },
  };
}

const gate = (over: object = {}) =>
  sweepThermalGateSchema.parse({ pollMs: 1000, maxWaitMs: 10_000, ...over });

describe('waitForThermal', () => {
  it('polls while the device is hotter than maxState and passes once it is not', async () => {
    const p = ports(['serious', 'fair', 'nominal']);
    const r = await waitForThermal(gate(), p.ports, null);
    expect(r).toEqual({ outcome: 'passed', waitedMs: 2000, state: 'nominal' });
    expect(p.reads).toEqual([1000, 2000, 3000]);
  });

  it('maxState lets a warmer device through', async () => {
    const r = await waitForThermal(gate({ maxState: 'fair' }), ports(['fair']).ports, null);
    expect(r.outcome).toBe('passed');
  });

  it('waits the cool-down after the previous run before reading', async () => {
    const p = ports(['nominal']);
    const r = await waitForThermal(gate({ coolDownMs: 2500 }), p.ports, 500);
    expect(p.reads).toEqual([3000]);
    expect(r).toMatchObject({ outcome: 'passed', waitedMs: 2000 });
  });

  it('gives up after maxWaitMs: the run goes ahead, marked expired', async () => {
    const r = await waitForThermal(gate({ maxWaitMs: 3000 }), ports(['critical']).ports, null);
    expect(r).toEqual({ outcome: 'expired', waitedMs: 3000, state: 'critical' });
  });

  it('does not wait on a device that cannot tell (or whose read fails)', async () => {
    expect((await waitForThermal(gate(), ports([null]).ports, null)).outcome).toBe('unknown');
    const failing = { ...ports([]).ports, read: () => Promise.reject(new Error('gone')) };
    expect((await waitForThermal(gate(), failing, null)).outcome).toBe('unknown');
  });

  it('ends the wait at once when the sweep stops', async () => {
    const p = ports(['serious'], { stopAfterReads: 2 });
    const r = await waitForThermal(gate(), p.ports, null);
    expect(p.reads).toHaveLength(2);
    expect(r.waitedMs).toBe(1000);
  });
});

describe('the spec’s thermal field', () => {
  const spec = {
    format: 'odsora-sweep',
    version: 1,
    prompts: ['a'],
    seeds: [1],
    devices: [{ id: 'd', builtin: true }],
  };

  it('is optional and fills its defaults', () => {
    expect(parseSweepSpec(spec).thermal).toBeUndefined();
    expect(parseSweepSpec({ ...spec, thermal: {} }).thermal).toEqual({
      maxState: 'nominal',
      pollMs: 5000,
      coolDownMs: 0,
      maxWaitMs: 600_000,
    });
  });

  it('names a bad state or an unknown field', () => {
    expect(() => parseSweepSpec({ ...spec, thermal: { maxState: 'warm' } })).toThrow(/thermal\.maxState/);
    expect(() => parseSweepSpec({ ...spec, thermal: { waitMs: 1 } })).toThrow(
      /thermal: unknown field waitMs/,
    );
  });
});
