// CompanionServer: subscriptions, restore, malformed input, model sync (the shared harness is in server-harness.ts).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryModelStore } from '../../../../shared/companion/model-sync';
import { computeAuthProof } from '../../../../shared/protocol/auth';
import { decodeBinaryFrame, encodeBinaryFrame } from '../../../../shared/protocol/binary-frame';

import {
  hmac,
  MemoryRunStore,
  MemoryPairingStore,
  Client,
  setup,
  pairedClient,
  flush,
} from './server-harness';

describe('CompanionServer subscriptions', () => {
  it('replays, goes live, resumes without loss or duplication, and serves two subscribers', async () => {
    const { server, code, runner } = await setup();
    runner.gated = true;
    const c = await pairedClient(server, code);
    const mirror = await pairedClient(server, code);
    c.send({
      type: 'run.start',
      id: 1,
      params: { prompt: 'a', seed: 1, steps: 4 },
      preview: { everySteps: 2, maxEdgePx: 16, format: 'image-rgb8' },
    });
    const runId = (await c.waitFor('run.accepted')).runId;
    c.send({ type: 'run.subscribe', id: 2, runId, fromSeq: 1 });
    mirror.send({ type: 'run.subscribe', id: 2, runId, fromSeq: 1 });
    await mirror.waitFor('run.subscribed');
    runner.release();
    await flush();
    runner.release();
    await flush();
    // c drops; a new connection resumes from its last seq + 1.
    const held = c.events(runId);
    const last = held.at(-1)!.seq;
    c.disconnect();
    runner.release();
    await flush();
    const again = new Client(server);
    await again.hello();
    const challenge = await again.waitFor('auth.challenge');
    const clientNonce = '1a'.repeat(16);
    const transcript = { deviceId: 'dev-1', keyId: c.key!.keyId, deviceNonce: challenge.nonce, clientNonce };
    again.send({
      type: 'auth.response',
      keyId: c.key!.keyId,
      clientNonce,
      mac: await computeAuthProof(hmac, c.key!.key, 'client', transcript),
    });
    await again.waitFor('auth.ok');
    again.send({ type: 'run.subscribe', id: 3, runId, fromSeq: last + 1 });
    const sub = await again.waitFor('run.subscribed');
    expect(sub.headSeq).toBeGreaterThanOrEqual(last);
    runner.gated = false;
    runner.release();
    await again.waitFor('run.event', (m) => m.event.type === 'run.finished');
    await mirror.waitFor('run.event', (m) => m.event.type === 'run.finished');
    const combined = [...held, ...again.events(runId)];
    expect(combined.map((e) => e.seq)).toEqual(combined.map((_, i) => i + 1));
    expect(mirror.events(runId)).toEqual(combined);
    // Previews: preview.ready events followed by their binary frames (seq = the event's seq).
    const previews = mirror.events(runId).filter((e) => e.type === 'preview.ready');
    expect(previews).toHaveLength(2);
    const frames = mirror.received
      .filter((m): m is { binary: Uint8Array } => 'binary' in m)
      .map((b) => decodeBinaryFrame(b.binary))
      .map((d) => (d.ok ? [d.frame.purpose, d.frame.seq, d.frame.index] : null));
    expect(frames).toEqual([
      ['preview', previews[0]!.seq, 0],
      ['preview', previews[0]!.seq, 1],
      ['preview', previews[1]!.seq, 0],
      ['preview', previews[1]!.seq, 1],
    ]);
    // Subscribing past the head is seq-ahead; a finished run replays fully.
    mirror.send({ type: 'run.subscribe', id: 9, runId, fromSeq: 1000 });
    expect((await mirror.waitFor('error', (e) => e.ref === 9)).code).toBe('seq-ahead');
  });
});

