// iOS ends the app mid-run (jetsam, or swiped away): nothing more reaches its files and every socket drops at once.
// The client keeps every event it received up to the kill; after the app starts again with the same files (a new
// port) the client resumes from lastSeq + 1 and receives `run.interrupted` (device-restarted) — nothing lost,
// nothing twice. Mirrors tests/integration/companion/kill-restart.test.ts for the app's composition.
import { dirname } from 'node:path';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { PhoneCompanion } from '../../../ios-companion/src/host/phone-companion';
import type { RnfsLike } from '../../../ios-companion/src/storage/rnfs-like';
import type { TcpModuleLike, TcpServerLike, TcpSocketLike } from '../../../ios-companion/src/ws/socket-types';
import { CompanionClient, MemoryKeyStore, type SeqEvent } from '../../../src-main/devices/companion-client';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { convertModelDir } from '../../../src-main/convert/model-dir';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';
import { expectGaplessLog, nanoParams, PREVIEW_EVERY_STEP, record, until } from '../companion/run-helpers';
import { nodeRnfs } from './node-rnfs';
import { phoneDirs, startPhone } from './phone-host';

const HOST = '127.0.0.1';
const temps: string[] = [];
const phones: PhoneCompanion[] = [];
const clients: CompanionClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  for (const p of phones) await p.close().catch(() => undefined);
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** react-native-fs whose every call fails once `kill()` was called (the process is gone). */
function killableRnfs(): RnfsLike & { kill(): void } {
  const inner = nodeRnfs() as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  let dead = false;
  const out: Record<string, unknown> = {
    kill: () => {
      dead = true;
    },
  };
  for (const [name, fn] of Object.entries(inner))
    if (typeof fn === 'function')
      out[name] = (...args: unknown[]) =>
        dead ? Promise.reject(new Error('the app was killed')) : fn(...args);
  return out as unknown as RnfsLike & { kill(): void };
}

/** Node's `net`, remembering servers and sockets so a kill can drop them all at once. */
function killableTcp(): TcpModuleLike & { kill(): void } {
  const servers: TcpServerLike[] = [];
  const sockets: TcpSocketLike[] = [];
  return {
    createServer: (listener) => {
      const server = net.createServer((s) => {
        sockets.push(s);
        listener(s);
      });
      servers.push(server);
      return server;
    },
    kill: () => {
      for (const s of sockets) s.destroy();
      for (const s of servers) s.close();
    },
  };
}

describe('the app killed mid-run', () => {
  it('keeps every event up to the kill and marks the run interrupted after a restart', async () => {
    const src = fixtureModelDir();
    temps.push(src);
    const dirs = phoneDirs();
    temps.push(dirname(dirname(dirs.dataDir)));
    const rnfs = killableRnfs();
    const tcp = killableTcp();
    const first = await startPhone(dirs, { rnfs, tcp });
    phones.push(first);
    const keys = new MemoryKeyStore();
    const client = new CompanionClient({
      keyStore: keys,
      requestTimeoutMs: 30_000,
      reconnectDelayMs: { initial: 50, max: 200 },
      reconnectGiveUpMs: 120_000,
    });
    clients.push(client);
    await client.connect(HOST, first.port);
    await client.pair(first.store.get().pairingCode!.code);
    await convertModelDir({
      fs: new NodeFileSystem(),
      sha256: nodeSha256,
      modelDir: src,
      outDir: `${src}-set`,
      name: 'nano',
    });
    temps.push(`${src}-set`);
    await client.pushBlockSet(`${src}-set`, { name: 'nano' });
    await until(() => first.store.get().models.some((m) => m.active), 10_000, 'the model to open');

    const { runId } = await client.startRun(nanoParams(1000, 3), { preview: PREVIEW_EVERY_STEP });
    const events: SeqEvent[] = [];
    const statuses: string[] = [];
    const sub = await client.subscribe(runId, 1, (e) => events.push(e), {
      onStatus: (s) => statuses.push(s),
    });
    await until(() => events.filter((e) => e.event.type === 'step.end').length >= 2, 90_000, 'two steps');

    rnfs.kill();
    tcp.kill();
    void first.close().catch(() => undefined); // stops the engine; nothing it writes reaches the files
    await until(() => sub.status === 'disconnected', 10_000, 'the client to notice the kill');
    const heldAtKill = events.map((e) => ({ ...e }));
    expect(heldAtKill.map((e) => e.seq)).toEqual(heldAtKill.map((_, i) => i + 1));
    expect(sub.state).toBe('running');

    const second = await startPhone(dirs);
    phones.push(second);
    expect(second.store.get().id).toBe(first.store.get().id);
    expect((await client.connect(HOST, second.port)).authenticated).toBe(true);
    const done = await sub.done;
    expect(done.event).toMatchObject({ type: 'run.interrupted', reason: 'device-restarted' });
    expectGaplessLog(events);
    expect(events.slice(0, heldAtKill.length)).toEqual(heldAtKill);
    expect(sub.duplicatesDropped).toBe(0);
    expect(statuses).toContain('disconnected');
    expect((await client.runs()).find((x) => x.runId === runId)).toMatchObject({
      state: 'interrupted',
      headSeq: events.length,
    });
    const fresh = new CompanionClient({ keyStore: keys, clientId: client.clientId });
    clients.push(fresh);
    await fresh.connect(HOST, second.port);
    const all = await record(fresh, runId, 1);
    await all.sub.done;
    expect(all.events).toEqual(events);
  }, 180_000);
});
