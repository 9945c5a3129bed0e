// History, baseline, compare, preflight and reports through the contract dispatcher, with the real built-in device
// (`odsora companion --profile iphone-15-pro` on the bundled Open-Sora Nano model) running real 6-step jobs.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import UPNG from 'upng-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunParams } from '../../../shared/protocol/run';
import type {
  StudioArgs,
  StudioCommand,
  StudioEvent,
  StudioResult,
} from '../../../shared/protocol/studio-contract';
import { createStudioServices, type StudioServices } from '../../../src-main/studio/services/index';
import { RunHistory } from '../../../src-main/studio/services/run-history';
import { RunService } from '../../../src-main/studio/services/run-service';
import { CLI_PATH, ensureCliBuilt } from '../../helpers/odsora-cli';
import { until } from '../companion/run-helpers';

let dataDir: string;
let services: StudioServices;
const pushed: StudioEvent[] = [];
/** Preview frames `runs.frames` returned at the moment each `preview.ready` was pushed. */
const previewTotalsAtPush: Promise<number>[] = [];

async function call<C extends StudioCommand>(command: C, args: StudioArgs<C>): Promise<StudioResult<C>> {
  const reply = await services.dispatch(command, args);
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as StudioResult<C>;
}

async function callError(command: StudioCommand, args: unknown): Promise<{ code: string; message: string }> {
  const reply = await services.dispatch(command, args);
  if (reply.ok) throw new Error(`${command} succeeded`);
  return reply.error;
}

// A prompt from the Nano vocabulary: out-of-vocabulary words map to <unk>, and an unconditioned 6-step clip under
// LPL + TDTM can land anywhere (nano-v3 gave 3.4 dB against its baseline for 'a red ball … blue background').
const PARAMS: RunParams = {
  prompt: 'a red circle moving left on a black background',
  seed: 11,
  steps: 6,
  lpl: { mode: 'fixed', leapStep: 4 },
  tdtm: { mergeSteps: 2 },
  cidl: { budget: { kind: 'fraction', of: 0.5 } },
};

beforeAll(async () => {
  ensureCliBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-studio-history-'));
  services = await createStudioServices({
    appVersion: '0.0.0-test',
    platform: 'web',
    dataDir,
    discovery: false,
    builtinDevice: { cliPath: CLI_PATH, env: { ODSORA_CACHE: join(dataDir, 'cache') } },
  });
  services.onEvent((e) => {
    pushed.push(e);
    if (e.type === 'run.event' && e.event.type === 'preview.ready') {
      previewTotalsAtPush.push(
        call('runs.frames', { runId: e.runId, which: 'preview', from: 0, limit: 256 }).then((r) => r.total),
      );
    }
  });
  await until(
    () => services.hub.list()[0]?.status === 'paired' || services.hub.list()[0]?.status === 'error',
    90_000,
    'the built-in device paired',
  );
  expect(services.hub.list()[0]?.status).toBe('paired');
});