describe('CompanionServer restore', () => {
  it('appends run.interrupted to a run that had not ended, with the next seq', async () => {
    const runStore = new MemoryRunStore();
    const pairingStore = new MemoryPairingStore();
    const first = await setup({ runStore, pairingStore });
    first.runner.gated = true;
    const c = await pairedClient(first.server, first.code);
    c.send({ type: 'run.start', id: 1, params: { prompt: 'a', seed: 1, steps: 5 }, preview: null });
    const runId = (await c.waitFor('run.accepted')).runId;
    first.runner.release();
    await flush();
    const storedBefore = runStore.lines.get(runId)!.length;
    expect(storedBefore).toBeGreaterThan(2);
    // "Crash": a new server over the same stores.
    const second = await setup({ runStore, pairingStore });
    const c2 = new Client(second.server);
    await c2.hello();
    const challenge = await c2.waitFor('auth.challenge');
    const clientNonce = '2b'.repeat(16);
    const transcript = { deviceId: 'dev-1', keyId: c.key!.keyId, deviceNonce: challenge.nonce, clientNonce };
    c2.send({
      type: 'auth.response',
      keyId: c.key!.keyId,
      clientNonce,
      mac: await computeAuthProof(hmac, c.key!.key, 'client', transcript),
    });
    await c2.waitFor('auth.ok');
    c2.send({ type: 'run.subscribe', id: 2, runId, fromSeq: 1 });
    const sub = await c2.waitFor('run.subscribed');
    expect(sub.state).toBe('interrupted');
    expect(sub.headSeq).toBe(storedBefore + 1);
    const last = await c2.waitFor('run.event', (m) => m.seq === storedBefore + 1);
    expect(last.event).toMatchObject({ type: 'run.interrupted', reason: 'device-restarted' });
    c2.send({ type: 'frames.get', id: 3, runId, from: 0, count: 1, format: 'image-rgb8' });
    expect((await c2.waitFor('error', (e) => e.ref === 3)).code).toBe('frames-unavailable');
  });
});

describe('CompanionServer malformed input', () => {
  it('answers every bad frame with a typed error and keeps serving', async () => {
    const { server, code } = await setup();
    const c = await pairedClient(server, code);
    const bad: unknown[] = [
      '{not json',
      '[]',
      '42',
      { type: 7 },
      { type: 'no.such' },
      { type: 'ping' },
      { type: 'ping', nonce: 1, extra: true },
      { type: 'run.subscribe', runId: '../x', fromSeq: 1 },
      { type: 'run.subscribe', runId: 'r-1', fromSeq: 1 },
      { type: 'frames.get', runId: 'r-1', from: 0, count: 1, format: 'image-rgb8' },
      {
        type: 'blockset.offer',
        transferId: 't',
        name: 'n',
        manifestSha256: 'a'.repeat(64),
        files: [{ path: 'manifest.json', bytes: 1, sha256: 'a'.repeat(64) }],
      },
      'x'.repeat(1024 * 1024 + 1),
    ];
    const before = c.received.length;
    for (const b of bad) c.send(b);
    c.sendBinary(Uint8Array.of(1, 2, 3));
    c.sendBinary(
      encodeBinaryFrame({
        kind: 'bytes',
        purpose: 'blockset-chunk',
        streamId: 't',
        seq: 0,
        index: 0,
        dims: [],
        payload: Uint8Array.of(1),
      }),
    );
    c.send({ type: 'ping', nonce: 99 });
    await c.waitFor('pong', (m) => m.nonce === 99);
    const errors = c.received.slice(before).filter((m) => 'type' in m && m.type === 'error');
    expect(errors.map((e) => (e as { code: string }).code)).toEqual([
      'bad-json',
      'bad-message',
      'bad-message',
      'bad-message',
      'unknown-type',
      'bad-message',
      'bad-message',
      'bad-message',
      'unknown-run',
      'unknown-run',
      'unsupported',
      'message-too-large',
      'bad-binary-frame',
      'unknown-transfer',
    ]);
    expect(c.closed).toBeNull();
  });
});

