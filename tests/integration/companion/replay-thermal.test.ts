// The replay companion (`odsora companion --replay LOG`, the built CLI, a real child process) reports its thermal
// state as the normal companion does: `--thermal-file F` drives it, device info carries it, and a version-3 client
// sees it on `run.started` (read at the start) and on the terminal event (read at the end); a version-2 client
// sees neither field.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { orDeath, record } from './run-helpers';

const HOST = '127.0.0.1';
let work: string;
let thermalFile: string;
let proc: CompanionProcess;
const keys = new MemoryKeyStore();
const clients: CompanionClient[] = [];

function newClient(protocolVersion?: number): CompanionClient {
  const c = new CompanionClient({
    keyStore: keys,
    clientId: 'replay-thermal-test',
    clientName: 'replay thermal test',
    requestTimeoutMs: 30_000,
    ...(protocolVersion === undefined ? {} : { protocolVersion }),
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'odsora-replay-thermal-'));
  thermalFile = join(work, 'thermal');
  writeFileSync(thermalFile, 'fair\n');
  const events: EngineEvent[] = [
    { type: 'stage.start', atMs: 0, stage: 'denoise' },
    ...[0, 1, 2, 3].map((step): EngineEvent => ({
      type: 'step.end',
      atMs: step + 1,
      step,
      t: 1 - step / 4,
      latencyMs: 5,
      cosine: null,
      merged: false,
      leapt: false,
    })),
  ];
  const log = join(work, 'events.jsonl');
  writeFileSync(log, events.map((event, i) => JSON.stringify({ seq: i + 1, event })).join('\n') + '\n');
  proc = await startCompanion({
    modelDir: mkdtempSync(join(tmpdir(), 'odsora-replay-unused-model-')),
    name: 'Replay thermal device',
    // 5 events at 10/s: the run lasts about half a second, time for the test to change the file mid-run.
    extraArgs: ['--no-advertise', '--replay', log, '--replay-rate', '10', '--thermal-file', thermalFile],
  });
  const first = newClient();
  await first.connect(HOST, proc.port);
  await first.pair(proc.ready.pairingCode ?? proc.latestPairingCode()!);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stopCompanion(proc);
  rmSync(work, { recursive: true, force: true });
});

describe('the replay companion reports thermal state', () => {
  it("device info carries the file's state, read afresh for each connection", async () => {
    expect(clients[0]!.device?.thermalState).toBe('fair');
    writeFileSync(thermalFile, 'critical');
    const c = newClient();
    await c.connect(HOST, proc.port);
    expect(c.device?.thermalState).toBe('critical');
    rmSync(thermalFile);
    const d = newClient();
    await d.connect(HOST, proc.port);
    expect(d.device?.thermalState).toBeNull(); // a missing file reads as unknown
  });

  it('a version-3 client sees the state at the start and at the end of a replayed run; version 2 sees neither', async () => {
    writeFileSync(thermalFile, 'nominal');
    const v3 = newClient();
    expect((await v3.connect(HOST, proc.port)).protocolVersion).toBe(3);
    const { runId } = await v3.startRun({ prompt: 'a red ball', seed: 1, steps: 4 });
    const live = await record(v3, runId, 1, (e) => {
      if (e.event.type === 'run.started') writeFileSync(thermalFile, 'serious');
    });
    const done = await orDeath(live.sub.done, proc);
    expect(done.event).toMatchObject({ type: 'run.finished', thermal: 'serious' });
    expect(live.events.find((e) => e.event.type === 'run.started')?.event).toMatchObject({
      thermal: 'nominal',
    });

    const v2 = newClient(2);
    expect((await v2.connect(HOST, proc.port)).protocolVersion).toBe(2);
    const old = await record(v2, runId, 1);
    await orDeath(old.sub.done, proc);
    const runLevel = old.events.filter((e) => e.event.type.startsWith('run.'));
    expect(runLevel.map((e) => e.event.type)).toContain('run.started');
    for (const e of runLevel) expect(e.event).not.toHaveProperty('thermal');
  }, 30_000);
});
