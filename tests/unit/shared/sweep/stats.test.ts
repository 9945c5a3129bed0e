// A sweep's numbers: speed-ups against the right baseline, medians and spreads over measured runs only, and CSVs a
// pandas user loads in one line.
import { describe, expect, it } from 'vitest';
import { expandSweep, sweepFingerprint } from '../../../../shared/sweep/expand';
import {
  newSweepJournal,
  sweepJournalSchema,
  type SweepJournal,
  type SweepRunResult,
} from '../../../../shared/sweep/journal';
import { parseSweepSpec } from '../../../../shared/sweep/spec';
import {
  sweepPointsCsv,
  sweepPointStats,
  sweepRunMetrics,
  sweepRunsCsv,
} from '../../../../shared/sweep/stats';

function result(wallMs: number, denoiseMs = wallMs / 2): SweepRunResult {
  return {
    wallMs,
    loadMs: 1,
    textMs: 1,
    denoiseMs,
    decodeMs: 1,
    stepsRun: 3,
    stepMs: 5,
    peakResidentBytes: null,
  };
}

function journal(): SweepJournal {
  const spec = parseSweepSpec({
    format: 'odsora-sweep',
    version: 1,
    base: { steps: 4 },
    axes: { 'tdtm.mergeSteps': [0, 2], 'cidl.budget': ['50%'] },
    prompts: ['a, "quoted" prompt', 'b'],
    seeds: [1],
    devices: [{ id: 'phone', builtin: true }],
    repeats: 3,
    warmup: 1,
  });
  const j = newSweepJournal(spec, sweepFingerprint(spec), expandSweep(spec), 0);
  for (const r of j.runs) {
    r.status = 'finished';
    // Baselines take 1000 ms (prompt a) and 2000 ms (prompt b); measured runs 100 × (repeat + 1) × (prompt + 1).
    r.result =
      r.kind === 'baseline'
        ? result(1000 * (r.promptIndex + 1))
        : r.kind === 'warmup'
          ? result(99_999)
          : result(100 * (r.repeat + 1) * (r.promptIndex + 1));
  }
  return j;
}

