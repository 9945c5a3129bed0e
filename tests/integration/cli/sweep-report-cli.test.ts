// `odsora sweep-report` on a real small sweep (a 2 × 2 grid against an `odsora companion` child on loopback, the
// fixture model, 3 steps, as sweep-cli.test.ts runs it): the report folder holds a self-contained report.html (no
// script, no http(s) reference), the two figures as SVG files that parse as XML, and the long-format CSVs, which
// Debian's python3 loads with its `csv` module: one row per run × metric, every parameter a column, numbers in
// `value`. A folder without sweep.json is refused with exit 1 and the reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { ensureCliBuilt, runOdsora } from '../../helpers/odsora-cli';

let companion: CompanionProcess | undefined;
let work: string;
let sweepDir: string;

beforeAll(async () => {
  ensureCliBuilt();
  work = mkdtempSync(join(tmpdir(), 'odsora-sweep-report-test-'));
  companion = await startCompanion({ name: 'report desk', profile: 'desktop' });
  const spec = join(work, 'grid.json');
  writeFileSync(
    spec,
    JSON.stringify({
      format: 'odsora-sweep',
      version: 1,
      name: 'report-grid',
      base: { steps: 3, numFrames: 17, heightPx: 64, widthPx: 64 },
      axes: { 'lpl.leapStep': [1, 2], 'tdtm.mergeSteps': [0, 2] },
      prompts: ['a red ball, bouncing'],
      seeds: [7],
      devices: [{ id: 'desk', address: `127.0.0.1:${companion.port}` }],
      repeats: 1,
      warmup: 1,
    }),
  );
  sweepDir = join(work, 'sweep');
  const r = runOdsora([
    'sweep',
    '--spec',
    spec,
    '--out',
    sweepDir,
    '--pair',
    `desk=${companion.ready.pairingCode}`,
  ]);
  if (r.status !== 0) throw new Error(`odsora sweep failed: ${r.stderr}`);
}, 240_000);

afterAll(async () => {
  await stopCompanion(companion);
  rmSync(work, { recursive: true, force: true });
});

/** Python that parses each SVG as XML and loads sweep.csv with `csv`; prints what it found as JSON. */
const CHECK_PY = String.raw`
import csv, json, sys, xml.etree.ElementTree as ET
out = {}
for name in sys.argv[2:]:
    root = ET.parse(sys.argv[1] + "/" + name).getroot()
    out[name] = {"root": root.tag, "circles": len(root.findall(".//{http://www.w3.org/2000/svg}circle")),
                 "polylines": len(root.findall(".//{http://www.w3.org/2000/svg}polyline"))}
with open(sys.argv[1] + "/sweep.csv", newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
out["header"] = header
out["widths"] = sorted({len(r) for r in body})
out["rows"] = len(body)
out["pairs"] = len({(r[header.index("run_id")], r[header.index("metric")]) for r in body})
out["runs"] = len({r[header.index("run_id")] for r in body})
out["all_values_numbers"] = all(float(r[header.index("value")]) == float(r[header.index("value")]) for r in body)
out["prompts"] = sorted({r[header.index("param.prompt")] for r in body})
print(json.dumps(out))
`;

describe('odsora sweep-report', () => {
  it('writes report.html (self-contained), pareto.svg, parallel-coordinates.svg and the long-format CSVs', () => {
    const r = runOdsora(['sweep-report', sweepDir]);
    expect(r.status, r.stderr).toBe(0);
    const reportDir = join(sweepDir, 'report');
    expect(r.stdout).toContain(`wrote ${reportDir}: report.html`);
    expect(readdirSync(reportDir).sort()).toEqual([
      'parallel-coordinates.svg',
      'pareto.svg',
      'report.html',
      'sweep-points.csv',
      'sweep.csv',
    ]);
    const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
    // Opens offline: nothing to fetch, nothing to run.
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|<iframe|@import|url\(/i);
    expect(html).toContain("default-src 'none'");
    // Both figures inline, the point table with the four points, the provenance of the companion.
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html.match(/<tr( class="front")?><td>★?<\/td><td>desk<\/td>/g)).toHaveLength(4);
    expect(html).toContain('report desk');
    expect(html).toContain('onnxruntime-node');
    expect(html).toContain('lpl.leapStep');

    const py = spawnSync(
      '/usr/bin/python3',
      ['-c', CHECK_PY, reportDir, 'pareto.svg', 'parallel-coordinates.svg'],
      {
        encoding: 'utf8',
      },
    );
    expect(py.status, py.stderr).toBe(0);
    const seen = JSON.parse(py.stdout) as Record<string, unknown> & {
      header: string[];
      widths: number[];
      rows: number;
      pairs: number;
      runs: number;
    };
    expect(seen['pareto.svg']).toMatchObject({ root: '{http://www.w3.org/2000/svg}svg', circles: 4 });
    expect(seen['parallel-coordinates.svg']).toMatchObject({ root: '{http://www.w3.org/2000/svg}svg' });
    expect((seen['parallel-coordinates.svg'] as { polylines: number }).polylines).toBeGreaterThanOrEqual(4);
    // Long format: every row as wide as the header, one row per run × metric, every run (warm-up and baseline too).
    expect(seen.widths).toEqual([seen.header.length]);
    expect(seen.pairs).toBe(seen.rows);
    expect(seen.runs).toBe(6);
    expect(seen.all_values_numbers).toBe(true);
    expect(seen.prompts).toEqual(['a red ball, bouncing']);
    expect(seen.header.slice(0, 6)).toEqual(['run_id', 'kind', 'device', 'role', 'point_id', 'repeat']);
    expect(seen.header).toEqual(
      expect.arrayContaining([
        'axis.lpl.leapStep',
        'axis.tdtm.mergeSteps',
        'param.seed',
        'param.lpl.leapStep',
      ]),
    );
    expect(seen.header.slice(-3)).toEqual(['metric', 'value', 'unit']);
    // The report's CSVs are the sweep's own.
    expect(readFileSync(join(reportDir, 'sweep.csv'), 'utf8')).toBe(
      readFileSync(join(sweepDir, 'sweep.csv'), 'utf8'),
    );
    expect(readFileSync(join(reportDir, 'sweep-points.csv'), 'utf8')).toBe(
      readFileSync(join(sweepDir, 'sweep-points.csv'), 'utf8'),
    );
  }, 120_000);

  it('--out puts the report elsewhere; a folder without sweep.json is refused with the reason', () => {
    const out = join(work, 'paper', 'figures');
    expect(runOdsora(['sweep-report', sweepDir, '--out', out]).status).toBe(0);
    expect(readdirSync(out)).toContain('report.html');
    const r = runOdsora(['sweep-report', join(work, 'paper')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('holds no sweep.json: is it the --out folder of an odsora sweep?');
  }, 60_000);
});
