// Expansion: counts, the three orders, stable ids (what resuming relies on), baselines and warm-ups.
import { describe, expect, it } from 'vitest';
import { countSweepRuns, expandSweep, sweepFingerprint } from '../../../../shared/sweep/expand';
import { parseSweepSpec, type SweepSpec } from '../../../../shared/sweep/spec';

function spec(over: Record<string, unknown> = {}): SweepSpec {
  return parseSweepSpec({
    format: 'odsora-sweep',
    version: 1,
    base: { steps: 4, heightPx: 64, widthPx: 64 },
    axes: { 'lpl.leapStep': [2, 3], 'tdtm.mergeSteps': [0, 2], 'cidl.budget': ['all', '512MiB'] },
    prompts: ['a red ball', 'a blue cube'],
    seeds: [1],
    devices: [
      { id: 'phone', builtin: true },
      { id: 'desk', address: '127.0.0.1:7000' },
    ],
    repeats: 2,
    warmup: 1,
    ...over,
  });
}

const key = (r: { pointId: string | null; promptIndex: number; seed: number }): string =>
  `${r.pointId}/${r.promptIndex}/${r.seed}`;

describe('expandSweep', () => {
  it('plans the acceptance grid: 8 points × 2 prompts × 2 repeats × 2 devices, 1 warm-up each, shared baselines', () => {
    const s = spec();
    const plan = expandSweep(s);
    expect(countSweepRuns(s)).toEqual({ measured: 64, baseline: 2, warmup: 2, total: 68 });
    expect(plan).toHaveLength(68);
    expect(new Set(plan.map((r) => r.id)).size).toBe(68);
    // Both devices are targets: one baseline per prompt × seed, on the first target.
    const baselines = plan.filter((r) => r.kind === 'baseline');
    expect(baselines.map((r) => r.device)).toEqual(['phone', 'phone']);
    expect(baselines[0]!.params).toMatchObject({
      prompt: 'a red ball',
      steps: 4,
      lpl: { mode: 'off' },
      tdtm: { mergeSteps: 0 },
      cidl: { budget: { kind: 'unlimited' } },
    });
    // A device of another role gets its own baselines.
    const roles = spec({
      devices: [
        { id: 'phone', builtin: true },
        { id: 'gpu', address: '10.0.0.2:7000', role: 'baseline' },
      ],
    });
    expect(countSweepRuns(roles).baseline).toBe(4);
    expect(expandSweep(roles).filter((r) => r.kind === 'baseline' && r.device === 'gpu')).toHaveLength(2);
  });

  it('applies the axes to the run parameters', () => {
    const run = expandSweep(spec()).find(
      (r) =>
        r.kind === 'measured' &&
        r.point['lpl.leapStep'] === 3 &&
        r.point['tdtm.mergeSteps'] === 2 &&
        r.point['cidl.budget'] === '512MiB',
    )!;
    expect(run.params).toMatchObject({
      steps: 4,
      lpl: { mode: 'fixed', leapStep: 3 },
      tdtm: { mergeSteps: 2 },
      cidl: { budget: { kind: 'bytes', bytes: 512 * 1024 * 1024 } },
    });
  });

  it('runs warm-ups first on each device, then its baselines, then the measured runs', () => {
    const phone = expandSweep(spec()).filter((r) => r.device === 'phone');
    expect(phone.slice(0, 3).map((r) => r.kind)).toEqual(['warmup', 'baseline', 'baseline']);
    expect(phone.slice(3).every((r) => r.kind === 'measured')).toBe(true);
  });

  it('grid: repeats of a point are adjacent; the last axis varies fastest', () => {
    const m = expandSweep(spec()).filter((r) => r.device === 'desk' && r.kind === 'measured');
    expect(m[0]!.pointId).toBe(m[1]!.pointId);
    expect([m[0]!.repeat, m[1]!.repeat]).toEqual([0, 1]);
    expect(m[2]!.point).toEqual({ 'lpl.leapStep': 2, 'tdtm.mergeSteps': 0, 'cidl.budget': '512MiB' });
  });

  it('interleaved: each pass visits every point once before any repeats', () => {
    const m = expandSweep(spec({ order: 'interleaved' })).filter(
      (r) => r.device === 'desk' && r.kind === 'measured',
    );
    const half = m.length / 2;
    expect(m.slice(0, half).every((r) => r.repeat === 0)).toBe(true);
    expect(new Set(m.slice(0, half).map(key)).size).toBe(half);
    for (let i = 1; i < m.length; i++) expect(key(m[i]!)).not.toBe(key(m[i - 1]!));
  });

  it('random: a permutation of the grid, the same for the same seed, another for another seed', () => {
    const ids = (s: SweepSpec): string[] => expandSweep(s).map((r) => r.id);
    const grid = ids(spec());
    const r7 = ids(spec({ order: { random: 7 } }));
    expect([...r7].sort()).toEqual([...grid].sort());
    expect(r7).not.toEqual(grid);
    expect(ids(spec({ order: { random: 7 } }))).toEqual(r7);
    expect(ids(spec({ order: { random: 8 } }))).not.toEqual(r7);
  });

  it('ids are stable: the same run has the same id whatever the order, the address or other prompts', () => {
    const byKey = (s: SweepSpec): Map<string, string> =>
      new Map(
        expandSweep(s).map((r) => [`${r.kind}/${r.device}/${key(r)}/${r.repeat}/${r.params.prompt}`, r.id]),
      );
    const a = byKey(spec());
    const moved = byKey(
      spec({
        order: 'interleaved',
        devices: [
          { id: 'phone', builtin: true },
          { id: 'desk', address: '127.0.0.1:7123' },
        ],
      }),
    );
    expect(moved).toEqual(a);
    const morePrompts = byKey(spec({ prompts: ['a red ball', 'a blue cube', 'a green cone'] }));
    for (const [k, id] of a) expect(morePrompts.get(k)).toBe(id);
  });

  it('the fingerprint ignores where a device is, not what the sweep runs', () => {
    const f = sweepFingerprint(spec());
    expect(
      sweepFingerprint(
        spec({
          devices: [
            { id: 'phone', builtin: true },
            { id: 'desk', address: 'mac.local:9000' },
          ],
        }),
      ),
    ).toBe(f);
    expect(sweepFingerprint(spec({ repeats: 3 }))).not.toBe(f);
    expect(sweepFingerprint(spec({ seeds: [2] }))).not.toBe(f);
  });

  it('refuses a sweep of more runs than allowed', () => {
    const values = Array.from({ length: 64 }, (_, i) => i);
    expect(() =>
      expandSweep(
        spec({ base: {}, axes: { 'tdtm.mergeSteps': values, 'lpl.patience': values.map((v) => v + 1) } }),
      ),
    ).toThrow(/plans \d+ runs; at most 10000/);
  });
});
