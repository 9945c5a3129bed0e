import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CompanionServer,
  RunFailure,
  type CompanionServerOptions,
  type Connection,
  type EngineJob,
  type EngineRunResult,
  type EngineRunner,
  type RunStore,
  type StoredRunMeta,
} from '../../../../shared/companion/server';
import { MemoryModelStore } from '../../../../shared/companion/model-sync';
import type { PairedKeyRecord, PairingStore } from '../../../../shared/companion/pairing';
import { computeAuthProof, type HmacSha256 } from '../../../../shared/protocol/auth';
import { decodeBinaryFrame, encodeBinaryFrame } from '../../../../shared/protocol/binary-frame';
import type { DeviceInfo } from '../../../../shared/protocol/device';
import { decodeDeviceText, type DeviceMessage } from '../../../../shared/protocol/index';

const hmac: HmacSha256 = async (key, message) => createHmac('sha256', key).update(message).digest();

const device: DeviceInfo = {
  id: 'dev-1',
  name: 'Test device',
  model: 'iphone-15-pro',
  role: 'target',
  simulated: true,
  platform: 'node',
  engineVersion: '0.1.0',
  protocol: { min: 1, max: 1 },
  memory: { limitBytes: null, availableBytes: null },
  thermalState: null,
  backends: [],
  blockSets: [],
};

class MemoryRunStore implements RunStore {
  readonly lines = new Map<string, string[]>();
  readonly metas: StoredRunMeta[] = [];
  async appendLines(runId: string, lines: readonly string[]): Promise<void> {
    this.lines.set(runId, [...(this.lines.get(runId) ?? []), ...lines]);
  }
  async readAll(runId: string): Promise<string[]> {
    return [...(this.lines.get(runId) ?? [])];
  }
  async listRuns(): Promise<StoredRunMeta[]> {
    return [...this.metas];
  }
  async saveRun(meta: StoredRunMeta): Promise<void> {
    this.metas.push(meta);
  }
}

class MemoryPairingStore implements PairingStore {
  readonly records = new Map<string, PairedKeyRecord>();
  async list(): Promise<PairedKeyRecord[]> {
    return [...this.records.values()];
  }
  async put(r: PairedKeyRecord): Promise<void> {
    this.records.set(r.keyId, r);
  }
  async remove(keyId: string): Promise<void> {
    this.records.delete(keyId);
  }
}

/** A fake engine: `steps` steps, each waiting for `release()` when gated; previews every N steps. */
class FakeRunner implements EngineRunner {
  readonly started: string[] = [];
  private gates: (() => void)[] = [];
  gated = false;
  failWith: Error | null = null;

  release(): void {
    for (const g of this.gates.splice(0)) g();
  }

  validate(params: { steps?: number }): { ok: true } | { ok: false; field: string; message: string } {
    return params.steps !== undefined && params.steps > 50
      ? { ok: false, field: 'steps', message: 'too many steps for the fake' }
      : { ok: true };
  }

  async run(job: EngineJob): Promise<EngineRunResult> {
    this.started.push(job.runId);
    const steps = job.params.steps ?? 3;
    job.emit({ type: 'stage.start', atMs: 0, stage: 'denoise' });
    for (let step = 0; step < steps; step++) {
      if (this.gated) await new Promise<void>((r) => this.gates.push(r));
      if (job.signal.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      job.emit({ type: 'step.start', atMs: step, step, t: 1000 - step, merged: false });
      job.emit({
        type: 'step.end',
        atMs: step,
        step,
        t: 1000 - step,
        latencyMs: 1,
        cosine: null,
        merged: false,
        leapt: false,
      });
      if (job.preview && (step + 1) % job.preview.everySteps === 0)
        job.emitPreview(step, {
          width: 2,
          height: 2,
          format: 'image-rgb8',
          frames: [new Uint8Array(12).fill(step), new Uint8Array(12)],
        });
    }
    if (this.failWith) throw this.failWith;
    return {
      width: 2,
      height: 2,
      fps: 24,
      stepsRun: steps,
      frames: [new Uint8Array(12).fill(1), new Uint8Array(12).fill(2), new Uint8Array(12).fill(3)],
      timings: { loadMs: 0, textMs: 0, denoiseMs: 0, decodeMs: 0, totalMs: 0 },
    };
  }
}

/** The client end of an in-memory connection. */
class Client {
  readonly received: (DeviceMessage | { binary: Uint8Array })[] = [];
  closed: { code: number; reason: string } | null = null;
  private messageHandler: (d: string | Uint8Array) => void = () => undefined;
  private closeHandler: () => void = () => undefined;
  private waiters: (() => void)[] = [];
  key: { keyId: string; key: string } | null = null;

