// The report formats: one self-contained HTML file (inline SVG charts, data: PNG frames, its own CSP, no script,
// nothing fetched), JSON with every measurement, CSVs with one row per step per run and one per frame, all with
// provenance.
import { describe, expect, it } from 'vitest';
import { REPORT_CSP, buildReportHtml } from '../../../../shared/report/html';
import {
  buildFramesCsv,
  buildReportJson,
  buildStepsCsv,
  csvField,
  modelHashes,
} from '../../../../shared/report/model';
import { residencyChartSvg, stepChartSvg } from '../../../../shared/report/svg';
import { RED_PNG, sampleInput, sampleLog, sampleRun } from './fixtures';

describe('HTML report', () => {
  const html = buildReportHtml(sampleInput());

  it('is self-contained: no script, no external URL, its own CSP, frames as data: PNGs', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href|url)\s*[=(]\s*["']?(https?:|\/\/)/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`);
    expect(REPORT_CSP).toMatch(/default-src 'none'/);
    expect(html.match(new RegExp(`src="data:image/png;base64,${RED_PNG}"`, 'g'))).toHaveLength(4);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(5);
  });

  it('escapes prompts, labels and device names', () => {
    expect(html).not.toContain('<b>red</b>');
    expect(html).toContain('&lt;b&gt;red&lt;/b&gt;');
    expect(html).toContain('Phone &lt;sim&gt;');
  });

  it('shows the metrics, the speedup and memory ratio, and the provenance', () => {
    expect(html).toContain('30.50 dB');
    expect(html).toContain('1.77×');
    expect(html).toContain('0.750');
    expect(html).toContain('c'.repeat(40));
    expect(html).toContain('ab'.repeat(32));
    expect(html).toContain('seed 42');
    // The run asked for leapStep 2 of 4: people read it as LPL 3/4, the leap at step 3.
    expect(html).toContain('LPL 3/4; TDTM merge steps');
    expect(html).toMatch(/<td>LPL leap<\/td><td>step 3<\/td>/);
  });

  it('shows each run’s thermal state at start and end (unknown when the device did not say)', () => {
    const hot = sampleLog().map(({ seq, event }) =>
      event.type === 'run.started'
        ? { seq, event: { ...event, thermal: 'fair' as const } }
        : event.type === 'run.finished'
          ? { seq, event: { ...event, thermal: 'serious' as const } }
          : { seq, event },
    );
    const input = sampleInput();
    const page = buildReportHtml({ ...input, runs: [sampleRun('run-a', hot), input.runs[1]!] });
    expect(page).toContain('<th>thermal (start → end)</th>');
    expect(page).toContain('<td>fair → serious</td>');
    expect(page).toContain('<td>unknown → unknown</td>');
  });

  it('says when the baseline could not keep every block resident', () => {
    const input = sampleInput();
    const base = input.runs[1]!;
    const capped = { ...base, params: { ...base.params, cidl: { budget: { kind: 'unlimited' as const } } } };
    expect(buildReportHtml({ ...input, runs: [input.runs[0]!, capped] })).toContain(
      'its device capped block memory at 0.0 MiB',
    );
    const resident = { ...capped, measures: { ...capped.measures, budgetBytes: null } };
    expect(buildReportHtml({ ...input, runs: [input.runs[0]!, resident] })).not.toContain(
      'capped block memory',
    );
    const budgeted = {
      ...base,
      params: { ...base.params, cidl: { budget: { kind: 'bytes' as const, bytes: 400 } } },
    };
    expect(buildReportHtml({ ...input, runs: [input.runs[0]!, budgeted] })).not.toContain(
      'capped block memory',
    );
  });

  it('says why there is no comparison when there is none', () => {
    const input = { ...sampleInput(), compare: null, compareError: 'the runs have different frame counts' };
    expect(buildReportHtml(input)).toContain('No comparison: the runs have different frame counts');
  });
});

