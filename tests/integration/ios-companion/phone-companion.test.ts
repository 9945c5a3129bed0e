// The app's companion (ios-companion/src/host/phone-companion.ts) wired with its RN transport adapter — the
// WebSocket codec on a TCP listener, given Node's `net` in place of react-native-tcp-socket — and its stores on
// react-native-fs's API, serving the real studio-side client over loopback: the same pairing, run, reconnect,
// mirror and cancel behaviour as the Node host (tests/integration/companion/companion.test.ts), plus model sync
// into the phone's store, forgetting a studio, and a restart of the phone.
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhoneCompanion } from '../../../ios-companion/src/host/phone-companion';
import { discoveryTxtRecord } from '../../../shared/protocol/discovery';
import { PROTOCOL_VERSION } from '../../../shared/protocol/limits';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { convertModelDir } from '../../../src-main/convert/model-dir';
import {
  CompanionClient,
  DeviceError,
  MemoryKeyStore,
  VersionRejectedError,
  type SeqEvent,
} from '../../../src-main/devices/companion-client';
import { deviceFromService } from '../../../src-main/devices/discovery';
import { FIXTURE_SAMPLING, fixtureModelDir } from '../../helpers/fixture-model-dir';
import {
  expectGaplessLog,
  nanoParams,
  PREVIEW_EVERY_STEP,
  record,
  until,
  expectWireVersionReject,
} from '../companion/run-helpers';
import { phoneDirs, published, startPhone, type PhoneDirs } from './phone-host';
import { emptyRunView, foldEvent } from '../../../shared/report/run-fold';
import { placementSummary } from '../../../shared/report/placement';

const HOST = '127.0.0.1';
const temps: string[] = [];
const keys = new MemoryKeyStore();
const clients: CompanionClient[] = [];
let dirs: PhoneDirs;
let phone: PhoneCompanion;
let paired: CompanionClient;
let setDir: string;

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

function code(): string {
  const c = phone.store.get().pairingCode?.code;
  if (!c) throw new Error('the phone shows no pairing code');
  return c;
}