describe('CompanionServer model sync', () => {
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  const sha256 = async (b: Uint8Array): Promise<string> => sha(b);

  it('takes a block set from a paired client, answers acks, refuses unpaired chunks and lists the set', async () => {
    const store = new MemoryModelStore(sha256);
    const { server, code } = await setup({ extra: { modelStore: store, sha256 } });
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        format: 'odsora-blockset',
        version: 1,
        createdBy: 't',
        model: { family: 'opensora-v1.2', name: 'tiny' },
        stages: {},
      }),
    );
    const blob = Uint8Array.from({ length: 50 }, (_, i) => i);
    const offer = {
      type: 'blockset.offer',
      id: 1,
      transferId: 't-1',
      name: 'tiny',
      manifestSha256: sha(manifest),
      files: [
        { path: 'manifest.json', bytes: manifest.length, sha256: sha(manifest) },
        { path: 'extra/blob.bin', bytes: blob.length, sha256: sha(blob) },
      ],
    };
    const frame = (payload: Uint8Array, seq: number) =>
      encodeBinaryFrame({
        kind: 'bytes',
        purpose: 'blockset-chunk',
        streamId: 't-1',
        seq,
        index: 0,
        dims: [],
        payload,
      });
    const chunk = (id: number, path: string, offset: number, payload: Uint8Array, seq: number) => ({
      type: 'blockset.chunk',
      id,
      transferId: 't-1',
      path,
      offset,
      bytes: payload.length,
      sha256: sha(payload),
      chunkSeq: seq,
    });

    const stranger = new Client(server);
    await stranger.hello();
    stranger.send(offer);
    stranger.sendBinary(frame(blob, 0));
    stranger.send({ type: 'ping', nonce: 5 });
    await stranger.waitFor('pong');
    expect(stranger.received.flatMap((m) => ('type' in m && m.type === 'error' ? [m.code] : []))).toEqual([
      'unauthorized',
      'unauthorized',
    ]);

    const c = await pairedClient(server, code);
    c.send(offer);
    const ack = await c.waitFor('blockset.ack', (m) => m.ref === 1);
    expect(ack.installed).toBe(false);
    // Wrong offset: a typed error; its frame is dropped without a second error.
    c.send(chunk(2, 'extra/blob.bin', 10, blob.subarray(10, 20), 1));
    c.sendBinary(frame(blob.subarray(10, 20), 1));
    await c.waitFor('error', (m) => m.ref === 2);
    c.send(chunk(3, 'extra/blob.bin', 0, blob.subarray(0, 20), 2));
    c.sendBinary(frame(blob.subarray(0, 20), 2));
    const a3 = await c.waitFor('blockset.ack', (m) => m.ref === 3);
    expect(a3.files).toEqual([{ path: 'extra/blob.bin', receivedBytes: 20, complete: false }]);
    c.send(chunk(4, 'extra/blob.bin', 20, blob.subarray(20), 3));
    c.sendBinary(frame(blob.subarray(20), 3));
    await c.waitFor('blockset.ack', (m) => m.ref === 4 && m.files[0]!.complete);
    c.send(chunk(5, 'manifest.json', 0, manifest, 4));
    c.sendBinary(frame(manifest, 4));
    const done = await c.waitFor('blockset.ack', (m) => m.ref === 5);
    expect(done.installed).toBe(true);
    const errors = c.received.filter((m) => 'type' in m && m.type === 'error');
    expect(errors.map((e) => (e as { code: string }).code)).toEqual(['blockset-offset-mismatch']);
    c.send({ type: 'device.info.get', id: 6 });
    const info = await c.waitFor('device.info', (m) => m.ref === 6);
    expect(info.device.blockSets).toEqual([
      {
        name: 'tiny',
        model: 'tiny',
        bytes: manifest.length + blob.length,
        manifestSha256: sha(manifest),
        complete: true,
      },
    ]);
    expect(store.installed.get('tiny')?.files.get('extra/blob.bin')).toEqual(blob);
  });
});
