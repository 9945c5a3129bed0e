// CompanionServer: handshake, access, pairing and auth, runs (the shared harness is in server-harness.ts).
import { describe, expect, it } from 'vitest';
import { RunFailure } from '../../../../shared/companion/server';
import { computeAuthProof } from '../../../../shared/protocol/auth';
import { decodeBinaryFrame } from '../../../../shared/protocol/binary-frame';
import { PROTOCOL_VERSION } from '../../../../shared/protocol/limits';
import { deviceInfo as sampleDeviceInfo } from '../../../../shared/protocol/samples';

import { device, hmac, Client, FakeRunner, setup, pairedClient, flush } from './server-harness';

describe('CompanionServer handshake and access', () => {
  it('welcomes a v1 client and sends a challenge', async () => {
    const { server } = await setup();
    const c = new Client(server);
    await c.hello();
    expect(c.types()).toEqual(['welcome', 'auth.challenge']);
    const w = await c.waitFor('welcome');
    expect(w.device.id).toBe('dev-1');
  });

  it('rejects too-new and too-old versions and closes with 4001', async () => {
    const { server } = await setup();
    const c = new Client(server);
    c.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION + 1,
      clientId: 'x',
      clientName: 'x',
      future: true,
    });
    const r = await c.waitFor('hello.reject');
    expect(r.reason).toBe('version-too-new');
    expect(c.closed?.code).toBe(4001);
    const c0 = new Client(server);
    c0.send({ type: 'hello', protocolVersion: 0, clientId: 'x', clientName: 'x' });
    expect((await c0.waitFor('hello.reject')).reason).toBe('version-too-old');
  });

  it('answers a request sent before hello with handshake-required carrying its ref', async () => {
    const { server } = await setup();
    const c = new Client(server);
    c.send({ type: 'device.info.get', id: 7 });
    expect(await c.waitFor('error')).toMatchObject({ code: 'handshake-required', ref: 7 });
    c.send({ type: 'runs.get', id: 8 });
    expect(await c.waitFor('error', (e) => e.ref === 8)).toMatchObject({ code: 'handshake-required' });
  });

  it('answers a request that hits an internal error with its ref, and keeps serving', async () => {
    let broken = false;
    const { server } = await setup({
      extra: {
        deviceInfo: () => {
          if (broken) throw new Error('probe failed');
          return device;
        },
      },
    });
    const c = new Client(server);
    broken = true;
    c.send({ type: 'hello', protocolVersion: 1, clientId: 'a', clientName: 'b' });
    expect(await c.waitFor('error')).toMatchObject({ code: 'internal', retryable: true });
    broken = false;
    await c.hello();
    broken = true;
    c.send({ type: 'device.info.get', id: 9 });
    expect(await c.waitFor('error', (e) => e.ref === 9)).toMatchObject({ code: 'internal' });
  });

  it('sends device info with runModel to a version-2 session and without it to a version-1 session', async () => {
    const runModel = sampleDeviceInfo.runModel!;
    const { server } = await setup({ extra: { deviceInfo: () => ({ ...device, runModel }) } });
    const v2 = new Client(server);
    await v2.hello(2);
    expect((await v2.waitFor('welcome')).device.runModel).toEqual(runModel);
    v2.send({ type: 'device.info.get', id: 1 });
    expect((await v2.waitFor('device.info')).device.runModel).toEqual(runModel);
    const v1 = new Client(server);
    await v1.hello(1);
    expect('runModel' in (await v1.waitFor('welcome')).device).toBe(false);
    v1.send({ type: 'device.info.get', id: 1 });
    expect(Object.keys((await v1.waitFor('device.info')).device)).toEqual(Object.keys(device));
  });

  it('requires hello first and refuses a second one', async () => {
    const { server } = await setup();
    const c = new Client(server);
    c.send({ type: 'ping', nonce: 1 });
    expect((await c.waitFor('error')).code).toBe('handshake-required');
    await c.hello();
    c.send({ type: 'hello', protocolVersion: 1, clientId: 'a', clientName: 'b' });
    expect((await c.waitFor('error', (e) => e.code === 'already-greeted')).retryable).toBe(false);
  });

  it('lets an unpaired client read device info and ping, and refuses runs', async () => {
    const { server } = await setup();
    const c = new Client(server);
    await c.hello();
    c.send({ type: 'device.info.get', id: 5 });
    expect((await c.waitFor('device.info')).ref).toBe(5);
    c.send({ type: 'ping', nonce: 42 });
    expect((await c.waitFor('pong')).nonce).toBe(42);
    c.send({ type: 'run.start', id: 6, params: { prompt: 'a', seed: 1 }, preview: null });
    const e = await c.waitFor('error');
    expect(e).toMatchObject({ code: 'unauthorized', ref: 6 });
    c.send({ type: 'runs.get', id: 7 });
    expect((await c.waitFor('error', (x) => x.ref === 7)).code).toBe('unauthorized');
  });
});

