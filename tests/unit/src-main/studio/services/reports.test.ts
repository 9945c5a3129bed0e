// Report export from real run folders: the files asked for, URLs from the host, a GIF that carries the provenance,
// PDF only where the host can print, and a report folder that can be served by name only.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportService, withGifComment } from '../../../../../src-main/studio/services/reports';
import { RunHistory } from '../../../../../src-main/studio/services/run-history';
import { RunService } from '../../../../../src-main/studio/services/run-service';
import { sampleLog } from '../../../shared/report/fixtures';
import { checkChromeTrace } from '../../../../helpers/trace-check';
import { flat, writeRunFolder } from './run-folders';

let dataDir: string;
let runs: RunService;
let reports: ReportService;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-reports-'));
  await writeRunFolder(dataDir, 'target', [flat(4, 4, 10), flat(4, 4, 200)], [4, 4]);
  await writeRunFolder(
    dataDir,
    'base',
    [flat(4, 4, 12), flat(4, 4, 190)],
    [4, 4],
    sampleLog({ latencyMs: 250 }),
  );
  await writeRunFolder(dataDir, 'odd', [flat(4, 4, 12)], [4, 4]);
  await writeRunFolder(dataDir, 'noframes', [], [4, 4]);
  runs = await RunService.open({
    dataDir,
    hub: {
      pairedClient: () => {
        throw new Error('no devices');
      },
    },
  });
  reports = new ReportService({
    dataDir,
    runs,
    history: new RunHistory(runs),
    provenance: () => ({
      appVersion: '0.1.0',
      engineVersion: '0.3.0',
      gitCommit: 'f'.repeat(40),
      host: 'web',
    }),
  });
});

