import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    version: 1,
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
      JSON.stringify({ format: 'odsora-studio-run', version: 2 }),
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