describe('charts', () => {
  it('marks the leap and merged steps on the step chart', () => {
    const run = sampleInput().runs[0]!;
    const svg = stepChartSvg(run.measures.steps);
    expect(svg).toContain('LPL leap (step 3)'); // the engine's step index 2: the third step
    expect(svg).toContain('fill="#f58518"'); // the merged step's bar
    expect((svg.match(/<title>step \d+: /g) ?? []).length).toBe(4); // one bar per step
    expect(svg).toContain('<polyline'); // the cosine curve
  });

  it('draws residency against the budget, and keeps the peak when it thins out a long run', () => {
    const points = Array.from({ length: 20_000 }, (_, i) => ({
      atMs: i,
      residentBytes: i === 12_345 ? 9_000 : 1_000,
      budgetBytes: 10_000,
    }));
    const svg = residencyChartSvg(points, 10_000);
    expect(svg.length).toBeLessThan(100_000);
    expect(svg).toContain('budget 0.0 MiB');
    // y of 9000 with a 10000 top: 28 + 172 − 0.9·172
    expect(svg).toContain(`V${(28 + 172 - 0.9 * 172).toFixed(2).replace(/\.?0+$/, '')}`);
    expect(residencyChartSvg([], null)).toContain('no block residency events');
  });

  it('says where the blocks ran: per placement in the residency legend, per block in the blocks table', () => {
    const log = sampleLog().map((e) =>
      e.event.type === 'block.compute.end'
        ? { ...e, event: { ...e.event, placement: 'coreml' as const } }
        : e,
    );
    const input = sampleInput();
    const html = buildReportHtml({ ...input, runs: [sampleRun('r-placed', log), input.runs[1]!] });
    const ranOn = (block: string, run: number): string | undefined =>
      [...html.matchAll(new RegExp(`<td>${block}</td>(?:<td[^>]*>[^<]*</td>){6}<td>([^<]*)</td>`, 'g'))][
        run
      ]?.[1];
    expect(html).toContain('<th>ran on</th>');
    expect(ranOn('denoiser/part1', 0)).toBe('Core ML');
    // part2 never computed in this log, and the baseline's log says nothing about placement.
    expect(ranOn('denoiser/part2', 0)).toBe('—');
    expect(ranOn('denoiser/part1', 1)).toBe('—');
    expect(html).toContain('<tspan data-placement="coreml" fill="#a855f7">■ Core ML 1</tspan>');
    expect(html).toContain('peak 0.0 MiB; blocks ran on Core ML 1 block"');
    expect((html.match(/data-placement=/g) ?? []).length).toBe(1);
  });
});

describe('JSON and CSV', () => {
  it('JSON carries provenance, params, seed, steps, blocks and the comparison', () => {
    const json = JSON.parse(buildReportJson(sampleInput())) as Record<string, unknown> & {
      runs: Record<string, unknown>[];
    };
    expect(json).toMatchObject({
      format: 'odsora-studio-report',
      version: 1,
      provenance: {
        appVersion: '0.1.0',
        gitCommit: 'c'.repeat(40),
        models: [{ manifestSha256: 'ab'.repeat(32) }],
      },
      compare: { clip: { psnr: 30.5 } },
    });
    expect(json.runs.map((r) => [r['role'], r['seed']])).toEqual([
      ['target', 42],
      ['baseline', 42],
    ]);
    expect(json.runs[0]!['steps']).toHaveLength(4);
    expect(json.runs[0]!['blocks']).toHaveLength(2);
    expect(modelHashes(sampleInput())).toHaveLength(1);
  });

  it('steps CSV: one row per step per run after # provenance lines', () => {
    const csv = buildStepsCsv(sampleInput());
    const lines = csv.trim().split('\n');
    const comments = lines.filter((l) => l.startsWith('#'));
    expect(comments[0]).toMatch(/app 0\.1\.0, engine 0\.3\.0, git c{40}/);
    expect(comments.join('\n')).toMatch(/seed 42/);
    const rows = lines.filter((l) => !l.startsWith('#'));
    expect(rows[0]).toBe('run_id,role,step,t,latency_ms,cosine,merged,leapt,end_at_ms');
    expect(rows.slice(1)).toHaveLength(8);
    expect(rows[3]).toBe('run-a,target,2,500,100,0.94,false,true,400');
  });

  it('frames CSV: one row per frame plus the clip row; none without a comparison', () => {
    const rows = buildFramesCsv(sampleInput())!
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    expect(rows).toEqual([
      'frame,psnr_db,ssim,flicker_target,flicker_baseline',
      '0,30,0.9,,',
      '1,31,0.91,0.99,0.98',
      'clip,30.5,0.905,0.99,0.98',
    ]);
    expect(buildFramesCsv({ ...sampleInput(), compare: null })).toBeNull();
  });

  it('quotes CSV fields that need it', () => {
    expect(csvField('a "quoted", label')).toBe('"a ""quoted"", label"');
    expect(csvField(null)).toBe('');
    expect(csvField(1.5)).toBe('1.5');
  });
});