afterAll(async () => {
  await runs.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ReportService', () => {
  it('writes every format asked for with file URLs by default', async () => {
    const r = await reports.export(['target', 'base'], ['html', 'json', 'csv', 'gif']);
    expect(r.dir.startsWith(join(dataDir, 'reports'))).toBe(true);
    expect(r.files.map((f) => [f.format, f.name])).toEqual([
      ['html', 'report.html'],
      ['json', 'report.json'],
      ['csv', 'steps.csv'],
      ['csv', 'frames.csv'],
      ['gif', 'frames.gif'],
    ]);
    for (const f of r.files) {
      expect(f.url).toBe(`file://${f.path}`);
      expect(readFileSync(f.path).length).toBe(f.bytes);
    }
    const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8')) as {
      provenance: { gitCommit: string; models: unknown[] };
      compare: { frames: number; timing: { speedup: number } };
    };
    expect(json.provenance.gitCommit).toBe('f'.repeat(40));
    expect(json.provenance.models).toEqual([
      { name: 'nano', model: 'nano', bytes: 500, manifestSha256: 'cd'.repeat(32) },
    ]);
    expect(json.compare.frames).toBe(2);
    expect(json.compare.timing.speedup).toBeGreaterThan(1);
  });

  it('animates target and baseline side by side in the GIF, with the provenance in a comment', async () => {
    const r = await reports.export(['target', 'base'], ['gif']);
    const gif = readFileSync(r.files[0]!.path);
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    const width = gif.readUInt16LE(6);
    const height = gif.readUInt16LE(8);
    // 4 + 2 + 4 wide, 4 high, upscaled by the same integer factor.
    expect(width / height).toBeCloseTo(10 / 4, 6);
    const text = gif.toString('latin1');
    expect(text).toContain('\x21\xfe');
    expect(text).toContain('git ffffffffff');
    expect(text).toContain('seed 5');
    expect(gif[gif.length - 1]).toBe(0x3b);
    const single = await reports.export(['target', 'odd'], ['gif']);
    expect(readFileSync(single.files[0]!.path).readUInt16LE(6)).toBe(
      readFileSync(single.files[0]!.path).readUInt16LE(8),
    );
  });

  it('reports a mismatch in the report instead of failing, and refuses a GIF without frames', async () => {
    const r = await reports.export(['target', 'odd'], ['html', 'csv']);
    expect(readFileSync(join(r.dir, 'report.html'), 'utf8')).toContain(
      'No comparison: the runs have different frame counts: target has 2, odd has 1',
    );
    expect(r.files.map((f) => f.name)).toEqual(['report.html', 'steps.csv']);
    await expect(reports.export(['noframes'], ['gif'])).rejects.toMatchObject({
      code: 'bad-request',
      message: 'gif: run noframes has no stored frames to animate',
    });
    await expect(reports.export(['nope'], ['html'])).rejects.toMatchObject({ code: 'not-found' });
  });

  it('prints a PDF only through the host, from the HTML file, and uses the host URLs', async () => {
    await expect(reports.export(['target'], ['pdf'])).rejects.toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(/open the HTML report and print it from the browser/),
    });
    const printed: string[] = [];
    reports.setHost({
      url: (id, name) => `odsora://studio/reports/${id}/${name}`,
      printToPdf: async (htmlPath) => {
        printed.push(readFileSync(htmlPath, 'utf8'));
        return new TextEncoder().encode('%PDF-1.7 fake');
      },
    });
    const r = await reports.export(['target'], ['pdf']);
    expect(printed[0]).toMatch(/^<!doctype html>/);
    expect(r.files).toHaveLength(1);
    expect(r.files[0]).toMatchObject({ format: 'pdf', name: 'report.pdf', bytes: 13 });
    const id = r.dir.split('/').at(-1)!;
    expect(r.files[0]!.url).toBe(`odsora://studio/reports/${id}/report.pdf`);
    expect(reports.filePath(id, 'report.pdf')).toBe(join(r.dir, 'report.pdf'));
    expect(existsSync(join(r.dir, 'report.html'))).toBe(true);
    expect(reports.filePath(id, '../run.json')).toBeNull();
    expect(reports.filePath('../runs', 'report.html')).toBeNull();
  });

  it('adds later exports and the renderer’s video, sent in pieces, to the same report folder', async () => {
    const first = await reports.export(['target', 'base'], ['html']);
    const more = await reports.export(['target', 'base'], ['json'], first.reportId);
    expect(more.dir).toBe(first.dir);
    const video = Buffer.from('....ftypisom a stand-in for the renderer’s MP4 bytes');
    const pieces = [video.subarray(0, 12), video.subarray(12)];
    const args = { runIds: ['target', 'base'] as [string, string], reportId: first.reportId };
    const sent = await reports.putVideo({
      ...args,
      offset: 0,
      data: pieces[0]!.toString('base64'),
      done: false,
    });
    expect(sent).toEqual({ reportId: first.reportId, file: null });
    // A piece out of order is refused, naming what the folder holds, and nothing is lost.
    await expect(
      reports.putVideo({ ...args, offset: 5, data: pieces[1]!.toString('base64'), done: true }),
    ).rejects.toThrow(/video.mp4 has 12 bytes so far, not 5/);
    const done = await reports.putVideo({
      ...args,
      offset: 12,
      data: pieces[1]!.toString('base64'),
      done: true,
    });
    expect(done.file).toMatchObject({ format: 'mp4', name: 'video.mp4', bytes: video.length });
    expect(readFileSync(join(first.dir, 'video.mp4')).equals(video)).toBe(true);
    expect(reports.filePath(first.reportId, 'video.mp4')).toBe(join(first.dir, 'video.mp4'));
    // A folder holds one set of runs; a missing one is named.
    await expect(reports.export(['odd'], ['json'], first.reportId)).rejects.toThrow(/holds runs/);
    await expect(reports.export(['odd'], ['json'], '20000101T000000-00000000')).rejects.toThrow(
      /report 20000101T000000-00000000 does not exist/,
    );
  });

  it('writes a Chrome / Perfetto trace per run as <runId>.trace.json, served by that name only', async () => {
    const r = await reports.export(['target', 'base'], ['trace']);
    expect(r.files.map((f) => [f.format, f.name])).toEqual([
      ['trace', 'target.trace.json'],
      ['trace', 'base.trace.json'],
    ]);
    const read = checkChromeTrace(JSON.parse(readFileSync(r.files[0]!.path, 'utf8')));
    expect(read.complete['step']).toBeGreaterThan(0);
    expect(read.metadata).toMatchObject({ source: 'odsora studio', runId: 'target' });
    // Only a trace: no HTML, JSON or frames were made for it.
    expect(readdirSync(r.dir).sort()).toEqual(['base.trace.json', 'runs.json', 'target.trace.json']);
    const id = r.dir.split('/').at(-1)!;
    expect(reports.filePath(id, 'target.trace.json')).toBe(join(r.dir, 'target.trace.json'));
    expect(reports.filePath(id, '../target.trace.json')).toBeNull();
    expect(reports.filePath(id, 'target.json')).toBeNull();
    await expect(reports.export(['missing'], ['trace'])).rejects.toMatchObject({ code: 'not-found' });
  });

  it('inserts a GIF comment extension in 255-byte sub-blocks before the trailer', () => {
    const gif = new Uint8Array([0x47, 0x49, 0x46, 0x3b]);
    const out = withGifComment(gif, 'x'.repeat(300));
    expect([...out.subarray(0, 3)]).toEqual([0x47, 0x49, 0x46]);
    expect([...out.subarray(3, 6)]).toEqual([0x21, 0xfe, 255]);
    expect(out[3 + 2 + 1 + 255]).toBe(45);
    expect([...out.subarray(-2)]).toEqual([0, 0x3b]);
    expect(out.length).toBe(3 + 2 + 1 + 255 + 1 + 45 + 1 + 1);
  });
});
