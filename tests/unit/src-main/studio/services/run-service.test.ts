import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBuiltinDevice } from '../../../../../src-main/studio/services/builtin-device';
import type { BuiltinDeviceState } from '../../../../../src-main/studio/services/device-hub';
import { readRunFile, type RunFile } from '../../../../../src-main/studio/services/run-folder';
import { RunService, sweepTags } from '../../../../../src-main/studio/services/run-service';
import { measureRun, runMetrics } from '../../../../../shared/report/measures';
import { sampleLog } from '../../../shared/report/fixtures';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runFile(runId: string, over: Partial<RunFile>): RunFile {
  return {
    format: 'odsora-studio-run',
    version: 3,
    tags: [],
    notes: '',
    metrics: null,
    baselineOf: null,
    baselineRunId: null,
    runId,
    deviceRunId: `dev-${runId}`,
    device: {
      id: 'builtin',
      deviceId: 'dev-abc',
      name: 'Phone',
      model: 'iphone-15-pro',
      role: 'target',
      simulated: true,
      engineVersion: '0.1.0',
    },
    params: { prompt: 'a ball', seed: 1, steps: 3 },
    preview: null,
    label: null,
    createdAtEpochMs: 1000,
    state: 'running',
    lastSeq: 4,
    endedAtEpochMs: null,
    interruption: null,
    ...over,
  };
}

describe('RunService', () => {
  it('marks runs a previous studio left unfinished as interrupted, and keeps finished ones as they were', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odsora-runs-'));
    dirs.push(dir);
    const write = (f: RunFile): void => {
      mkdirSync(join(dir, 'runs', f.runId), { recursive: true });
      writeFileSync(join(dir, 'runs', f.runId, 'run.json'), JSON.stringify(f));
    };
    write(runFile('r-unfinished', { createdAtEpochMs: 2000 }));
    write(runFile('r-done', { state: 'finished', endedAtEpochMs: 1500, lastSeq: 20 }));
    mkdirSync(join(dir, 'runs', 'r-future'));
    writeFileSync(
      join(dir, 'runs', 'r-future', 'run.json'),
      JSON.stringify({ ...runFile('r-future', {}), version: 4 }),
    );
    const service = await RunService.open({
      dataDir: dir,
      hub: {
        pairedClient: () => {
          throw new Error('no devices');
        },
      },
    });
    const runs = service.list();
    expect(runs.map((r) => [r.runId, r.state, r.stream, r.interruption?.reason ?? null])).toEqual([
      ['r-unfinished', 'interrupted', 'detached', 'studio-restarted'],
      ['r-done', 'finished', 'ended', null],
    ]);
    const onDisk = await readRunFile(join(dir, 'runs', 'r-unfinished'));
    expect(onDisk).toMatchObject({
      state: 'interrupted',
      lastSeq: 4,
      interruption: { reason: 'studio-restarted' },
      // Ended by the restart: its metrics are what its (here empty) log holds.
      metrics: { wallMs: null, denoiseMs: null, medianStepMs: null, peakResidentBytes: null, frames: null },
    });
    await expect(service.cancel('r-done')).rejects.toMatchObject({ code: 'conflict' });
    await service.close();
  });
});

describe('run folders', () => {
  const noDevices = {
    pairedClient: () => {
      throw new Error('no devices');
    },
  };

  it('reads a version 1 run.json as version 3 without baseline links or notes, and writes version 3 on change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odsora-runs-v1-'));
    dirs.push(dir);
    const { baselineOf, baselineRunId, tags, notes, metrics, ...v2 } = runFile('r-old', {
      state: 'finished',
      endedAtEpochMs: 1,
    });
    void [baselineOf, baselineRunId, tags, notes, metrics];
    mkdirSync(join(dir, 'runs', 'r-old'), { recursive: true });
    writeFileSync(join(dir, 'runs', 'r-old', 'run.json'), JSON.stringify({ ...v2, version: 1 }));
    mkdirSync(join(dir, 'runs', 'r-new'), { recursive: true });
    const fresh = runFile('r-new', { state: 'finished', endedAtEpochMs: 2 });
    writeFileSync(join(dir, 'runs', 'r-new', 'run.json'), JSON.stringify(fresh));
    expect(await readRunFile(join(dir, 'runs', 'r-old'))).toMatchObject({
      version: 3,
      tags: [],
      notes: '',
      metrics: null,
      baselineOf: null,
      baselineRunId: null,
      state: 'finished',
    });
    const service = await RunService.open({ dataDir: dir, hub: noDevices });
    await service.linkBaseline('r-old', 'r-new');
    expect(JSON.parse(readFileSync(join(dir, 'runs', 'r-old', 'run.json'), 'utf8'))).toMatchObject({
      version: 3,
      baselineRunId: 'r-new',
    });
    expect(service.file('r-new').baselineOf).toBe('r-old');
    // Deleting one side removes its folder and the other side's link to it.
    expect(await service.delete('r-new')).toBe(true);
    expect(existsSync(join(dir, 'runs', 'r-new'))).toBe(false);
    expect(service.file('r-old').baselineRunId).toBeNull();
    expect((await readRunFile(join(dir, 'runs', 'r-old')))?.baselineRunId).toBeNull();
    expect(await service.delete('r-new')).toBe(false);
    expect(() => service.get('r-new')).toThrow(/no run r-new/);
    await service.close();
  });
});