describe('CompanionServer pairing and auth', () => {
  it('pairs with the shown code and authenticates a later connection by challenge-response', async () => {
    const { server, code } = await setup();
    const c = await pairedClient(server, code);
    const key = c.key!;
    const c2 = new Client(server);
    await c2.hello();
    const challenge = await c2.waitFor('auth.challenge');
    const clientNonce = '0f'.repeat(16);
    const transcript = { deviceId: 'dev-1', keyId: key.keyId, deviceNonce: challenge.nonce, clientNonce };
    const mac = await computeAuthProof(hmac, key.key, 'client', transcript);
    c2.send({ type: 'auth.response', id: 3, keyId: key.keyId, clientNonce, mac });
    const ok = await c2.waitFor('auth.ok');
    expect(ok.deviceMac).toBe(await computeAuthProof(hmac, key.key, 'device', transcript));
    c2.send({ type: 'runs.get', id: 4 });
    expect((await c2.waitFor('runs')).ref).toBe(4);
  });

  it('refuses a wrong MAC, an unknown key, a wrong code, and locks after 5 wrong codes', async () => {
    const { server, code } = await setup();
    const c = await pairedClient(server, code);
    const c2 = new Client(server);
    await c2.hello();
    c2.send({
      type: 'auth.response',
      id: 1,
      keyId: c.key!.keyId,
      clientNonce: '00'.repeat(16),
      mac: 'ab'.repeat(32),
    });
    expect((await c2.waitFor('error')).code).toBe('auth-failed');
    c2.send({
      type: 'auth.response',
      id: 2,
      keyId: 'k-0000000000000000',
      clientNonce: '00'.repeat(16),
      mac: 'ab'.repeat(32),
    });
    expect((await c2.waitFor('error', (e) => e.ref === 2)).code).toBe('unknown-key');
    c2.send({ type: 'pair.request', id: 3, code: '123456' });
    expect((await c2.waitFor('error', (e) => e.ref === 3)).code).toBe('pairing-not-started');
    c2.send({ type: 'pair.start', id: 4 });
    await c2.waitFor('pair.pending');
    const wrong = code() === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) c2.send({ type: 'pair.request', id: 10 + i, code: wrong });
    expect((await c2.waitFor('error', (e) => e.ref === 10)).code).toBe('pairing-code-invalid');
    const locked = await c2.waitFor('error', (e) => e.ref === 14);
    expect(locked.code).toBe('pairing-locked');
    expect(locked.retryAfterMs).toBeGreaterThan(0);
    c2.send({ type: 'run.start', id: 20, params: { prompt: 'a', seed: 1 }, preview: null });
    expect((await c2.waitFor('error', (e) => e.ref === 20)).code).toBe('unauthorized');
  });
});

