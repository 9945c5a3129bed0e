// `sweeps.exportReport` through the studio's dispatcher, on a studio data folder holding a finished sweep (its
// sweep.json in `sweeps/<id>/`, its runs in the studio's `runs/`, as the Sweeps screen leaves them): the report is a
// new folder under `reports/` with the five files of `odsora sweep-report`, served by name like a run's report, its
// provenance read from the studio's run folders; an unknown or malformed sweep id is refused naming it.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudioResult } from '../../../shared/protocol/studio-contract';
import { expandSweep, sweepFingerprint } from '../../../shared/sweep/expand';
import { newSweepJournal } from '../../../shared/sweep/journal';
import { parseSweepSpec } from '../../../shared/sweep/spec';
import { writeSweepFiles } from '../../../src-main/sweep/journal-file';
import { createStudioServices, type StudioServices } from '../../../src-main/studio/services/index';
import { flat, writeRunFolder } from '../../unit/src-main/studio/services/run-folders';

const SWEEP_ID = '20261207T104500-abcdef';
let dataDir: string;
let services: StudioServices;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-sweep-export-'));
  await writeRunFolder(dataDir, 'target', [flat(4, 4, 10)], [4, 4]);
  await writeRunFolder(dataDir, 'base', [flat(4, 4, 12)], [4, 4]);
  const spec = parseSweepSpec({
    format: 'odsora-sweep',
    version: 1,
    name: 'export-grid',
    base: { steps: 4 },
    axes: { 'lpl.leapStep': [1, 2] },
    prompts: ['a ball'],
    seeds: [5],
    devices: [{ id: 'phone', builtin: true }],
  });
  const journal = newSweepJournal(spec, sweepFingerprint(spec), expandSweep(spec), Date.now());
  for (const r of journal.runs) {
    const wall = r.kind === 'baseline' ? 1000 : 400 + 100 * Number(r.point['lpl.leapStep']);
    Object.assign(r, {
      status: 'finished',
      runFolder: r.kind === 'baseline' ? 'base' : 'target',
      result: {
        wallMs: wall,
        loadMs: 1,
        textMs: 1,
        denoiseMs: wall / 2,
        decodeMs: 1,
        stepsRun: 3,
        stepMs: 3,
        peakResidentBytes: 1024,
      },
      quality: r.kind === 'measured' ? { psnrDb: 30, ssim: 0.9 } : null,
    });
  }
  journal.state = 'finished';
  mkdirSync(join(dataDir, 'sweeps', SWEEP_ID), { recursive: true });
  await writeSweepFiles(join(dataDir, 'sweeps', SWEEP_ID), journal);
  services = await createStudioServices({
    appVersion: '1.2.3',
    platform: 'web',
    dataDir,
    discovery: false,
    builtinDevice: false,
  });
});

afterAll(async () => {
  await services?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('sweeps.exportReport', () => {
  it('writes the sweep report into a new report folder, each file served by its name', async () => {
    const reply = await services.dispatch('sweeps.exportReport', { sweepId: SWEEP_ID });
    if (!reply.ok) throw new Error(reply.error.message);
    const r = reply.result as StudioResult<'sweeps.exportReport'>;
    expect(r.dir).toBe(join(dataDir, 'reports', r.reportId));
    const names = ['report.html', 'pareto.svg', 'parallel-coordinates.svg', 'sweep.csv', 'sweep-points.csv'];
    expect(r.files.map((f) => f.name)).toEqual(names);
    expect(readdirSync(r.dir).sort()).toEqual([...names].sort());
    for (const f of r.files) {
      expect(f.path).toBe(join(r.dir, f.name));
      expect(f.bytes).toBe(readFileSync(f.path).byteLength);
      expect(f.url).toBe(pathToFileURL(f.path).href);
      // What `/reports/<id>/<name>` (web) and `odsora://studio/reports/…` (Electron) serve.
      expect(services.reports.filePath(r.reportId, f.name)).toBe(f.path);
    }
    expect(services.reports.filePath(r.reportId, 'sweep.json')).toBeNull();
    const html = readFileSync(join(r.dir, 'report.html'), 'utf8');
    // Opens offline: nothing to fetch (the SVGs' xmlns is a name, not a reference), nothing to run.
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|<iframe|@import|url\(/i);
    expect(html).toContain('export-grid');
    expect(html).toContain('odsora studio (web)');
    // The devices' provenance comes from the run folders in the studio's runs/, not the sweep folder.
    expect(html).toContain('iphone-15-pro');
    expect(readFileSync(join(r.dir, 'pareto.svg'), 'utf8')).toMatch(/^<svg /);
    expect(readFileSync(join(r.dir, 'sweep.csv'), 'utf8').split('\n')[0]).toMatch(/^run_id,kind,device,/);

    // Each export is a new folder; the earlier one stays.
    const again = await services.dispatch('sweeps.exportReport', { sweepId: SWEEP_ID });
    if (!again.ok) throw new Error(again.error.message);
    expect((again.result as StudioResult<'sweeps.exportReport'>).reportId).not.toBe(r.reportId);
    expect(readdirSync(r.dir)).toHaveLength(5);
  });

  it('refuses an unknown or malformed sweep id, naming it', async () => {
    const unknown = await services.dispatch('sweeps.exportReport', { sweepId: 'nope' });
    expect(unknown).toMatchObject({
      ok: false,
      error: { code: 'not-found', message: 'sweeps.exportReport: no sweep nope' },
    });
    const bad = await services.dispatch('sweeps.exportReport', { sweepId: '../runs' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    expect(!bad.ok && bad.error.message).toMatch(/^sweeps\.exportReport: sweepId: must be 1-128/);
  });
});
