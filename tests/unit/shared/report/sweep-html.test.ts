// @vitest-environment happy-dom
// The sweep report: one self-contained document (its CSP, no script, no external URL) with the point table (medians,
// spreads, n, units), both figures inline, the spec, the runs' outcome and the provenance — devices with their
// backends, model hashes and the thermal states the journal recorded.
import { describe, expect, it } from 'vitest';
import { buildSweepReportHtml, type SweepReportInput } from '../../../../shared/report/sweep-html';
import { REPORT_CSP } from '../../../../shared/report/html';
import { expandSweep, sweepFingerprint } from '../../../../shared/sweep/expand';
import { newSweepJournal, type SweepJournal } from '../../../../shared/sweep/journal';
import { parseSweepSpec } from '../../../../shared/sweep/spec';
import { sweepPointStats } from '../../../../shared/sweep/stats';

function journal(): SweepJournal {
  const spec = parseSweepSpec({
    format: 'odsora-sweep',
    version: 1,
    name: 'leap <grid>',
    base: { steps: 8 },
    axes: { 'lpl.leapStep': [4, 6], 'cidl.budget': ['all'] },
    prompts: ['a red circle moving right on a black background'],
    seeds: [42],
    devices: [{ id: 'phone', builtin: true }],
    repeats: 2,
    warmup: 1,
  });
  const j = newSweepJournal(spec, sweepFingerprint(spec), expandSweep(spec), 0);
  for (const r of j.runs) {
    r.status = 'finished';
    const wall = r.kind === 'baseline' ? 1000 : r.point['lpl.leapStep'] === 4 ? 500 + r.repeat * 10 : 700;
    r.result = {
      wallMs: wall,
      loadMs: 1,
      textMs: 1,
      denoiseMs: wall / 2,
      decodeMs: 1,
      stepsRun: 5,
      stepMs: 3,
      peakResidentBytes: 4 * 1024 ** 2,
    };
    if (r.kind === 'measured') r.quality = { psnrDb: r.point['lpl.leapStep'] === 4 ? 28 : 35, ssim: 0.9 };
  }
  return j;
}

function input(j: SweepJournal): SweepReportInput {
  return {
    provenance: {
      appVersion: '0.3.0',
      engineVersion: '0.1.0',
      gitCommit: 'abc123',
      host: 'odsora sweep-report',
      generatedAtIso: '2026-12-07T10:00:00.000Z',
    },
    journal: j,
    stats: sweepPointStats(j),
    devices: [
      {
        id: 'phone',
        role: 'target',
        foundBy: 'built-in',
        name: 'Built-in iPhone 15 Pro (simulated)',
        model: 'iPhone16,1',
        simulated: true,
        engineVersion: '0.1.0',
        platform: 'linux-x64',
        backends: ['onnxruntime-node 1.30.0 (cpu, 2 threads)'],
        memoryLimitBytes: 3.3 * 1024 ** 3,
        models: [
          { name: 'opensora-nano', model: 'opensora-v1.2', bytes: 1024 ** 2, manifestSha256: 'f'.repeat(64) },
        ],
      },
    ],
    files: [{ name: 'sweep.csv', what: 'one row per run × metric' }],
  };
}

describe('buildSweepReportHtml', () => {
  it('is one self-contained document: the report CSP, no script, no external reference', () => {
    const html = buildSweepReportHtml(input(journal()));
    expect(html).toContain(`content="${REPORT_CSP}"`);
    expect(html).not.toMatch(/<script|<link|<img|url\(|@import/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    const doc = new DOMParser().parseFromString(html, 'text/html');
    expect(doc.title).toBe('On-device Sora sweep report — leap <grid>');
    expect(doc.querySelectorAll('svg')).toHaveLength(2);
  });

  it('the point table: one row per point, medians with their spread and n, units in the header, the front starred', () => {
    const doc = new DOMParser().parseFromString(buildSweepReportHtml(input(journal())), 'text/html');
    const tables = Array.from(doc.querySelectorAll('table'));
    const points = tables.find((t) => t.textContent!.includes('wall time [ms]'))!;
    const header = Array.from(points.querySelectorAll('th')).map((th) => th.textContent);
    expect(header.slice(0, 5)).toEqual(['front', 'device', 'point', 'lpl.leapStep', 'cidl.budget']);
    expect(header).toEqual(expect.arrayContaining(['speed-up (wall) [×] ↑', 'PSNR vs baseline [dB] ↑']));
    const rows = Array.from(points.querySelectorAll('tr')).slice(1);
    expect(rows).toHaveLength(2);
    // leapStep 4: wall 500 and 510 → median 505 ms, IQR 502.5–507.5, n=2; both points are on the front
    // (4 is faster, 6 has the higher PSNR).
    const leap4 = rows.find((r) => r.children[3]!.textContent === '4')!;
    expect(leap4.textContent).toContain('505 ms503 ms–508 ms, n=2');
    expect(rows.every((r) => r.classList.contains('front'))).toBe(true);
  });

  it('the point table shows flicker, its difference from the baseline and adherence once the runs have clip scores', () => {
    const j = journal();
    const header = (jj: SweepJournal) =>
      Array.from(
        new DOMParser()
          .parseFromString(buildSweepReportHtml({ ...input(jj), stats: sweepPointStats(jj) }), 'text/html')
          .querySelectorAll('th'),
      ).map((th) => th.textContent);
    expect(header(j)).not.toContain('prompt adherence ↑');
    for (const r of j.runs) r.clip = { flicker: r.kind === 'baseline' ? 0.95 : 0.97, adherence: 0.75 };
    expect(header(j)).toEqual(
      expect.arrayContaining(['flicker vs baseline ↑', 'flicker score ↑', 'prompt adherence ↑']),
    );
  });

  it('provenance: versions, commit, the device and its backend, model hashes; thermal states when recorded', () => {
    const j = journal();
    let html = buildSweepReportHtml(input(j));
    for (const s of [
      '0.3.0',
      'abc123',
      'onnxruntime-node 1.30.0 (cpu, 2 threads)',
      'f'.repeat(64),
      'not recorded',
    ])
      expect(html).toContain(s);
    for (const r of j.runs)
      Object.assign(r, { thermal: { start: 'nominal', end: r.kind === 'measured' ? 'fair' : 'nominal' } });
    html = buildSweepReportHtml(input(j));
    expect(html).toContain('start nominal: 6, end nominal: 2, end fair: 4');
    // A device that cannot tell reports null: unknown.
    for (const r of j.runs) Object.assign(r, { thermal: { start: null, end: 'serious', gate: null } });
    expect(buildSweepReportHtml(input(j))).toContain('start unknown: 6, end serious: 6');
  });

  it('a sweep with no finished run yet still reports its spec and plan', () => {
    const j = journal();
    for (const r of j.runs) Object.assign(r, { status: 'pending', result: null, quality: null });
    const html = buildSweepReportHtml({ ...input(j), stats: sweepPointStats(j) });
    expect(html).toContain('no point has both');
    expect(html).toContain('6 planned runs');
  });
});
