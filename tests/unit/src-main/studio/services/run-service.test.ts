import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBuiltinDevice } from '../../../../../src-main/studio/services/builtin-device';
import type { BuiltinDeviceState } from '../../../../../src-main/studio/services/device-hub';
import { readRunFile, type RunFile } from '../../../../../src-main/studio/services/run-folder';
import { RunService } from '../../../../../src-main/studio/services/run-service';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runFile(runId: string, over: Partial<RunFile>): RunFile {
  return {
    format: 'odsora-studio-run',
    version: 2,
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
      JSON.stringify({ ...runFile('r-future', {}), version: 3 }),
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

  it('reads a version 1 run.json as version 2 without baseline links, and writes version 2 on change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odsora-runs-v1-'));
    dirs.push(dir);
    const { baselineOf, baselineRunId, ...v2 } = runFile('r-old', { state: 'finished', endedAtEpochMs: 1 });
    void [baselineOf, baselineRunId];
    mkdirSync(join(dir, 'runs', 'r-old'), { recursive: true });
    writeFileSync(join(dir, 'runs', 'r-old', 'run.json'), JSON.stringify({ ...v2, version: 1 }));
    mkdirSync(join(dir, 'runs', 'r-new'), { recursive: true });
    const fresh = runFile('r-new', { state: 'finished', endedAtEpochMs: 2 });
    writeFileSync(join(dir, 'runs', 'r-new', 'run.json'), JSON.stringify(fresh));
    expect(await readRunFile(join(dir, 'runs', 'r-old'))).toMatchObject({
      version: 2,
      baselineOf: null,
      baselineRunId: null,
      state: 'finished',
    });
    const service = await RunService.open({ dataDir: dir, hub: noDevices });
    await service.linkBaseline('r-old', 'r-new');
    expect(JSON.parse(readFileSync(join(dir, 'runs', 'r-old', 'run.json'), 'utf8'))).toMatchObject({
      version: 2,
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
