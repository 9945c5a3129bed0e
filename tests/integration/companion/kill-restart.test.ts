// Killing the companion process mid-run (SIGKILL: a crash): the client keeps every event it received up to the
// kill, shows the run as disconnected, and after the companion restarts with the same --data (a new port) the
// client resumes from lastSeq + 1 and receives `run.interrupted` (device-restarted) - nothing lost, nothing twice.
import { afterAll, describe, expect, it } from 'vitest';
import { CompanionClient, MemoryKeyStore, type SeqEvent } from '../../../src-main/devices/companion-client';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { expectGaplessLog, nanoParams, PREVIEW_EVERY_STEP, record, until } from './run-helpers';

const HOST = '127.0.0.1';
let first: CompanionProcess | undefined;
let second: CompanionProcess | undefined;
let client: CompanionClient | undefined;

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await stopCompanion(first, { keepData: true, keepModels: true });
  await stopCompanion(second);
});

describe('companion process killed mid-run', () => {
  it('keeps every event up to the kill and marks the run interrupted after a restart', async () => {
    first = await startCompanion();
    const keys = new MemoryKeyStore();
    client = new CompanionClient({
      keyStore: keys,
      requestTimeoutMs: 30_000,
      reconnectDelayMs: { initial: 50, max: 200 },
      reconnectGiveUpMs: 120_000,
    });
    await client.connect(HOST, first.port);
    await client.pair(first.ready.pairingCode ?? first.latestPairingCode()!);
    const { runId } = await client.startRun(nanoParams(1000, 3), { preview: PREVIEW_EVERY_STEP });
    const events: SeqEvent[] = [];
    const statuses: string[] = [];
    const sub = await client.subscribe(runId, 1, (e) => events.push(e), {
      onStatus: (s) => statuses.push(s),
    });
    await until(() => events.filter((e) => e.event.type === 'step.end').length >= 2, 90_000, 'two steps');

    await first.kill('SIGKILL');
    await until(() => sub.status === 'disconnected', 10_000, 'the client to notice the kill');
    const heldAtKill = events.map((e) => ({ ...e }));
    expect(heldAtKill.length).toBeGreaterThan(0);
    expectGaplessPrefix(heldAtKill);
    expect(sub.state).toBe('running');

    // Same device (same --data), new process, new port.
    second = await startCompanion({ dataDir: first.dataDir, modelDir: first.modelDir });
    expect(second.ready.id).toBe(first.ready.id);
    const r = await client.connect(HOST, second.port);
    expect(r.authenticated).toBe(true); // the device kept the pairing key on disk
    const done = await sub.done;
    expect(done.event).toMatchObject({ type: 'run.interrupted', reason: 'device-restarted' });
    expectGaplessLog(events);
    // Every event held at the kill is unchanged, none duplicated.
    expect(events.slice(0, heldAtKill.length)).toEqual(heldAtKill);
    expect(sub.duplicatesDropped).toBe(0);
    expect(statuses).toContain('disconnected');

    const runs = await client.runs();
    expect(runs.find((x) => x.runId === runId)).toMatchObject({
      state: 'interrupted',
      headSeq: events.length,
    });

    // A fresh subscriber reads the same log.
    const fresh = new CompanionClient({ keyStore: keys, clientId: client.clientId });
    await fresh.connect(HOST, second.port);
    const all = await record(fresh, runId, 1);
    await all.sub.done;
    expect(all.events).toEqual(events);
    await fresh.close();
  });
});

function expectGaplessPrefix(events: SeqEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
}