  constructor(server: CompanionServer) {
    const conn: Connection = {
      sendText: (text) => {
        const parsed = decodeDeviceText(text);
        if (!parsed.ok) throw new Error(`device sent an invalid message: ${text}`);
        this.received.push(parsed.message);
        this.wake();
      },
      sendBinary: (data) => {
        this.received.push({ binary: data.slice() });
        this.wake();
      },
      close: (code, reason) => {
        this.closed = { code, reason };
        this.wake();
      },
      onMessage: (h) => {
        this.messageHandler = h;
      },
      onClose: (h) => {
        this.closeHandler = h;
      },
    };
    server.accept(conn);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(message: unknown): void {
    this.messageHandler(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendBinary(data: Uint8Array): void {
    this.messageHandler(data);
  }

  disconnect(): void {
    this.closeHandler();
  }

  /** Waits until a message matching `pred` has arrived (at or after index `from`); returns it. */
  async waitFor<T extends DeviceMessage['type']>(
    type: T,
    pred: (m: Extract<DeviceMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<Extract<DeviceMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find(
        (m): m is Extract<DeviceMessage, { type: T }> =>
          'type' in m && m.type === type && pred(m as Extract<DeviceMessage, { type: T }>),
      );
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${type}; got ${JSON.stringify(this.types())}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  types(): string[] {
    return this.received.map((m) => ('type' in m ? m.type : 'binary'));
  }

  events(runId: string): { seq: number; type: string }[] {
    return this.received.flatMap((m) =>
      'type' in m && m.type === 'run.event' && m.runId === runId ? [{ seq: m.seq, type: m.event.type }] : [],
    );
  }

  async hello(version = 1): Promise<void> {
    this.send({ type: 'hello', protocolVersion: version, clientId: 'studio-1', clientName: 'Studio' });
    await this.waitFor('auth.challenge');
  }

  async pair(server: CompanionServer, codeOf: () => string): Promise<void> {
    this.send({ type: 'pair.start', id: 1 });
    await this.waitFor('pair.pending');
    void server;
    this.send({ type: 'pair.request', id: 2, code: codeOf() });
    const ok = await this.waitFor('pair.ok');
    this.key = { keyId: ok.keyId, key: ok.key };
  }
}

async function setup(
  opts: {
    runStore?: MemoryRunStore;
    runner?: FakeRunner;
    pairingStore?: MemoryPairingStore;
    extra?: Partial<CompanionServerOptions>;
  } = {},
): Promise<{
  server: CompanionServer;
  runner: FakeRunner;
  code: () => string;
  runStore: MemoryRunStore;
  pairingStore: MemoryPairingStore;
}> {
  const runner = opts.runner ?? new FakeRunner();
  const runStore = opts.runStore ?? new MemoryRunStore();
  const pairingStore = opts.pairingStore ?? new MemoryPairingStore();
  let shown = '';
  let t = 0;
  const server = await CompanionServer.create({
    deviceInfo: () => device,
    runner,
    clock: { nowMs: () => (t += 1) },
    random: (n) => new Uint8Array(randomBytes(n)),
    hmac,
    runStore,
    pairingStore,
    onPairingCode: (code) => {
      shown = code;
    },
    encodePng: () => Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    ...opts.extra,
  });
  return { server, runner, code: () => shown, runStore, pairingStore };
}

async function pairedClient(server: CompanionServer, code: () => string): Promise<Client> {
  const c = new Client(server);
  await c.hello();
  await c.pair(server, code);
  return c;
}

const flush = () => new Promise((r) => setTimeout(r, 10));

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
    c.send({ type: 'hello', protocolVersion: 2, clientId: 'x', clientName: 'x', future: true });
    const r = await c.waitFor('hello.reject');
    expect(r.reason).toBe('version-too-new');
    expect(c.closed?.code).toBe(4001);
    const c0 = new Client(server);
    c0.send({ type: 'hello', protocolVersion: 0, clientId: 'x', clientName: 'x' });
    expect((await c0.waitFor('hello.reject')).reason).toBe('version-too-old');
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
