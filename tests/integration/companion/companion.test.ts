// The studio-side client (src-main/devices) against the REAL companion process (`odsora companion`, built CLI)
// over real loopback sockets and real mDNS on loopback, running the real engine (ONNX Runtime) on the fixture
// model: discovery, version rejects, unpaired refusal, pairing, a run streamed gaplessly with previews, a client
// drop and resume, two mirrors, cancel freeing the engine, frames, and an impostor device detected.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { CompanionError } from '../../../src-main/devices/companion-client';
import {
  CompanionClient,
  DeviceError,
  DeviceProofError,
  MemoryKeyStore,
  VersionRejectedError,
  type SeqEvent,
} from '../../../src-main/devices/companion-client';
import { DeviceBrowser } from '../../../src-main/devices/discovery';
import { bytesToHex } from '../../../shared/protocol/auth';
import { PROTOCOL_VERSION } from '../../../shared/protocol/limits';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import {
  expectGaplessLog,
  nanoParams,
  orDeath,
  PREVIEW_EVERY_STEP,
  record,
  until,
  expectWireVersionReject,
  type Recorded,
} from './run-helpers';
import { v2BlockComputeEndSchema } from '../../helpers/protocol-v2';

const HOST = '127.0.0.1';
let proc: CompanionProcess;
const keys = new MemoryKeyStore();
let paired: CompanionClient;
const clients: CompanionClient[] = [];