describe('run notebook (run.json version 3)', () => {
  const noDevices = {
    pairedClient: () => {
      throw new Error('no devices');
    },
  };
  /** A version 2 run folder (before tags, notes and metrics) with the sample log as its events. */
  function writeV2(dir: string, runId: string, latencyMs: number): void {
    const { tags, notes, metrics, ...v3 } = runFile(runId, { state: 'finished', endedAtEpochMs: 9 });
    void [tags, notes, metrics];
    mkdirSync(join(dir, 'runs', runId), { recursive: true });
    writeFileSync(join(dir, 'runs', runId, 'run.json'), JSON.stringify({ ...v3, version: 2 }));
    const log = sampleLog({ latencyMs });
    writeFileSync(
      join(dir, 'runs', runId, 'events.jsonl'),
      log.map((e) => JSON.stringify(e)).join('\n') + '\n',
    );
  }

  it('upgrades a version 2 run.json: metrics computed once from its events and written as version 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odsora-runs-v2-'));
    dirs.push(dir);
    writeV2(dir, 'r-v2', 100);
    const service = await RunService.open({ dataDir: dir, hub: noDevices });
    const want = runMetrics(measureRun(sampleLog({ latencyMs: 100 })));
    expect(want.wallMs).not.toBeNull();
    expect(want.medianStepMs).not.toBeNull();
    expect(service.get('r-v2')).toMatchObject({
      tags: [],
      notes: '',
      metrics: want,
      speedupVsBaseline: null,
      eventLogProblem: null,
    });
    const onDisk = JSON.parse(readFileSync(join(dir, 'runs', 'r-v2', 'run.json'), 'utf8'));
    expect(onDisk).toMatchObject({ version: 3, tags: [], notes: '', metrics: want });
    await service.close();
  });

  it('keeps a name, tags and notes in run.json, and lists the speed-up over a linked baseline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odsora-runs-notes-'));
    dirs.push(dir);
    writeV2(dir, 'r-fast', 50);
    writeV2(dir, 'r-base', 100);
    const service = await RunService.open({ dataDir: dir, hub: noDevices });
    await service.linkBaseline('r-fast', 'r-base');
    const annotated = await service.annotate('r-fast', {
      label: 'LPL 12/30',
      tags: ['lpl', 'sweep:s-1'],
      notes: 'leap looks early',
    });
    expect(annotated).toMatchObject({
      label: 'LPL 12/30',
      tags: ['lpl', 'sweep:s-1'],
      notes: 'leap looks early',
    });
    const fast = service.get('r-fast').metrics!.wallMs!;
    const base = service.get('r-base').metrics!.wallMs!;
    expect(service.get('r-fast').speedupVsBaseline).toBeCloseTo(base / fast, 9);
    // Only what is given changes.
    await service.annotate('r-fast', { notes: '' });
    await service.close();
    const reopened = await RunService.open({ dataDir: dir, hub: noDevices });
    expect(reopened.get('r-fast')).toMatchObject({
      label: 'LPL 12/30',
      tags: ['lpl', 'sweep:s-1'],
      notes: '',
    });
    await reopened.annotate('r-fast', { label: null });
    expect((await readRunFile(join(dir, 'runs', 'r-fast')))?.label).toBeNull();
    await expect(reopened.annotate('r-nope', { notes: 'x' })).rejects.toMatchObject({ code: 'not-found' });
    await reopened.close();
  });
});

describe('built-in device', () => {
  it('reports a clear error when the bundled model is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odsora-builtin-'));
    dirs.push(dir);
    const states: BuiltinDeviceState[] = [];
    const device = startBuiltinDevice({
      dataDir: dir,
      modelDir: join(dir, 'models', 'opensora-nano'),
      onState: (s) => states.push(s),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(device.state.status).toBe('error');
    expect(states.at(-1)).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/bundled model is missing/),
    });
    await device.stop();
  });
});

describe('sweepTags', () => {
  it("tags a sweep's runs sweep:<id>, tag-safe, or not at all when nothing of the id is left", () => {
    expect(sweepTags('s-20261207-ab12')).toEqual(['sweep:s-20261207-ab12']);
    expect(sweepTags('my sweep (2)')).toEqual(['sweep:my-sweep--2-']);
    expect(sweepTags('x'.repeat(200))[0]).toHaveLength(64);
    expect(sweepTags('  ')).toEqual([]);
  });
});