afterAll(async () => {
  await services?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('studio history with the built-in device', () => {
  let runId = '';
  let baselineId = '';

  it('plans the memory of a job before it runs, from the device model’s real block sizes', async () => {
    const plan = await call('devices.preflight', { deviceId: 'builtin', params: PARAMS });
    expect(plan.blocks).toBeGreaterThan(2);
    expect(plan.totalBlockBytes).toBeGreaterThan(0);
    expect(plan.budgetBytes).toBe(Math.floor(plan.totalBlockBytes * 0.5));
    expect(plan.predictedPeakBytes).toBeLessThanOrEqual(plan.budgetBytes!);
    expect(plan.fits, plan.notes.join('\n')).toBe(true);
    expect(plan.notes.join('\n')).toMatch(/block sizes from the local block set/);
    // A budget below the largest block cannot fit, and says why.
    const tiny = await call('devices.preflight', {
      deviceId: 'builtin',
      params: { ...PARAMS, cidl: { budget: { kind: 'bytes', bytes: 1000 } } },
    });
    expect(tiny.fits).toBe(false);
    expect(tiny.notes.join('\n')).toMatch(/no schedule fits/);
  });

  it('stores events, previews and final frames in the run folder, previews before they are announced', async () => {
    const { run } = await call('runs.start', {
      deviceId: 'builtin',
      params: PARAMS,
      preview: { everySteps: 2, maxEdgePx: 32, format: 'image-rgb8' },
      label: 'history test',
    });
    runId = run.runId;
    const live = await callError('runs.delete', { runId });
    expect(live).toMatchObject({ code: 'conflict' });
    expect(live.message).toMatch(/cancel it before deleting it/);
    const done = await services.runs.waitForEnd(runId);
    expect(done.state).toBe('finished');
    const totals = await Promise.all(previewTotalsAtPush);
    expect(totals.length).toBeGreaterThan(0);
    for (const t of totals) expect(t).toBeGreaterThan(0);

    const detail = await call('runs.get', { runId });
    expect(detail).toMatchObject({
      run: { runId, state: 'finished', stream: 'ended', label: 'history test' },
      params: PARAMS,
      device: { model: 'iphone-15-pro', simulated: true },
      baselineOf: null,
      baselineRunId: null,
    });
    expect(detail.wallMs).toBeGreaterThan(0);
    expect(detail.peakResidentBytes).toBeGreaterThan(0);

    const events = await call('runs.events', { runId, afterSeq: 0, limit: 5000 });
    expect(events.lastSeq).toBe(detail.run.lastSeq);
    expect(events.events.map((e) => e.seq)).toEqual(Array.from({ length: events.lastSeq }, (_, i) => i + 1));
    const finished = events.events.at(-1)!.event;
    expect(finished.type).toBe('run.finished');
    const steps = events.events.filter((e) => e.event.type === 'step.end');
    expect(steps.some((e) => e.event.type === 'step.end' && e.event.leapt)).toBe(true);
    const page = await call('runs.events', { runId, afterSeq: 3, limit: 2 });
    expect(page.events.map((e) => e.seq)).toEqual([4, 5]);

    const frames = await call('runs.frames', { runId, which: 'final', from: 0, limit: 256 });
    if (finished.type !== 'run.finished') throw new Error('unreachable');
    expect(frames.total).toBe(finished.frames);
    expect(frames.frames[0]).toMatchObject({ index: 0, width: finished.width, height: finished.height });
    const png = Buffer.from(frames.frames[0]!.png, 'base64');
    const decoded = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength));
    expect([decoded.width, decoded.height]).toEqual([finished.width, finished.height]);
    const previews = await call('runs.frames', { runId, which: 'preview', from: 0, limit: 256 });
    expect(previews.total).toBeGreaterThan(0);
    expect(Math.max(previews.frames[0]!.width, previews.frames[0]!.height)).toBeLessThanOrEqual(32);
  });

  it('runs the baseline on the built-in device (its own baseline), linked both ways, and compares them', async () => {
    const { run } = await call('runs.startBaseline', { runId });
    baselineId = run.runId;
    expect((await services.runs.waitForEnd(baselineId)).state).toBe('finished');
    const base = await call('runs.get', { runId: baselineId });
    expect(base.baselineOf).toBe(runId);
    expect(base.params).toEqual({
      ...PARAMS,
      lpl: { mode: 'off' },
      tdtm: { mergeSteps: 0 },
      cidl: { budget: { kind: 'unlimited' } },
    });
    expect((await call('runs.get', { runId })).baselineRunId).toBe(baselineId);

    const c = await call('runs.compare', { runA: runId, runB: baselineId });
    expect(c.perFrame).toHaveLength(c.frames);
    expect(c.perFrame[0]!.flickerA).toBeNull();
    expect(c.perFrame[1]!.flickerA).toBeGreaterThan(0);
    expect(c.clip.psnr).toBeGreaterThan(5);
    expect(c.clip.psnr).toBeLessThan(99); // LPL and TDTM change the output
    expect(c.timing.speedup).toBeCloseTo(c.timing.wallMsB! / c.timing.wallMsA!, 6);
    expect(c.memory.ratio).toBeCloseTo(c.memory.peakA! / c.memory.peakB!, 6);
    const same = await call('runs.compare', { runA: runId, runB: runId });
    expect(same.clip).toMatchObject({ psnr: 99, ssim: 1 });
    expect(same.timing.speedup).toBe(1);

    // runs.list carries the metrics stored when each run ended, and the speed-up over the linked baseline.
    const listed = (await call('runs.list', {})).runs;
    const target = listed.find((r) => r.runId === runId)!;
    const baseline = listed.find((r) => r.runId === baselineId)!;
    expect(target.metrics?.wallMs).toBe(c.timing.wallMsA);
    expect(target.metrics?.peakResidentBytes).toBe(c.memory.peakA);
    expect(target.metrics?.frames).toBe(c.frames);
    expect(target.metrics?.medianStepMs).toBeGreaterThan(0);
    expect(target.metrics?.denoiseMs).toBeGreaterThan(0);
    expect(target.speedupVsBaseline).toBeCloseTo(c.timing.speedup!, 9);
    expect(baseline.metrics?.wallMs).toBe(c.timing.wallMsB);
    expect(baseline.speedupVsBaseline).toBeNull();
  });

  it('exports a self-contained report folder, refuses PDF in web mode, and deletes runs', async () => {
    const pdf = await callError('reports.export', { runIds: [runId], formats: ['pdf'] });
    expect(pdf).toMatchObject({ code: 'bad-request' });
    expect(pdf.message).toMatch(/print it from the browser/);

    const report = await call('reports.export', {
      runIds: [runId, baselineId],
      formats: ['html', 'json', 'csv', 'gif'],
    });
    expect(report.files.map((f) => f.name).sort()).toEqual(
      ['frames.csv', 'frames.gif', 'report.html', 'report.json', 'steps.csv'].sort(),
    );
    for (const f of report.files) {
      expect(existsSync(f.path)).toBe(true);
      expect(readFileSync(f.path).length).toBe(f.bytes);
    }
    const html = readFileSync(join(report.dir, 'report.html'), 'utf8');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toMatch(/<script/i);
    expect((html.match(/<img [^>]*src="data:image\/png;base64,/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('LPL leap');
    const json = JSON.parse(readFileSync(join(report.dir, 'report.json'), 'utf8')) as {
      provenance: { models: { manifestSha256: string }[]; engineVersion: string };
      runs: { seed: number; steps: unknown[] }[];
    };
    expect(json.provenance.models[0]!.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(json.runs.map((r) => r.seed)).toEqual([11, 11]);
    const steps = readFileSync(join(report.dir, 'steps.csv'), 'utf8').split('\n');
    expect(steps.filter((l) => l.startsWith(`${runId},target,`))).toHaveLength(json.runs[0]!.steps.length);
    const gif = readFileSync(join(report.dir, 'frames.gif'));
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(gif.toString('latin1')).toContain(`seed 11`);

    expect(await call('runs.delete', { runId: baselineId })).toEqual({ deleted: true });
    expect(await call('runs.delete', { runId: baselineId })).toEqual({ deleted: false });
    expect((await call('runs.get', { runId })).baselineRunId).toBeNull();
    expect(await callError('runs.get', { runId: baselineId })).toMatchObject({ code: 'not-found' });
    expect(pushed.some((e) => e.type === 'run.event' && e.event.type === 'run.finished')).toBe(true);
  });

  it('keeps a run the studio stopped following mid-run (quit or crash) and marks it interrupted on reopen', async () => {
    const { run } = await call('runs.start', {
      deviceId: 'builtin',
      params: { ...PARAMS, steps: 30, lpl: { mode: 'off' } },
      preview: { everySteps: 1, maxEdgePx: 16, format: 'image-rgb8' },
    });
    await until(
      () =>
        pushed.some(
          (e) => e.type === 'run.event' && e.runId === run.runId && e.event.type === 'preview.ready',
        ),
      30_000,
      'a preview of the long run',
    );
    // What a quit does to runs being followed; a crash leaves the same unfinished folder behind.
    await services.runs.close();
    const reopened = await RunService.open({ dataDir, hub: services.hub });
    const kept = reopened.get(run.runId);
    expect(kept).toMatchObject({
      state: 'interrupted',
      stream: 'detached',
      interruption: { reason: 'studio-restarted' },
    });
    const history = new RunHistory(reopened);
    const events = await history.eventPage(run.runId, 0, 5000);
    expect(events.events.length).toBeGreaterThan(3);
    expect(events.events.some((e) => e.event.type === 'preview.ready')).toBe(true);
    expect((await history.framePage(run.runId, 'preview', 0, 10)).total).toBeGreaterThan(0);
    await reopened.close();
  });

  it('keeps a run whose device connection is closed for good (forgotten) and marks it device-lost', async () => {
    const events: string[] = [];
    const runs = await RunService.open({
      dataDir,
      hub: services.hub,
      emit: (e) => {
        if (e.type === 'run.event') events.push(e.event.type);
      },
    });
    const started = await runs.start('builtin', { ...PARAMS, steps: 30, lpl: { mode: 'off' } });
    await until(() => events.includes('step.end'), 30_000, 'the first step of the run');
    await services.hub.forget('builtin');
    const ended = await runs.waitForEnd(started.runId);
    expect(ended).toMatchObject({ state: 'interrupted', interruption: { reason: 'device-lost' } });
    const stored = await new RunHistory(runs).eventPage(started.runId, 0, 5000);
    expect(stored.events.some((e) => e.event.type === 'step.end')).toBe(true);
    await runs.close();
  });
});
