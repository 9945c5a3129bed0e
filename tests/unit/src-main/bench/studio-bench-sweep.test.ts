import { describe, expect, it } from 'vitest';
import { benchSweepSpec } from '../../../../src-main/bench/studio-bench-sweep';
import { countSweepRuns, expandSweep } from '../../../../shared/sweep/expand';
import { parseSweepSpec } from '../../../../shared/sweep/spec';
import { parsePrompt } from '../../../../shared/metrics/vocabulary';

describe('the background sweep of bench studio', () => {
  it('is a valid spec with at least the asked measured runs, a warm-up and the baselines', () => {
    const spec = parseSweepSpec(benchSweepSpec(64, 30));
    expect(countSweepRuns(spec)).toEqual({ measured: 64, baseline: 2, warmup: 1, total: 67 });
    // Every run's leap is inside its 30 steps and the grid is the 2 x 2 x 2.
    const plan = expandSweep(spec);
    expect(plan).toHaveLength(67);
    const points = new Set(plan.filter((r) => r.kind === 'measured').map((r) => JSON.stringify(r.point)));
    expect(points.size).toBe(8);
    for (const r of plan) expect(r.params.steps).toBe(30);
  });

  it('rounds a count that is not a multiple of the grid up', () => {
    expect(countSweepRuns(parseSweepSpec(benchSweepSpec(20, 12))).measured).toBe(32);
  });

  it('refuses too few steps for its leaps, naming the flag', () => {
    expect(() => benchSweepSpec(16, 3)).toThrow(/--sweep-steps: at least 4, got 3/);
  });
});

describe('its prompts', () => {
  it('are in the nano vocabulary, so adherence can be scored', () => {
    for (const p of benchSweepSpec(16, 30).prompts) expect(() => parsePrompt(p)).not.toThrow();
  });
});
