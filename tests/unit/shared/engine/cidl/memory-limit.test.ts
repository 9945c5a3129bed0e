import { describe, expect, it } from 'vitest';
import { resolveBudget } from '../../../../../shared/engine/cidl/budget';
import {
  budgetShortfall,
  stageWork,
  startStageMemory,
  verifyCopyBytes,
} from '../../../../../shared/engine/cidl/memory-limit';
import type { MemoryProbe } from '../../../../../shared/engine/ports';

const probe = (footprint: number, peak: number | null = null): MemoryProbe & { resets: number } => {
  const p = {
    resets: 0,
    availableBytes: async () => 1e12,
    footprintBytes: async () => footprint,
    resetPeak: () => void p.resets++,
    peakBytes: async () => peak,
  };
  return p;
};

describe('process memory limits', () => {
  it('leave a stage the limit minus what the process holds and the stage works with, capped by the request', async () => {
    const spec = { kind: 'process' as const, limitBytes: 3_300_000_000 };
    const ctx = { totalBlockBytes: 5e9, probe: probe(400_000_000), workBytes: 300_000_000 };
    expect(await resolveBudget(spec, ctx)).toBe(2_600_000_000);
    expect(await resolveBudget({ ...spec, cap: { kind: 'bytes', bytes: 1e9 } }, ctx)).toBe(1e9);
    expect(await resolveBudget({ ...spec, cap: { kind: 'fraction', of: 0.1 } }, ctx)).toBe(5e8);
    expect(await resolveBudget(spec, { ...ctx, baseBytes: 3.2e9 })).toBe(0);
    await expect(resolveBudget(spec, { totalBlockBytes: 1 })).rejects.toThrow(/memory probe/);
  });

  it('count the copy of the largest block a run will hash', () => {
    const blocks = [
      { bytes: 10, verified: false },
      { bytes: 30, verified: true },
      { bytes: 20, verified: false },
    ];
    expect(verifyCopyBytes(blocks, 'first-load')).toBe(20);
    expect(verifyCopyBytes(blocks, 'every-load')).toBe(30);
    expect(verifyCopyBytes(blocks, 'off')).toBe(0);
  });

  it('explain a refusal with the arithmetic of the limit', () => {
    const msg = budgetShortfall(
      { kind: 'process', limitBytes: 3_300_000_000 },
      { reason: 'block text/block.3 needs 772 MB', budgetBytes: 500_000_000 },
      stageWork(100, 200, 300),
      2_000_000_000,
    );
    expect(msg).toMatch(/3\.1 GiB .* process limit/);
    expect(msg).toMatch(/1\.9 GiB .* already held/);
    expect(msg).toMatch(/476\.8 MiB .* is left for blocks: block text\/block\.3 needs 772 MB/);
  });

  it('measure a stage from its start: base footprint, reset peak, predicted = base + blocks + work', async () => {
    const p = probe(1000, 5000);
    const meter = await startStageMemory(p, true);
    expect(p.resets).toBe(1);
    const r = await meter.report('denoise', stageWork(100, 0, 0), {
      budgetBytes: 4000,
      predictedPeakBytes: 3000,
    });
    expect(r).toMatchObject({
      baseBytes: 1000,
      blockPeakBytes: 3000,
      predictedPeakBytes: 4100,
      measuredPeakBytes: 5000,
    });
    expect(r.growthBytes).toBe(0);
    // Inside another stage (a preview decode) nothing is reset or measured.
    const quiet = await startStageMemory(p, false);
    expect(p.resets).toBe(1);
    expect(
      (await quiet.report('decode', stageWork(0, 0, 0), { budgetBytes: null, predictedPeakBytes: 0 }))
        .measuredPeakBytes,
    ).toBeNull();
  });

  it('count the growth a cold process still has ahead into the base, and say so in a refusal', async () => {
    const cold = { ...probe(1000, 5000), pendingGrowthBytes: () => 250 };
    const meter = await startStageMemory(cold, true);
    expect(meter).toMatchObject({ baseBytes: 1250, growthBytes: 250 });
    const r = await meter.report('text', stageWork(100, 0, 0), {
      budgetBytes: 4000,
      predictedPeakBytes: 3000,
    });
    expect(r).toMatchObject({ baseBytes: 1250, growthBytes: 250, predictedPeakBytes: 4350 });
    // A probe that reports nonsense growth adds nothing.
    const odd = await startStageMemory({ ...probe(1000), pendingGrowthBytes: () => Number.NaN }, false);
    expect(odd).toMatchObject({ baseBytes: 1000, growthBytes: 0 });
    const msg = budgetShortfall(
      { kind: 'process', limitBytes: 3_300_000_000 },
      { reason: 'block text/block.3 needs 772 MB', budgetBytes: 500_000_000 },
      stageWork(100, 200, 300),
      2_000_000_000,
      30_000_000,
    );
    expect(msg).toMatch(/1\.9 GiB .* already held \(28\.6 MiB .* of it start-up growth still to come\)/);
  });
});
