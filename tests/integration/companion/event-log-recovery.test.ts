// A companion whose event logs were damaged: killed (SIGKILL) while it appended a run's events, leaving a torn
// last line, and with a line of a finished run's log corrupted on disk. After each restart (same --data), every
// seq a client received before keeps its content, the finished run keeps everything after the damage (its
// run.finished too), the unreadable entry keeps its seq as `event.lost`, and the device logs what it dropped.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CompanionClient, MemoryKeyStore, type SeqEvent } from '../../../src-main/devices/companion-client';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { nanoParams, PREVIEW_EVERY_STEP, record, until } from './run-helpers';

const HOST = '127.0.0.1';
const procs: CompanionProcess[] = [];
const clients: CompanionClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const [i, p] of procs.entries())
    await stopCompanion(p, { keepData: i < procs.length - 1, keepModels: i < procs.length - 1 });
});

async function restart(from: CompanionProcess): Promise<CompanionProcess> {
  const next = await startCompanion({ dataDir: from.dataDir, modelDir: from.modelDir });
  procs.push(next);
  return next;
}

/** Everything a new subscriber from seq 1 receives. */
/** A second client on the same pairing: a key is bound to the clientId it was paired under. */
async function replay(
  keys: MemoryKeyStore,
  clientId: string,
  proc: CompanionProcess,
  runId: string,
): Promise<SeqEvent[]> {
  const client = new CompanionClient({ keyStore: keys, clientId, requestTimeoutMs: 30_000 });
  clients.push(client);
  await client.connect(HOST, proc.port);
  const all = await record(client, runId, 1);
  await all.sub.done;
  await client.close();
  return all.events;
}

const logPath = (proc: CompanionProcess, runId: string): string => join(proc.dataDir, 'runs', `${runId}.log`);

describe('companion event logs after a crash and damage on disk', () => {
  it('never gives a seq a client holds other content, and keeps what follows a damaged line', async () => {
    const first = await startCompanion();
    procs.push(first);
    const keys = new MemoryKeyStore();
    const client = new CompanionClient({
      keyStore: keys,
      requestTimeoutMs: 30_000,
      reconnectDelayMs: { initial: 50, max: 200 },
      reconnectGiveUpMs: 120_000,
    });
    clients.push(client);
    await client.connect(HOST, first.port);
    await client.pair(first.ready.pairingCode ?? first.latestPairingCode()!);

    // A short run that finishes, then a long one the device is killed in.
    const short = await client.startRun(nanoParams(2, 5), { preview: null });
    const finished = await record(client, short.runId, 1);
    await finished.sub.done;
    expect(finished.events.at(-1)!.event.type).toBe('run.finished');
    const long = await client.startRun(nanoParams(1000, 3), { preview: PREVIEW_EVERY_STEP });
    const held: SeqEvent[] = [];
    const sub = await client.subscribe(long.runId, 1, (e) => held.push(e));
    await until(() => held.filter((e) => e.event.type === 'step.end').length >= 2, 90_000, 'two steps');
    await first.kill('SIGKILL');
    await until(() => sub.status === 'disconnected', 10_000, 'the client to notice the kill');
    const heldAtKill = held.map((e) => ({ ...e }));

    // The append the kill interrupted: the start of the next entry, with no newline.
    const stored = readFileSync(logPath(first, long.runId), 'utf8');
    expect(stored.endsWith('\n')).toBe(true);
    const storedSeqs = stored.trimEnd().split('\n').length;
    expect(storedSeqs).toBeGreaterThanOrEqual(heldAtKill.length);
    appendFileSync(logPath(first, long.runId), `{"seq":${storedSeqs + 1},"event":{"type":"step.st`);
    // And a line in the middle of the finished run's log damaged on disk.
    const damagedSeq = 3;
    const lines = readFileSync(logPath(first, short.runId), 'utf8').split('\n');
    lines[damagedSeq - 1] = lines[damagedSeq - 1]!.replace('"event":{', '"event":\u0000{');
    writeFileSync(logPath(first, short.runId), lines.join('\n'));

    const second = await restart(first);
    expect((await client.connect(HOST, second.port)).authenticated).toBe(true);
    const done = await sub.done;
    expect(done).toMatchObject({ seq: storedSeqs + 1, event: { type: 'run.interrupted' } });
    expect(held.slice(0, heldAtKill.length)).toEqual(heldAtKill);
    expect(sub.duplicatesDropped).toBe(0);

    // The finished run: everything but the damaged entry, run.finished included; that seq is event.lost.
    const shortAfter = await replay(keys, client.clientId, second, short.runId);
    expect(shortAfter.map((e) => e.seq)).toEqual(finished.events.map((e) => e.seq));
    expect(shortAfter.filter((e) => e.seq !== damagedSeq)).toEqual(
      finished.events.filter((e) => e.seq !== damagedSeq),
    );
    expect(shortAfter[damagedSeq - 1]!.event.type).toBe('event.lost');
    expect((await client.runs()).find((r) => r.runId === short.runId)).toMatchObject({
      state: 'finished',
      headSeq: finished.events.length,
    });
    const longAfter = await replay(keys, client.clientId, second, long.runId);
    expect(longAfter).toEqual(held);

    // A second crash and restart: both logs read back exactly as clients received them.
    await second.kill('SIGKILL');
    const third = await restart(second);
    expect(await replay(keys, client.clientId, third, long.runId)).toEqual(held);
    expect(await replay(keys, client.clientId, third, short.runId)).toEqual(shortAfter);
    // The device said what it dropped and why, once.
    expect(second.stderr()).toMatch(new RegExp(`run ${long.runId}: event log recovered .*torn last line`));
    expect(second.stderr()).toMatch(
      new RegExp(
        `run ${short.runId}: event log recovered .*1 entry unreadable on disk.*seq ${damagedSeq}\\b`,
      ),
    );
    expect(third.stderr()).not.toMatch(/event log recovered/);
    for (const runId of [short.runId, long.runId])
      for (const line of readFileSync(logPath(third, runId), 'utf8').trimEnd().split('\n'))
        expect(() => JSON.parse(line) as unknown).not.toThrow();
  });
});
