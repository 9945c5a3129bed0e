// History reads from real run folders on disk: detail, event pages, frame pages and comparisons, with errors that
// name what is wrong.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRgbPng } from '../../../../../shared/media/png';
import { decodePngRgb, writePreviewFrame } from '../../../../../src-main/studio/services/run-frames';
import { RunHistory } from '../../../../../src-main/studio/services/run-history';
import { RunService } from '../../../../../src-main/studio/services/run-service';
import { sampleLog } from '../../../shared/report/fixtures';
import { flat, writeRunFolder } from './run-folders';

let dataDir: string;
let runs: RunService;
let history: RunHistory;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-history-'));
  await writeRunFolder(dataDir, 'fast', [flat(4, 4, 10), flat(4, 4, 20), flat(4, 4, 40)], [4, 4]);
  await writeRunFolder(
    dataDir,
    'slow',
    [flat(4, 4, 10), flat(4, 4, 20), flat(4, 4, 30)],
    [4, 4],
    sampleLog({ latencyMs: 300, peak: 400 }),
  );
  await writeRunFolder(dataDir, 'short', [flat(4, 4, 10)], [4, 4]);
  await writeRunFolder(dataDir, 'wide', [flat(8, 4, 10), flat(8, 4, 20), flat(8, 4, 40)], [8, 4]);
  await writeRunFolder(dataDir, 'empty', [], [4, 4]);
  runs = await RunService.open({
    dataDir,
    hub: {
      pairedClient: () => {
        throw new Error('no devices');
      },
    },
  });
  history = new RunHistory(runs);
});

afterAll(async () => {
  await runs.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('RunHistory', () => {
  it('details a run with its wall time and peak from the log', async () => {
    const d = await history.detail('slow');
    expect(d).toMatchObject({
      run: { runId: 'slow', state: 'finished', stream: 'ended' },
      params: { seed: 5 },
      device: { name: 'Phone', model: 'iphone-15-pro', simulated: true, engineVersion: '0.3.0' },
      baselineOf: null,
      peakResidentBytes: 400,
    });
    expect(d.wallMs).toBe(1100 + 4 * 300 + 21 - 1000);
    await expect(history.detail('nope')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('pages events after a seq', async () => {
    const all = sampleLog();
    const page = await history.eventPage('fast', 10, 3);
    expect(page.events.map((e) => e.seq)).toEqual([11, 12, 13]);
    expect(page.lastSeq).toBe(all.length);
    expect((await history.eventPage('fast', all.length, 100)).events).toEqual([]);
  });

  it('pages final frames as PNGs with their size', async () => {
    const page = await history.framePage('wide', 'final', 1, 5);
    expect(page.total).toBe(3);
    expect(page.frames.map((f) => [f.index, f.width, f.height])).toEqual([
      [1, 8, 4],
      [2, 8, 4],
    ]);
    expect(Buffer.from(page.frames[0]!.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(await history.framePage('wide', 'preview', 0, 5)).toEqual({ total: 0, frames: [] });
  });

  it('pages the latest preview set only', async () => {
    const dir = runs.runDir('short');
    for (const seq of [5, 9, 12]) {
      for (const index of [0, 1]) {
        const size = seq === 12 ? 2 : 3;
        await writePreviewFrame(
          dir,
          seq,
          index,
          encodeRgbPng(flat(size, size, seq * 10 + index), size, size),
        );
      }
    }
    const page = await history.framePage('short', 'preview', 0, 10);
    expect(page.total).toBe(2);
    expect(page.frames.map((f) => [f.index, f.width])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const decoded = decodePngRgb(new Uint8Array(Buffer.from(page.frames[1]!.png, 'base64')));
    expect(decoded.rgb[0]).toBe(121);
  });

  it('compares two runs frame by frame with speedup and memory ratio', async () => {
    const c = await history.compare('fast', 'slow');
    expect(c).toMatchObject({ frames: 3, width: 4, height: 4 });
    expect(c.perFrame[0]).toMatchObject({ index: 0, psnr: 99, ssim: 1, flickerA: null, flickerB: null });
    // Frame 2 differs by 10 everywhere: MSE 100 → PSNR 10·log10(255²/100).
    expect(c.perFrame[2]!.psnr).toBeCloseTo(10 * Math.log10((255 * 255) / 100), 6);
    expect(c.perFrame[2]!.flickerA).toBeCloseTo((255 - 20) / 255, 9);
    expect(c.perFrame[2]!.flickerB).toBeCloseTo((255 - 10) / 255, 9);
    expect(c.timing.speedup).toBeCloseTo(c.timing.wallMsB! / c.timing.wallMsA!, 9);
    expect(c.timing.speedup).toBeGreaterThan(1);
    expect(c.memory).toEqual({ peakA: 300, peakB: 400, ratio: 0.75 });
  });

  it('refuses to compare runs of different frame counts or sizes, naming the mismatch', async () => {
    await expect(history.compare('fast', 'short')).rejects.toMatchObject({
      code: 'bad-request',
      message: 'the runs have different frame counts: fast has 3, short has 1',
    });
    await expect(history.compare('fast', 'wide')).rejects.toMatchObject({
      code: 'bad-request',
      message: 'the runs have different frame sizes: fast is 4×4, wide is 8×4',
    });
    await expect(history.compare('fast', 'empty')).rejects.toMatchObject({
      code: 'bad-request',
      message: 'run empty has no stored frames',
    });
  });
});
