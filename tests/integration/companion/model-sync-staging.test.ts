// Model sync's staging on a REAL companion process (`odsora companion`, built CLI), driven on the wire: an offer that
// names the device's own record file is refused at the offer; the staging of an abandoned push (no write for longer
// than a day) is removed when the companion starts and at the next offer, while a push that resumes keeps its bytes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeBinaryFrame } from '../../../shared/protocol/binary-frame';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const TWO_DAYS_AGO_S = Date.now() / 1000 - 2 * 24 * 3600;
let proc: CompanionProcess | undefined;
let ws: WebSocket | undefined;

afterAll(async () => {
  ws?.close();
  await stopCompanion(proc);
});

/** Sets the modification time of a folder and everything in it to two days ago. */
function age(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) age(path);
    else utimesSync(path, TWO_DAYS_AGO_S, TWO_DAYS_AGO_S);
  }
  utimesSync(dir, TWO_DAYS_AGO_S, TWO_DAYS_AGO_S);
}

/** A paired session on the wire: `send` a message and wait for the next reply that matches. */
async function pairedSession(port: number, code: string) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws = socket;
  const inbox: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data, binary) => {
    if (binary) return;
    inbox.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((r) => socket.once('open', r));
  let id = 0;
  const next = async (ref: number): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = inbox.findIndex((m) => m.ref === ref);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const call = (message: Record<string, unknown>): Promise<Record<string, unknown>> => {
    id += 1;
    socket.send(JSON.stringify({ ...message, id }));
    return next(id);
  };
  socket.send(
    JSON.stringify({ type: 'hello', protocolVersion: 1, clientId: 'staging-test', clientName: 'test' }),
  );
  expect(await call({ type: 'pair.request', code })).toMatchObject({ type: 'pair.ok' });
  return { call, reply: next, socket };
}

describe('model sync staging on a companion process', () => {
  it('refuses odsora-sync.json at the offer and removes abandoned pushes at start and at an offer', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'odsora-staging-data-'));
    const staging = join(dataDir, 'blocksets', '.staging');
    const abandoned = join(staging, `old-set.${'a'.repeat(64)}`);
    const recent = join(staging, `recent-set.${'b'.repeat(64)}`);
    for (const dir of [abandoned, recent]) {
      mkdirSync(join(dir, 'blocks'), { recursive: true });
      writeFileSync(join(dir, 'blocks', 'b0.bin'), 'partial bytes');
    }
    age(abandoned);
    mkdirSync(join(dataDir, 'blocksets', '.replaced-old-set-xyz'), { recursive: true });

    // At start: the push idle for two days is gone, the recent one stays (it may still resume).
    proc = await startCompanion({ dataDir });
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(join(dataDir, 'blocksets', '.replaced-old-set-xyz'))).toBe(false);
    expect(proc.stderr()).toMatch(/removed the staging of an abandoned push of old-set/);

    const { call, reply, socket } = await pairedSession(
      proc.port,
      proc.ready.pairingCode ?? proc.latestPairingCode()!,
    );
    const manifest = '{"not":"checked until the set is complete"}';
    const offer = (name: string, files: { path: string; bytes: number; sha256: string }[]) =>
      call({ type: 'blockset.offer', transferId: `t-${name}`, name, manifestSha256: sha(manifest), files });
    const manifestFile = { path: 'manifest.json', bytes: manifest.length, sha256: sha(manifest) };

    // The device's own record file is refused at the offer, naming the field, and nothing is staged.
    const reserved = await offer('reserved-set', [
      manifestFile,
      { path: 'odsora-sync.json', bytes: 2, sha256: sha('{}') },
    ]);
    expect(reserved).toMatchObject({ type: 'error', code: 'bad-message', path: 'files.1.path' });
    expect(String(reserved.message)).toMatch(/odsora-sync\.json is reserved/);
    expect(existsSync(join(staging, `reserved-set.${sha(manifest)}`))).toBe(false);

    // A push that stalls after 10 bytes...
    expect(await offer('stalled-set', [manifestFile])).toMatchObject({ type: 'blockset.ack' });
    const head = new TextEncoder().encode(manifest.slice(0, 10));
    socket.send(
      JSON.stringify({
        type: 'blockset.chunk',
        id: 100,
        transferId: 't-stalled-set',
        path: 'manifest.json',
        offset: 0,
        bytes: head.length,
        sha256: sha(head),
        chunkSeq: 1,
      }),
    );
    socket.send(
      encodeBinaryFrame({
        kind: 'bytes',
        purpose: 'blockset-chunk',
        streamId: 't-stalled-set',
        seq: 1,
        index: 0,
        dims: [],
        payload: head,
      }),
    );
    expect(await reply(100)).toMatchObject({ type: 'blockset.ack', files: [{ receivedBytes: 10 }] });
    // ...then a day passes for it and for the recent one, and an offer comes: the recent (abandoned) one is removed,
    // the one being offered again resumes where it was.
    age(recent);
    age(join(staging, `stalled-set.${sha(manifest)}`));
    const resumed = await offer('stalled-set', [manifestFile]);
    expect(resumed).toMatchObject({
      type: 'blockset.ack',
      files: [{ path: 'manifest.json', receivedBytes: 10, complete: false }],
    });
    expect(existsSync(recent)).toBe(false);
    expect(proc.stderr()).toMatch(/removed the staging of an abandoned push of recent-set/);
  });
});
