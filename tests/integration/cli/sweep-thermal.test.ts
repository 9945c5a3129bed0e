// Thermal state end to end with a device whose state the test drives: `odsora companion --thermal-file F` reports
// what F says in device info (re-read for each device.info.get), and `odsora sweep` with a thermal gate starts no
// run while F says `serious`, goes ahead once the test writes `nominal`, and records each run's state at start and
// end in sweep.json and sweep.csv.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepJournal } from '../../../shared/sweep/journal';
import { DeviceHub } from '../../../src-main/studio/services/device-hub';
import {
  startCompanion,
  stopCompanion,
  waitUntil,
  type CompanionProcess,
} from '../../helpers/companion-process';
import { CLI_PATH, ensureCliBuilt, REPO_ROOT } from '../../helpers/odsora-cli';

let companion: CompanionProcess | undefined;
let work: string;
let thermalFile: string;

/** Device info as a version-3 client sees it in `welcome`, then after each `device.info.get`. */
async function deviceInfos(between: (() => void)[]): Promise<unknown[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${companion!.port}/`);
  const messages: { type: string; device?: unknown }[] = [];
  let notify = (): void => undefined;
  ws.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString()) as { type: string });
    notify();
  });
  const next = async (type: string, count: number): Promise<void> => {
    while (messages.filter((m) => m.type === type).length < count)
      await new Promise<void>((r) => (notify = r));
  };
  await new Promise((r) => ws.once('open', r));
  ws.send(
    JSON.stringify({ type: 'hello', protocolVersion: 3, clientId: 'thermal-test', clientName: 'Thermal' }),
  );
  await next('welcome', 1);
  for (const [i, step] of between.entries()) {
    step();
    ws.send(JSON.stringify({ type: 'device.info.get', id: i + 1 }));
    await next('device.info', i + 1);
  }
  ws.close();
  return messages.filter((m) => m.type === 'welcome' || m.type === 'device.info').map((m) => m.device);
}

beforeAll(async () => {
  ensureCliBuilt();
  work = mkdtempSync(join(tmpdir(), 'odsora-thermal-test-'));
  thermalFile = join(work, 'thermal');
  writeFileSync(thermalFile, 'serious\n');
  companion = await startCompanion({
    name: 'thermal desk',
    profile: 'desktop',
    extraArgs: ['--thermal-file', thermalFile],
  });
}, 120_000);

afterAll(async () => {
  await stopCompanion(companion);
  rmSync(work, { recursive: true, force: true });
});

describe('a device whose thermal state the test drives', () => {
  it('device info follows the file (missing = unknown)', async () => {
    const infos = await deviceInfos([
      () => writeFileSync(thermalFile, 'fair'),
      () => writeFileSync(thermalFile, 'critical\n'),
      () => rmSync(thermalFile),
      () => writeFileSync(thermalFile, 'serious'),
    ]);
    expect(infos.map((d) => (d as { thermalState: unknown }).thermalState)).toEqual([
      'serious',
      'fair',
      'critical',
      null,
      'serious',
    ]);
  });

  it("the studio's device list follows it while connected (the hub re-reads device info)", async () => {
    writeFileSync(thermalFile, 'serious');
    const hub = new DeviceHub({ dataDir: join(work, 'hub'), discovery: false, thermalPollMs: 100 });
    try {
      await hub.start();
      const { id } = await hub.addManual('127.0.0.1', companion!.port);
      await waitUntil(() => hub.get(id).thermalState === 'serious', 20_000, 'the first thermal state');
      writeFileSync(thermalFile, 'critical');
      await waitUntil(() => hub.get(id).thermalState === 'critical', 20_000, 'the hub to see critical');
    } finally {
      await hub.close();
    }
  }, 60_000);

  it('a gated sweep starts nothing while the device is serious and goes ahead when it is nominal', async () => {
    writeFileSync(thermalFile, 'serious');
    const out = join(work, 'gated');
    const specPath = join(work, 'gated.json');
    writeFileSync(
      specPath,
      JSON.stringify({
        format: 'odsora-sweep',
        version: 1,
        name: 'thermal',
        base: { steps: 3, numFrames: 17, heightPx: 64, widthPx: 64 },
        prompts: ['a red ball'],
        seeds: [7],
        devices: [{ id: 'desk', address: `127.0.0.1:${companion!.port}` }],
        repeats: 2,
        baseline: false,
        thermal: { maxState: 'nominal', pollMs: 200, maxWaitMs: 120_000 },
      }),
    );
    const child = spawn(
      process.execPath,
      [CLI_PATH, 'sweep', '--spec', specPath, '--out', out, '--pair', `desk=${companion!.ready.pairingCode}`],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const jobs = (): number =>
      existsSync(join(companion!.dataDir, 'runs'))
        ? readdirSync(join(companion!.dataDir, 'runs')).filter((f) => f.endsWith('.log')).length
        : 0;
    const before = jobs();
    try {
      await waitUntil(
        () => (stderr.match(/thermal state serious, waiting for nominal/g) ?? []).length >= 3,
        90_000,
        'the sweep to wait',
      );
      // Still hot: the device was given no job and the journal has no run in flight.
      expect(jobs()).toBe(before);
      const waiting = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepJournal;
      expect(waiting.runs.every((r) => r.status === 'pending' && r.runFolder === null)).toBe(true);
      const cooledAt = Date.now();
      writeFileSync(thermalFile, 'nominal');
      expect(await exited, stderr).toBe(0);
      const j = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepJournal;
      expect(j.state).toBe('finished');
      expect(j.runs).toHaveLength(2);
      for (const r of j.runs) {
        expect(r.thermal).toMatchObject({ start: 'nominal', end: 'nominal', gate: 'passed' });
        const file = JSON.parse(readFileSync(join(out, 'runs', r.runFolder!, 'run.json'), 'utf8')) as {
          createdAtEpochMs: number;
          thermal?: unknown;
        };
        expect(file.createdAtEpochMs).toBeGreaterThanOrEqual(cooledAt);
        expect(file.thermal).toEqual({ start: 'nominal', end: 'nominal' }); // the studio's run.json keeps them too
      }
      expect(j.runs[0]!.thermal!.waitedMs).toBeGreaterThanOrEqual(400);
      expect(jobs() - before).toBe(2);
      const csv = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n');
      expect(csv[0]).toContain('thermal_start,thermal_end,thermal_gate,thermal_wait_ms,metric,value,unit');
      expect(csv.slice(1).every((line) => line.includes(',nominal,nominal,passed,'))).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