beforeAll(async () => {
  const src = fixtureModelDir();
  temps.push(src);
  const out = mkdtempSync(join(tmpdir(), 'odsora-phone-set-'));
  temps.push(out);
  setDir = join(out, 'fixture-set');
  await convertModelDir({
    fs: new NodeFileSystem(),
    sha256: nodeSha256,
    modelDir: src,
    outDir: setDir,
    name: 'fixture-nano',
  });
  dirs = phoneDirs();
  temps.push(dirname(dirname(dirs.dataDir)));
  phone = await startPhone(dirs);
  paired = newClient();
  const r = await paired.connect(HOST, phone.port);
  expect(r.authenticated).toBe(false);
  expect(code()).toMatch(/^[0-9]{6}$/);
  await paired.pair(code());
  // The phone starts with no model: the studio pushes one (model sync into the react-native-fs store).
  const pushed = await paired.pushBlockSet(setDir, { name: 'fixture-nano', chunkBytes: 64 * 1024 });
  expect(pushed.sentBytes).toBe(pushed.totalBytes);
  await until(() => phone.store.get().models.some((m) => m.active), 30_000, 'the pushed model to open');
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await phone?.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('the phone companion over its own WebSocket server', () => {
  it('lists the pushed model with its hash and says where ONNX Runtime placed the graphs', async () => {
    const info = await paired.deviceInfo();
    expect(info).toMatchObject({
      model: 'iPhone16,1',
      role: 'target',
      simulated: false,
      thermalState: 'nominal',
    });
    const listed = info.blockSets.find((b) => b.name === 'fixture-nano');
    expect(listed).toMatchObject({ model: 'fixture-nano', complete: true });
    // Runs use the pushed model: a client learns what absent params become on it (the fixture's sampling config).
    expect(info.runModel).toEqual({
      blockSet: 'fixture-nano',
      defaults: {
        steps: FIXTURE_SAMPLING.num_sampling_steps,
        cfgScale: FIXTURE_SAMPLING.cfg_scale,
        numFrames: FIXTURE_SAMPLING.num_frames,
        heightPx: FIXTURE_SAMPLING.height,
        widthPx: FIXTURE_SAMPLING.width,
        fps: FIXTURE_SAMPLING.fps,
        promptStyle: 'python',
        aestheticScore: 6.5,
        timesteps: {
          discrete: FIXTURE_SAMPLING.use_discrete_timesteps,
          transform: FIXTURE_SAMPLING.use_timestep_transform,
          ratioTime: 'python',
        },
      },
      spatialFactor: 8,
    });
    expect(listed!.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    const models = phone.store.get().models;
    expect(models).toEqual([
      expect.objectContaining({ name: 'fixture-nano', active: true, bytes: listed!.bytes }),
    ]);
    // Bonjour: the advertiser got the TXT record the studio's browser accepts.
    const ad = published.at(-1)!;
    expect(ad.port).toBe(phone.port);
    const seen = deviceFromService({
      name: 'x',
      host: 'iphone.local',
      port: ad.port,
      addresses: [],
      txt: discoveryTxtRecord(ad.info),
    });
    expect(seen).toMatchObject({
      ok: true,
      device: { id: info.id, name: 'Test iPhone', protocolVersion: PROTOCOL_VERSION },
    });
  });

  it('refuses a too-old and a too-new protocol version clearly, then closes with 4001', async () => {
    for (const [version, reason] of [
      [0, 'version-too-old'],
      [PROTOCOL_VERSION + 1, 'version-too-new'],
    ] as const) {
      const c = newClient({ protocolVersion: version });
      const error = await c.connect(HOST, phone.port).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(VersionRejectedError);
      expect((error as VersionRejectedError).code).toBe(reason);
    }
    await expectWireVersionReject(HOST, phone.port);
  });

  it('refuses an unpaired client (typed error) but lets it read device info; a wrong code is refused', async () => {
    const c = newClient({ keyStore: new MemoryKeyStore() });
    const r = await c.connect(HOST, phone.port);
    expect(r.authenticated).toBe(false);
    expect((await c.deviceInfo()).id).toBe(phone.store.get().id);
    const refused = await c.startRun(nanoParams(2)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DeviceError);
    expect((refused as DeviceError).code).toBe('unauthorized');
    await expect(c.runs()).rejects.toMatchObject({ code: 'unauthorized' });
    phone.newPairingCode();
    const shown = code();
    await expect(c.pair(shown === '000000' ? '000001' : '000000')).rejects.toBeInstanceOf(DeviceError);
    expect(c.authenticated).toBe(false);
    await expect(c.authenticate()).rejects.toMatchObject({ code: 'not-paired' });
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });

  it('authenticates a later connection by challenge-response and runs a nano job gaplessly with previews', async () => {
    const c = newClient();
    expect((await c.connect(HOST, phone.port)).authenticated).toBe(true);
    const steps = 3;
    const { runId } = await c.startRun(nanoParams(steps), { preview: PREVIEW_EVERY_STEP, label: 'nano' });
    const rec = await record(c, runId, 1);
    const done = await rec.sub.done;
    expect(done.event.type).toBe('run.finished');
    expectGaplessLog(rec.events);
    const types = rec.events.map((e) => e.event.type);
    expect(types.filter((t) => t === 'step.end')).toHaveLength(steps);
    const previewEvents = rec.events.filter((e) => e.event.type === 'preview.ready');
    expect(previewEvents.length).toBeGreaterThanOrEqual(1);
    for (const pe of previewEvents) {
      const ev = pe.event as Extract<SeqEvent['event'], { type: 'preview.ready' }>;
      const frames = rec.previews.filter((p) => p.seq === pe.seq);
      expect(frames.map((p) => p.index)).toEqual([...Array(ev.frames).keys()]);
      for (const p of frames) expect(p.frame.dims).toEqual([ev.height, ev.width, 3]);
    }
    const fin = done.event as Extract<SeqEvent['event'], { type: 'run.finished' }>;
    // The native probe's ProcessInfo.thermalState (the fake says nominal) at the run's start and end.
    expect(rec.events.find((e) => e.event.type === 'run.started')?.event).toMatchObject({
      thermal: 'nominal',
    });
    expect(fin.thermal).toBe('nominal');
    const got = await c.getFrames(runId, 0, 2, 'image-rgb8');
    expect(got.info.totalFrames).toBe(fin.frames);
    expect(got.frames[0]!.payload.length).toBe(fin.width * fin.height * 3);
    expect((await c.runs()).find((x) => x.runId === runId)).toMatchObject({
      state: 'finished',
      headSeq: rec.events.length,
    });
    // The run screen mirrored it from the same events.
    const view = phone.store.get().run!;
    expect(view).toMatchObject({ runId, status: 'finished', stepsDone: steps, stepsRequested: steps });
    expect(view.peakResidentBytes).toBeGreaterThan(0);
    expect(view.preview).not.toBeNull();
    expect(view.preview!.rgb.length).toBe(view.preview!.width * view.preview!.height * 3);
    // Its thermal line shows the readings run.started and run.finished carry; its placement line the blocks
    // each block.compute.end placed (the studio's count over the same events).
    expect(view.thermal).toEqual({ start: 'nominal', end: 'nominal' });
    const fold = emptyRunView();
    for (const e of rec.events) foldEvent(fold, e.seq, e.event);
    expect(view.placements).not.toBe('');
    expect(view.placements).toBe(placementSummary(fold.lanes));
    // Device info names the execution providers the sessions were created with (onnxruntime-node accepts the
    // Core ML request on Linux and runs on CPU; on the phone the same string says Core ML took the graphs).
    const info = await c.deviceInfo();
    expect(info.backends).toEqual(['onnxruntime-node (test) (coreml+cpu)']);
  });

  it('resumes after the client drops mid-run: no event lost or duplicated', async () => {
    const c = newClient({ reconnectDelayMs: { initial: 50, max: 500 } });
    await c.connect(HOST, phone.port);
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
    const done = await sub.done;
    expect(dropped).toBe(true);
    expect(statuses).toContain('disconnected');
    expect(sub.subscribeCount).toBeGreaterThanOrEqual(2);
    expect(done.event.type).toBe('run.finished');
    expectGaplessLog(events);
    const fresh = newClient();
    await fresh.connect(HOST, phone.port);
    const all = await record(fresh, runId, 1);
    await all.sub.done;
    expect(all.events).toEqual(events);
  });

  it('streams the same events and previews to two subscribers (mirrors)', async () => {
    const a = newClient();
    const b = newClient();
    await a.connect(HOST, phone.port);
    await b.connect(HOST, phone.port);
    const { runId } = await a.startRun(nanoParams(3, 5), { preview: PREVIEW_EVERY_STEP });
    const ra = await record(a, runId, 1);
    const rb = await record(b, runId, 1);
    await Promise.all([ra.sub.done, rb.sub.done]);
    expectGaplessLog(ra.events);
    expect(rb.events).toEqual(ra.events);
    expect(rb.previews.map((p) => [p.seq, p.index])).toEqual(ra.previews.map((p) => [p.seq, p.index]));
  });

  it('cancel frees the engine: a queued second run starts and finishes', async () => {
    const c = newClient();
    await c.connect(HOST, phone.port);
    const first = await c.startRun(nanoParams(400, 1));
    const second = await c.startRun(nanoParams(2, 2));
    expect(second.queuePosition).toBeGreaterThanOrEqual(1);
    let stepsSeen = 0;
    const r1 = await record(c, first.runId, 1, (e) => {
      if (e.event.type === 'step.start') stepsSeen++;
    });
    const r2 = await record(c, second.runId, 1);
    await until(() => stepsSeen >= 1, 60_000, 'the first run to start denoising');
    await c.cancel(first.runId);
    const end1 = await r1.sub.done;
    expect(end1.event).toMatchObject({ type: 'run.cancelled', byClientId: c.clientId });
    expectGaplessLog(r1.events);
    expect(stepsSeen).toBeLessThan(400);
    expect((await r2.sub.done).event.type).toBe('run.finished');
    await expect(c.cancel(first.runId)).rejects.toMatchObject({ code: 'run-finished' });
  });

  it('applies settings: a new name is advertised again, Core ML off runs on CPU, the default budget reaches the run', async () => {
    const before = published.length;
    await phone.updateSettings({
      deviceName: 'Lab iPhone',
      coreml: false,
      defaultBudget: { kind: 'fraction', of: 0.5 },
    });
    await until(() => published.length > before, 5000, 'the new advertisement');
    expect(published[before - 1]!.stopped).toBe(true);
    expect(published.at(-1)!.info.name).toBe('Lab iPhone');
    const c = newClient();
    await c.connect(HOST, phone.port);
    const { runId } = await c.startRun(nanoParams(2, 9));
    const rec = await record(c, runId, 1);
    expect((await rec.sub.done).event.type).toBe('run.finished');
    const plan = rec.events.find((e) => e.event.type === 'plan' && e.event.stage === 'denoise')!
      .event as Extract<SeqEvent['event'], { type: 'plan' }>;
    // Half of the denoiser's blocks: the settings' default reached the engine.
    expect(plan.budgetBytes).toBe(Math.floor(plan.totalBlockBytes * 0.5));
    const info = await c.deviceInfo();
    expect(info.name).toBe('Lab iPhone');
    expect(info.backends).toEqual(['onnxruntime-node (test) (cpu)']);
    await phone.updateSettings({ deviceName: 'Test iPhone', coreml: true, defaultBudget: { kind: 'auto' } });
  });

  it('forgets a studio from the phone: its session closes and its key no longer authenticates', async () => {
    const ownKeys = new MemoryKeyStore();
    const c = newClient({ keyStore: ownKeys, clientId: 'studio-to-forget', clientName: 'studio to forget' });
    await c.connect(HOST, phone.port);
    phone.newPairingCode();
    await c.pair(code());
    await until(
      () => phone.store.get().paired.length === 2,
      5000,
      'the status screen to list the new studio',
    );
    expect(phone.store.get().pairingCode, 'the used code is no longer shown').toBeNull();
    const entry = phone.store.get().paired.find((p) => p.clientName === 'studio to forget');
    expect(entry).toBeDefined();
    expect(entry).not.toHaveProperty('key');
    const closed = new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (!c.authenticated) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    await phone.forget(entry!.keyId);
    await closed;
    expect(phone.store.get().paired.some((p) => p.keyId === entry!.keyId)).toBe(false);
    const again = newClient({
      keyStore: ownKeys,
      clientId: 'studio-to-forget',
      clientName: 'studio to forget',
    });
    await expect(again.connect(HOST, phone.port)).rejects.toMatchObject({ code: 'unknown-key' });
    expect(again.authenticated).toBe(false);
  });

  it('after a restart of the app, the paired studio still authenticates and old runs are still there', async () => {
    const before = await paired.runs();
    expect(before.length).toBeGreaterThan(0);
    await paired.close();
    await phone.close();
    phone = await startPhone(dirs);
    const c = newClient();
    expect((await c.connect(HOST, phone.port)).authenticated).toBe(true);
    const after = await c.runs();
    expect(after.map((r) => r.runId).sort()).toEqual(before.map((r) => r.runId).sort());
    const first = before.find((r) => r.state === 'finished')!;
    const replay = await record(c, first.runId, 1);
    await replay.sub.done;
    expectGaplessLog(replay.events);
    expect(phone.store.get().models.find((m) => m.active)?.name).toBe('fixture-nano');
  });

  it('deleting the model on the phone refuses new runs with a clear reason', async () => {
    await phone.deleteModel('fixture-nano');
    expect(phone.store.get().models).toEqual([]);
    const c = newClient();
    await c.connect(HOST, phone.port);
    await expect(c.startRun(nanoParams(2))).rejects.toMatchObject({
      message: expect.stringMatching(/no model is installed/),
    });
    expect((await c.deviceInfo()).blockSets).toEqual([]);
  });
});