describe('CompanionServer runs', () => {
  it('queues runs FIFO, streams events and finishes with frames', async () => {
    const { server, code, runner } = await setup();
    runner.gated = true;
    const c = await pairedClient(server, code);
    c.send({ type: 'run.start', id: 10, params: { prompt: 'a cat', seed: 1, steps: 2 }, preview: null });
    c.send({ type: 'run.start', id: 11, params: { prompt: 'a dog', seed: 2, steps: 2 }, preview: null });
    const a = await c.waitFor('run.accepted', (m) => m.ref === 10);
    const b = await c.waitFor('run.accepted', (m) => m.ref === 11);
    expect(a.queuePosition).toBe(0);
    expect(b.queuePosition).toBe(1);
    c.send({ type: 'run.subscribe', id: 12, runId: a.runId, fromSeq: 1 });
    c.send({ type: 'run.subscribe', id: 13, runId: b.runId, fromSeq: 1 });
    await c.waitFor('run.subscribed', (m) => m.ref === 13);
    expect(server.activeRunId).toBe(a.runId);
    expect(server.queuedRunIds).toEqual([b.runId]);
    for (let i = 0; i < 10 && runner.started.length < 2; i++) {
      runner.release();
      await flush();
    }
    runner.gated = false;
    runner.release();
    await c.waitFor('run.event', (m) => m.runId === b.runId && m.event.type === 'run.finished');
    expect(runner.started).toEqual([a.runId, b.runId]);
    const evA = c.events(a.runId);
    expect(evA.map((e) => e.seq)).toEqual(evA.map((_, i) => i + 1));
    expect(evA[0]!.type).toBe('run.queued');
    expect(evA[1]!.type).toBe('run.started');
    expect(evA.at(-1)!.type).toBe('run.finished');
    c.send({ type: 'frames.get', id: 14, runId: a.runId, from: 1, count: 10, format: 'image-rgb8' });
    const f = await c.waitFor('frames');
    expect(f).toMatchObject({ count: 2, totalFrames: 3, width: 2, height: 2 });
    await flush();
    const bins = c.received.filter((m): m is { binary: Uint8Array } => 'binary' in m);
    const decoded = bins.map((b) => decodeBinaryFrame(b.binary));
    expect(decoded.map((d) => d.ok && d.frame.index)).toEqual([1, 2]);
    c.send({ type: 'frames.get', id: 15, runId: b.runId, from: 0, count: 1, format: 'png' });
    expect((await c.waitFor('frames', (m) => m.ref === 15)).count).toBe(1);
  });

  it('refuses invalid params with a path and keeps serving', async () => {
    const { server, code } = await setup();
    const c = await pairedClient(server, code);
    c.send({ type: 'run.start', id: 1, params: { prompt: 'a', seed: 1, steps: 99 }, preview: null });
    expect(await c.waitFor('error', (e) => e.ref === 1)).toMatchObject({
      code: 'invalid-params',
      path: 'params.steps',
    });
    c.send({
      type: 'run.start',
      id: 2,
      params: { prompt: 'a', seed: 1, lpl: { mode: 'bogus' } },
      preview: null,
    });
    expect(await c.waitFor('error', (e) => e.ref === 2)).toMatchObject({ code: 'bad-message' });
    c.send({ type: 'run.start', id: 3, params: { prompt: 'a', seed: 1 }, preview: null });
    await c.waitFor('run.accepted', (m) => m.ref === 3);
  });

  it('cancels a running run (freeing the engine) and a queued one', async () => {
    const { server, code, runner } = await setup();
    runner.gated = true;
    const c = await pairedClient(server, code);
    c.send({ type: 'run.start', id: 1, params: { prompt: 'a', seed: 1, steps: 5 }, preview: null });
    c.send({ type: 'run.start', id: 2, params: { prompt: 'b', seed: 1, steps: 5 }, preview: null });
    c.send({ type: 'run.start', id: 3, params: { prompt: 'c', seed: 1, steps: 1 }, preview: null });
    const r1 = (await c.waitFor('run.accepted', (m) => m.ref === 1)).runId;
    const r2 = (await c.waitFor('run.accepted', (m) => m.ref === 2)).runId;
    const r3 = (await c.waitFor('run.accepted', (m) => m.ref === 3)).runId;
    for (const r of [r1, r2, r3]) c.send({ type: 'run.subscribe', runId: r, fromSeq: 1 });
    c.send({ type: 'run.cancel', id: 4, runId: r2 });
    await c.waitFor('ack', (m) => m.ref === 4);
    c.send({ type: 'run.cancel', id: 5, runId: r1 });
    await c.waitFor('ack', (m) => m.ref === 5);
    runner.gated = false;
    runner.release();
    await c.waitFor('run.event', (m) => m.runId === r1 && m.event.type === 'run.cancelled');
    await c.waitFor('run.event', (m) => m.runId === r3 && m.event.type === 'run.finished');
    expect(c.events(r2).map((e) => e.type)).toEqual(['run.queued', 'run.cancelled']);
    expect(runner.started).toEqual([r1, r3]);
    c.send({ type: 'run.cancel', id: 6, runId: r1 });
    expect((await c.waitFor('error', (e) => e.ref === 6)).code).toBe('run-finished');
    c.send({ type: 'run.cancel', id: 7, runId: 'nope' });
    expect((await c.waitFor('error', (e) => e.ref === 7)).code).toBe('unknown-run');
  });

  it('ends a cancelled run whose engine is stuck at the cancel deadline, terminating the engine', async () => {
    const timer = (ms: number, fn: () => void): (() => void) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    };
    // Terminable: terminate() frees the stuck run, as killing the engine process does.
    const runner = new FakeRunner();
    let terminated = 0;
    const terminable = Object.assign(runner, {
      terminate: async (): Promise<void> => {
        terminated++;
        runner.gated = false;
        runner.release();
      },
    });
    const { server, code } = await setup({
      runner: terminable,
      extra: { schedule: timer, cancelDeadlineMs: 50 },
    });
    runner.gated = true;
    const c = await pairedClient(server, code);
    c.send({ type: 'run.start', id: 1, params: { prompt: 'a', seed: 1, steps: 5 }, preview: null });
    c.send({ type: 'run.start', id: 2, params: { prompt: 'b', seed: 1, steps: 1 }, preview: null });
    const r1 = (await c.waitFor('run.accepted', (m) => m.ref === 1)).runId;
    const r2 = (await c.waitFor('run.accepted', (m) => m.ref === 2)).runId;
    for (const r of [r1, r2]) c.send({ type: 'run.subscribe', runId: r, fromSeq: 1 });
    await c.waitFor('run.event', (m) => m.runId === r1 && m.event.type === 'run.started');
    const t0 = Date.now();
    c.send({ type: 'run.cancel', id: 3, runId: r1 });
    await c.waitFor('run.event', (m) => m.runId === r1 && m.event.type === 'run.cancelled');
    expect(Date.now() - t0).toBeLessThan(1000);
    // The next run gets the (fresh) engine and finishes; the cancelled log ends with its terminal event.
    await c.waitFor('run.event', (m) => m.runId === r2 && m.event.type === 'run.finished');
    expect(terminated).toBe(1);
    expect(
      c
        .events(r1)
        .map((e) => e.type)
        .at(-1),
    ).toBe('run.cancelled');
  });

  it('without a terminable engine, still ends the run at the deadline; the next run waits for the engine', async () => {
    const timer = (ms: number, fn: () => void): (() => void) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    };
    const { server, code, runner } = await setup({ extra: { schedule: timer, cancelDeadlineMs: 50 } });
    runner.gated = true;
    const c = await pairedClient(server, code);
    c.send({ type: 'run.start', id: 1, params: { prompt: 'a', seed: 1, steps: 5 }, preview: null });
    c.send({ type: 'run.start', id: 2, params: { prompt: 'b', seed: 1, steps: 1 }, preview: null });
    const r1 = (await c.waitFor('run.accepted', (m) => m.ref === 1)).runId;
    const r2 = (await c.waitFor('run.accepted', (m) => m.ref === 2)).runId;
    for (const r of [r1, r2]) c.send({ type: 'run.subscribe', runId: r, fromSeq: 1 });
    await c.waitFor('run.event', (m) => m.runId === r1 && m.event.type === 'run.started');
    c.send({ type: 'run.cancel', id: 3, runId: r1 });
    await c.waitFor('run.event', (m) => m.runId === r1 && m.event.type === 'run.cancelled');
    await flush();
    expect(runner.started).toEqual([r1]);
    runner.gated = false;
    runner.release();
    await c.waitFor('run.event', (m) => m.runId === r2 && m.event.type === 'run.finished');
    expect(c.events(r1).filter((e) => e.type === 'run.cancelled')).toHaveLength(1);
  });

  it('reports an engine failure as run.failed', async () => {
    const { server, code, runner } = await setup();
    runner.failWith = new RunFailure('invalid-params', 'lpl.leapStep must be < steps', 'lpl.leapStep');
    const c = await pairedClient(server, code);
    c.send({ type: 'run.start', id: 1, params: { prompt: 'a', seed: 1, steps: 1 }, preview: null });
    const runId = (await c.waitFor('run.accepted')).runId;
    c.send({ type: 'run.subscribe', runId, fromSeq: 1 });
    const ev = await c.waitFor('run.event', (m) => m.event.type === 'run.failed');
    expect(ev.event).toMatchObject({ code: 'invalid-params', field: 'lpl.leapStep' });
  });
});