function newClient(opts: ConstructorParameters<typeof CompanionClient>[0] = {}): CompanionClient {
  const c = new CompanionClient({
    keyStore: keys,
    // One studio: the keys in `keys` are bound to the clientId they were paired under.
    clientId: 'vitest-studio',
    clientName: 'vitest studio',
    requestTimeoutMs: 30_000,
    ...opts,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  proc = await startCompanion({ name: 'Test iPhone' });
  // Pair first thing: the start-up code expires after 120 s.
  paired = newClient();
  const r = await paired.connect(HOST, proc.port);
  expect(r.authenticated).toBe(false);
  const code = proc.ready.pairingCode ?? proc.latestPairingCode();
  expect(code, 'the host printed a pairing code').toMatch(/^[0-9]{6}$/);
  const rec = await paired.pair(code!);
  expect(rec.deviceId).toBe(proc.ready.id);
  expect(rec.key).toMatch(/^[0-9a-f]{64}$/);
});

afterAll(async () => {
  if (!proc.alive()) console.error(`companion died; stderr tail:\n${proc.stderr().slice(-4000)}`);
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await stopCompanion(proc);
});

describe('companion over loopback', () => {
  it('is discovered over mDNS with a correct TXT record', async () => {
    const browser = new DeviceBrowser({ mdns: { interface: '127.0.0.1', bind: '0.0.0.0' } });
    try {
      const found = await browser.waitFor((d) => d.id === proc.ready.id, 20_000);
      const info = paired.device!;
      expect(found).toMatchObject({
        id: info.id,
        name: info.name,
        model: info.model,
        role: info.role,
        protocolVersion: PROTOCOL_VERSION,
        engineVersion: info.engineVersion,
        port: proc.port,
      });
      expect(found.name).toBe('Test iPhone');
      expect(found.model).toBe('iphone-15-pro');
      expect(browser.ignoredAnnouncements.filter((i) => i.serviceName === found.serviceName)).toEqual([]);
      // The advertised address is not loopback (machine notes): connect to 127.0.0.1 by the port found.
      const c = newClient();
      const r = await c.connect(HOST, found.port);
      expect(r.device.id).toBe(found.id);
      await c.close();
    } finally {
      await browser.stop();
    }
  });

  it('refuses a too-old and a too-new protocol version clearly', async () => {
    for (const [version, reason] of [
      [0, 'version-too-old'],
      [PROTOCOL_VERSION + 1, 'version-too-new'],
    ] as const) {
      const c = newClient({ protocolVersion: version });
      const error = await c.connect(HOST, proc.port).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(VersionRejectedError);
      const v = error as VersionRejectedError;
      expect(v.code).toBe(reason);
      expect(v.clientVersion).toBe(version);
      expect(v.deviceVersion).toBe(PROTOCOL_VERSION);
      expect(v.minVersion).toBe(1);
      expect(v.message).toMatch(reason === 'version-too-old' ? /update the studio/ : /update the device/);
    }
    await expectWireVersionReject(HOST, proc.port);
  });

  it('refuses an unpaired client (typed error) but lets it read device info', async () => {
    const c = newClient({ keyStore: new MemoryKeyStore() });
    const r = await c.connect(HOST, proc.port);
    expect(r.authenticated).toBe(false);
    const info = await c.deviceInfo();
    expect(info.id).toBe(proc.ready.id);
    expect(info.simulated).toBe(true);
    expect(info.memory.limitBytes).not.toBeNull();
    const refused = await c.startRun(nanoParams(2)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DeviceError);
    expect((refused as DeviceError).code).toBe('unauthorized');
    await expect(c.runs()).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(c.subscribe('r-000000000000', 1, () => undefined)).rejects.toMatchObject({
      code: 'unauthorized',
    });
    // A wrong code is a typed refusal (one try: far below the lockout).
    const code = proc.latestPairingCode();
    const wrong = code === '000000' ? '000001' : '000000';
    await expect(c.pair(wrong)).rejects.toBeInstanceOf(DeviceError);
    expect(c.authenticated).toBe(false);
    await expect(c.authenticate()).rejects.toMatchObject({ code: 'not-paired' });
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });

  it('pairs once, authenticates later connections by challenge-response, runs a nano job gaplessly with previews', async () => {
    const c = newClient();
    const r = await c.connect(HOST, proc.port);
    expect(r.authenticated).toBe(true); // the stored key from beforeAll
    const steps = 3;
    const { runId, queuePosition } = await c.startRun(nanoParams(steps), {
      preview: PREVIEW_EVERY_STEP,
      label: 'nano',
    });
    expect(queuePosition).toBeGreaterThanOrEqual(0);
    const rec = await record(c, runId, 1);
    const done = await orDeath(rec.sub.done, proc);
    expect(done.event.type).toBe('run.finished');
    expectGaplessLog(rec.events);
    const types = rec.events.map((e) => e.event.type);
    expect(types).toContain('run.started');
    expect(types.filter((t) => t === 'step.end')).toHaveLength(steps);
    const previewEvents = rec.events.filter((e) => e.event.type === 'preview.ready');
    expect(previewEvents.length).toBeGreaterThanOrEqual(1);
    for (const pe of previewEvents) {
      const ev = pe.event as Extract<SeqEvent['event'], { type: 'preview.ready' }>;
      const frames = rec.previews.filter((p) => p.seq === pe.seq);
      expect(frames.map((p) => p.index)).toEqual([...Array(ev.frames).keys()]);
      for (const p of frames) {
        expect(p.frame.dims).toEqual([ev.height, ev.width, 3]);
        expect(Math.max(ev.width, ev.height)).toBeLessThanOrEqual(32);
      }
    }
    // Final frames over binary frames.
    const fin = done.event as Extract<SeqEvent['event'], { type: 'run.finished' }>;
    const got = await c.getFrames(runId, 0, 2, 'image-rgb8');
    expect(got.info.totalFrames).toBe(fin.frames);
    expect(got.frames.map((f) => f.index)).toEqual([0, 1]);
    expect(got.frames[0]!.payload.length).toBe(fin.width * fin.height * 3);
    const runs = await c.runs();
    expect(runs.find((x) => x.runId === runId)).toMatchObject({
      state: 'finished',
      headSeq: rec.events.length,
    });
  });

  it('sends where each block ran to a version-3 studio, and a version-2 studio events its strict schema accepts', async () => {
    const v3 = newClient();
    const violations: string[] = [];
    const v2 = newClient({ protocolVersion: 2, onProtocolViolation: (why) => violations.push(why) });
    expect((await v3.connect(HOST, proc.port)).protocolVersion).toBe(3);
    expect((await v2.connect(HOST, proc.port)).protocolVersion).toBe(2);
    const { runId } = await v3.startRun(nanoParams(2, 5));
    const live2 = await record(v2, runId, 1);
    expect((await orDeath(live2.sub.done, proc)).event.type).toBe('run.finished');
    // A replay of the stored log goes through the same per-version filter.
    const replay3 = await record(v3, runId, 1);
    await orDeath(replay3.sub.done, proc);
    const ends = (r: Recorded) =>
      r.events.flatMap((e) => (e.event.type === 'block.compute.end' ? [e.event] : []));
    const placed = ends(replay3);
    expect(placed.length).toBeGreaterThan(0);
    expect(placed.map((e) => e.block)).toEqual(ends(live2).map((e) => e.block));
    // The companion runs ONNX Runtime on the CPU: every block that ran a session says `cpu`; the T5 embedding
    // lookup runs no session and says nothing.
    for (const e of placed)
      expect([e.block, e.placement]).toEqual([e.block, e.block === 'text/embed' ? undefined : 'cpu']);
    expect(placed.some((e) => e.block.startsWith('denoiser/') && e.placement === 'cpu')).toBe(true);
    for (const e of ends(live2)) {
      expect(e).not.toHaveProperty('placement');
      expect(v2BlockComputeEndSchema.safeParse(e).success).toBe(true);
    }
    expect(violations).toEqual([]);
  });

  it('resumes after the client drops mid-run: no event lost or duplicated', async () => {
    const c = newClient({ reconnectDelayMs: { initial: 50, max: 500 } });
    await c.connect(HOST, proc.port);
    const { runId } = await c.startRun(nanoParams(6, 11), { preview: PREVIEW_EVERY_STEP });
    let dropped = false;
    const statuses: string[] = [];
    const events: SeqEvent[] = [];
    const sub = await c.subscribe(
      runId,
      1,
      (e) => {
        events.push(e);
        if (!dropped && e.event.type === 'step.end') {
          dropped = true;
          c.simulateNetworkDrop();
        }
      },
      { onStatus: (s) => statuses.push(s) },
    );
    const done = await orDeath(sub.done, proc);
    expect(dropped).toBe(true);
    expect(statuses).toContain('disconnected');
    expect(sub.subscribeCount).toBeGreaterThanOrEqual(2);
    expect(c.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(done.event.type).toBe('run.finished');
    expectGaplessLog(events);
    // The device's log, read afresh, is exactly what the dropped client assembled.
    const fresh = newClient();
    await fresh.connect(HOST, proc.port);
    const all = await record(fresh, runId, 1);
    await all.sub.done;
    expect(all.events).toEqual(events);
  });

  it('streams the same events to two subscribers (mirrors)', async () => {
    const a = newClient();
    const b = newClient();
    await a.connect(HOST, proc.port);
    await b.connect(HOST, proc.port);
    const { runId } = await a.startRun(nanoParams(3, 5), { preview: PREVIEW_EVERY_STEP });
    const ra = await record(a, runId, 1);
    const rb = await record(b, runId, 1);
    await orDeath(Promise.all([ra.sub.done, rb.sub.done]), proc);
    expectGaplessLog(ra.events);
    expect(rb.events).toEqual(ra.events);
    // Live previews reach both mirrors.
    expect(rb.previews.map((p) => [p.seq, p.index])).toEqual(ra.previews.map((p) => [p.seq, p.index]));
  });

  it('cancel frees the engine: a queued second run starts and finishes', async () => {
    const c = newClient();
    await c.connect(HOST, proc.port);
    const first = await c.startRun(nanoParams(400, 1));
    const second = await c.startRun(nanoParams(2, 2));
    expect(second.queuePosition).toBeGreaterThanOrEqual(1);
    let stepsSeen = 0;
    const r1 = await record(c, first.runId, 1, (e) => {
      if (e.event.type === 'step.start') stepsSeen++;
    });
    const mirror = newClient();
    await mirror.connect(HOST, proc.port);
    const r2 = await record(mirror, second.runId, 1);
    await orDeath(
      until(() => stepsSeen >= 1, 60_000, 'the first run to start denoising'),
      proc,
    );
    await c.cancel(first.runId);
    const end1 = await orDeath(r1.sub.done, proc);
    expect(end1.event).toMatchObject({ type: 'run.cancelled', byClientId: c.clientId });
    expectGaplessLog(r1.events);
    expect(stepsSeen).toBeLessThan(400);
    const end2 = await orDeath(r2.sub.done, proc);
    expect(end2.event.type).toBe('run.finished');
    expect(r2.events.map((e) => e.event.type)).toContain('run.started');
    // Cancelling an ended run is a typed refusal.
    await expect(c.cancel(first.runId)).rejects.toMatchObject({ code: 'run-finished' });
    await expect(c.cancel('r-nosuchrun')).rejects.toMatchObject({ code: 'unknown-run' });
  });

  it('detects an impostor device that cannot prove the pairing key', async () => {
    // A look-alike device: same id as a paired device, but it does not hold the key.
    const wss = new WebSocketServer({ host: HOST, port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; id?: number; keyId?: string };
        if (m.type === 'hello') {
          ws.send(
            JSON.stringify({
              type: 'welcome',
              protocolVersion: 1,
              sessionId: 's-fake',
              device: paired.device,
            }),
          );
          ws.send(JSON.stringify({ type: 'auth.challenge', nonce: bytesToHex(randomBytes(16)) }));
        } else if (m.type === 'auth.response') {
          ws.send(
            JSON.stringify({
              type: 'auth.ok',
              ref: m.id,
              keyId: m.keyId,
              deviceMac: bytesToHex(randomBytes(32)),
            }),
          );
        }
      });
    });
    try {
      const c = newClient();
      const error = await c.connect(HOST, port).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DeviceProofError);
      expect((error as CompanionError).code).toBe('device-proof-invalid');
      expect(c.authenticated).toBe(false);
    } finally {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((r) => wss.close(r));
    }
  });
});