describe('sweep statistics', () => {
  it('a measured run’s speed-up is over the baseline of its own prompt and seed', () => {
    const j = journal();
    const m = sweepRunMetrics(j);
    const run = j.runs.find((r) => r.kind === 'measured' && r.promptIndex === 1 && r.repeat === 1)!;
    expect(m.get(run.id)).toContainEqual({ metric: 'speedup_wall', value: 2000 / 400, unit: 'x' });
    expect(m.get(run.id)!.map((x) => x.metric)).not.toContain('psnr_vs_baseline');
    run.quality = { psnrDb: 31.5, ssim: 0.9 };
    expect(sweepRunMetrics(j).get(run.id)).toEqual(
      expect.arrayContaining([
        { metric: 'psnr_vs_baseline', value: 31.5, unit: 'dB' },
        { metric: 'ssim_vs_baseline', value: 0.9, unit: '1' },
      ]),
    );
    const warm = j.runs.find((r) => r.kind === 'warmup')!;
    expect(m.get(warm.id)!.map((x) => x.metric)).not.toContain('speedup_wall');
  });

  it('flicker for every run with frames, flicker_vs_baseline against its own baseline, adherence where scored', () => {
    const j = journal();
    const base = j.runs.find((r) => r.kind === 'baseline' && r.promptIndex === 0)!;
    const runs = j.runs.filter((r) => r.kind === 'measured' && r.promptIndex === 0);
    const [steadier, jumpier, unscored] = runs;
    base.clip = { flicker: 0.95, adherence: 0.75 };
    steadier!.clip = { flicker: 0.97, adherence: 1 };
    jumpier!.clip = { flicker: 0.9, adherence: 0.5 };
    // A prompt outside the Nano vocabulary: flicker, but no adherence at all (not 0).
    unscored!.clip = { flicker: 0.95, adherence: null };
    const m = sweepRunMetrics(j);
    const value = (id: string, metric: string) => m.get(id)!.find((x) => x.metric === metric)?.value;
    expect(value(base.id, 'flicker')).toBe(0.95);
    expect(value(base.id, 'adherence')).toBe(0.75);
    expect(value(base.id, 'flicker_vs_baseline')).toBeUndefined(); // a baseline has none of its own
    expect(value(steadier!.id, 'flicker_vs_baseline')).toBeCloseTo(0.02, 12);
    expect(value(jumpier!.id, 'flicker_vs_baseline')).toBeCloseTo(-0.05, 12);
    expect(m.get(steadier!.id)).toContainEqual({ metric: 'adherence', value: 1, unit: '1' });
    expect(m.get(unscored!.id)!.map((x) => x.metric)).not.toContain('adherence');
    expect(value(unscored!.id, 'flicker_vs_baseline')).toBe(0);
    // No clip scores (no frames): none of the three.
    const none = runs.find((r) => r.clip === null)!;
    expect(m.get(none.id)!.map((x) => x.metric)).not.toEqual(
      expect.arrayContaining(['flicker', 'flicker_vs_baseline', 'adherence']),
    );
    const point = sweepPointStats(j).filter((s) => s.pointId === steadier!.pointId);
    expect(point.find((s) => s.metric === 'adherence')).toMatchObject({ n: 2, median: 0.75, unit: '1' });
    expect(sweepRunsCsv(j)).toContain(`${steadier!.id},measured,`);
    expect(
      sweepRunsCsv(j)
        .split('\n')
        .filter((l) => l.endsWith(',adherence,1,1')),
    ).toHaveLength(1);
  });

  it('a journal written before clip scores existed loads, and its CSVs have every other metric', () => {
    const old = JSON.parse(JSON.stringify(journal())) as { runs: Record<string, unknown>[] };
    for (const r of old.runs) delete r.clip;
    const j = sweepJournalSchema.parse(old);
    expect(j.runs.every((r) => r.clip === null)).toBe(true);
    const csv = sweepRunsCsv(j);
    expect(csv).toContain(',wall,');
    expect(csv).not.toMatch(/,(flicker|flicker_vs_baseline|adherence),/);
    expect(sweepPointsCsv(j, sweepPointStats(j))).toContain(',speedup_wall,');
  });

  it('per point: median and spread over the measured runs, warm-ups and unfinished runs left out', () => {
    const j = journal();
    j.runs.find((r) => r.kind === 'measured')!.status = 'failed';
    const stats = sweepPointStats(j);
    expect(new Set(stats.map((s) => s.pointId)).size).toBe(2);
    const wall = stats.filter((s) => s.metric === 'wall');
    // Point 1: 6 runs, walls 100/200/300 (prompt a) and 200/400/600 (prompt b); point 0 lost its first run.
    const full = wall.find((s) => s.n === 6)!;
    expect(full).toMatchObject({ median: 250, min: 100, max: 600, p25: 200, p75: 375, unit: 'ms' });
    expect(wall.find((s) => s.n === 5)).toBeDefined();
    expect(stats.every((s) => s.max < 99_999)).toBe(true);
  });

  it('sweep.csv: one row per run × metric, axes and parameters as columns, fields quoted where needed', () => {
    const j = journal();
    const lines = sweepRunsCsv(j).trim().split('\n');
    const header = lines[0]!.split(',');
    expect(header.slice(0, 8)).toEqual([
      'run_id',
      'kind',
      'device',
      'role',
      'point_id',
      'repeat',
      'axis.tdtm.mergeSteps',
      'axis.cidl.budget',
    ]);
    expect(header).toEqual(
      expect.arrayContaining(['param.prompt', 'param.cidl.budget.kind', 'param.cidl.budget.of']),
    );
    expect(header.slice(-7)).toEqual([
      'thermal_start',
      'thermal_end',
      'thermal_gate',
      'thermal_wait_ms',
      'metric',
      'value',
      'unit',
    ]);
    const metricsPerRun = [...sweepRunMetrics(j).values()].reduce((n, m) => n + m.length, 0);
    expect(lines).toHaveLength(1 + metricsPerRun);
    expect(lines.some((l) => l.includes('"a, ""quoted"" prompt"'))).toBe(true);
  });

  it('sweep.csv: each run’s thermal state at start and end and how its start was gated', () => {
    const j = journal();
    const [hot, plain] = j.runs;
    hot!.thermal = { start: 'serious', end: 'critical', waitedMs: 1500, gate: 'expired' };
    plain!.thermal = null;
    const lines = sweepRunsCsv(j).trim().split('\n');
    // The thermal columns come just before metric, value, unit (a prompt may hold commas: count from the end).
    const thermal = (id: string) =>
      lines
        .find((l) => l.startsWith(`${id},`))!
        .split(',')
        .slice(-7, -3);
    expect(thermal(hot!.id)).toEqual(['serious', 'critical', 'expired', '1500']);
    expect(thermal(plain!.id)).toEqual(['unknown', 'unknown', 'off', '0']);
  });

  it('sweep-points.csv: one row per point statistic', () => {
    const j = journal();
    const stats = sweepPointStats(j);
    const lines = sweepPointsCsv(j, stats).trim().split('\n');
    expect(lines[0]).toBe(
      'device,role,point_id,axis.tdtm.mergeSteps,axis.cidl.budget,metric,unit,n,median,p25,p75,min,max',
    );
    expect(lines).toHaveLength(1 + stats.length);
  });
});
