// The studio's device hub and run service against the REAL companion process (built CLI, fixture model) over real
// loopback sockets and real mDNS on loopback: discovery plus a manual host:port, pairing persisted and reused by a
// restarted hub, diagnostics of an unreachable address, and a 3-step run whose folder matches the device's log.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompanionClient, type SeqEvent } from '../../../src-main/devices/companion-client';
import { DeviceHub } from '../../../src-main/studio/services/device-hub';
import { FileKeyStore } from '../../../src-main/studio/services/file-key-store';
import { readEvents, readRunFile } from '../../../src-main/studio/services/run-folder';
import { RunService } from '../../../src-main/studio/services/run-service';
import type { StudioDevice, StudioEvent } from '../../../shared/protocol/studio-contract';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { expectGaplessLog, orDeath, until } from '../companion/run-helpers';
import { PROTOCOL_VERSION } from '../../../shared/protocol/limits';

const HOST = '127.0.0.1';
const LOOPBACK_MDNS = { interface: '127.0.0.1', bind: '0.0.0.0' };
let proc: CompanionProcess;
let dataDir: string;
const hubs: DeviceHub[] = [];

function newHub(opts: Partial<ConstructorParameters<typeof DeviceHub>[0]> = {}): DeviceHub {
  const hub = new DeviceHub({
    dataDir,
    discovery: false,
    requestTimeoutMs: 30_000,
    retryDelayMs: { initial: 200, max: 1000 },
    ...opts,
  });
  hubs.push(hub);
  return hub;
}

async function deviceWhere(
  hub: DeviceHub,
  match: (d: StudioDevice) => boolean,
  what: string,
): Promise<StudioDevice> {
  await until(() => hub.list().some(match), 20_000, what);
  return hub.list().find(match)!;
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-studio-data-'));
  proc = await startCompanion({ name: 'Hub test iPhone' });
});

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  await stopCompanion(proc);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('device hub over loopback', () => {
  it('lists a companion found over mDNS and merges a manual host:port of the same device into it', async () => {
    const hub = newHub({ discovery: { mdns: LOOPBACK_MDNS, connectHost: HOST } });
    const pushed: StudioDevice[][] = [];
    hub.onChange((devices) => pushed.push(devices));
    await hub.start();
    const found = await deviceWhere(
      hub,
      (d) => d.deviceId === proc.ready.id && d.status === 'connected',
      'the companion discovered and connected',
    );
    expect(found).toMatchObject({
      id: proc.ready.id,
      name: 'Hub test iPhone',
      model: 'iphone-15-pro',
      role: 'target',
      simulated: true,
      host: HOST,
      port: proc.port,
      sources: { builtin: false, discovered: true, manual: false },
      diagnostics: {
        seenOverMdns: true,
        portReachable: true,
        protocolVersion: PROTOCOL_VERSION,
        paired: false,
        lastError: null,
      },
    });
    expect(pushed.length).toBeGreaterThan(0);

    const manual = await hub.addManual(HOST, proc.port);
    expect(manual.id).toBe(proc.ready.id);
    expect(manual.sources).toEqual({ builtin: false, discovered: true, manual: true });
    // Other studios and companions on this machine may announce on loopback too: count this device's entries.
    await until(
      () => hub.list().filter((d) => d.deviceId === proc.ready.id).length === 1,
      5000,
      'one entry per device',
    );
    await hub.close();
  });

  it('diagnoses a manual device whose port does not answer', async () => {
    const port = await closedPort();
    const hub = newHub({ dataDir: mkdtempSync(join(tmpdir(), 'odsora-studio-unreachable-')) });
    await hub.start();
    const d = await hub.addManual(HOST, port);
    expect(d).toMatchObject({
      id: `manual-127.0.0.1-${port}`,
      deviceId: null,
      status: 'error',
      host: HOST,
      port,
      sources: { builtin: false, discovered: false, manual: true },
      diagnostics: { seenOverMdns: false, portReachable: false, protocolVersion: null, paired: false },
    });
    expect(d.diagnostics.lastError).toMatch(/cannot connect to ws:\/\/127\.0\.0\.1:\d+/);
    expect(hub.pairedClient.bind(hub, d.id)).toThrow(/is error/);
    await hub.close();
  });

  it('pairs with the shown code, persists the key (0600), and a restarted hub reconnects paired', async () => {
    const hub = newHub();
    await hub.start();
    const d = await hub.addManual(HOST, proc.port);
    // A manual entry keeps its id (the UI's selection never jumps) and learns the device's own id.
    expect(d).toMatchObject({
      id: `manual-127.0.0.1-${proc.port}`,
      deviceId: proc.ready.id,
      status: 'connected',
      sources: { manual: true },
    });
    await expect(
      hub.pair(d.id, '000000').then(
        () => 'paired',
        (e: Error) => e.message,
      ),
    ).resolves.toMatch(/pairing failed/);
    const code = proc.latestPairingCode() ?? proc.ready.pairingCode;
    const paired = await hub.pair(d.id, code!);
    expect(paired).toMatchObject({ status: 'paired', diagnostics: { paired: true, lastError: null } });
    const keyFile = join(dataDir, 'pairing-keys.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(await new FileKeyStore(dataDir).get(proc.ready.id)).toMatchObject({ deviceId: proc.ready.id });
    await hub.setBaseline(d.id);
    await hub.close();

    // A new hub on the same data dir: the manual entry and the key come back, and it authenticates by itself.
    const again = newHub();
    await again.start();
    const back = await deviceWhere(again, (x) => x.status === 'paired', 'the restarted hub paired');
    expect(back).toMatchObject({ deviceId: proc.ready.id, baseline: true, diagnostics: { paired: true } });
    expect(again.get(proc.ready.id).id).toBe(back.id); // the device's own id finds the entry too
    await again.close();
  });
});

describe('run service', () => {
  it('runs a 3-step job into a run folder whose events.jsonl is gapless and matches the device log', async () => {
    const hub = newHub();
    await hub.start();
    await deviceWhere(hub, (x) => x.status === 'paired', 'paired device');
    const pushed: StudioEvent[] = [];
    const runs = await RunService.open({ dataDir, hub, emit: (e) => pushed.push(e) });
    const started = await runs.start(
      proc.ready.id,
      { prompt: 'a red ball rolls on grass', seed: 7, steps: 3 },
      {
        label: 'three steps',
      },
    );
    expect(started).toMatchObject({
      deviceId: `manual-127.0.0.1-${proc.port}`,
      label: 'three steps',
      stream: 'live',
    });
    const done = await orDeath(runs.waitForEnd(started.runId), proc);
    expect(done).toMatchObject({ state: 'finished', stream: 'ended', interruption: null });

    const dir = runs.runDir(started.runId);
    const stored = await readEvents(dir);
    const asSeq: SeqEvent[] = stored.map((e) => ({ runId: started.deviceRunId, seq: e.seq, event: e.event }));
    expectGaplessLog(asSeq);
    expect(stored.filter((e) => e.event.type === 'step.end')).toHaveLength(3);
    const file = await readRunFile(dir);
    expect(file).toMatchObject({
      format: 'odsora-studio-run',
      version: 3,
      runId: started.runId,
      deviceRunId: started.deviceRunId,
      state: 'finished',
      lastSeq: stored.length,
      params: { steps: 3, seed: 7 },
      device: { deviceId: proc.ready.id, model: 'iphone-15-pro' },
    });
    expect(file!.endedAtEpochMs).not.toBeNull();
    // Its headline numbers were computed once when it ended (History lists them without folding the log).
    expect(file!.metrics?.wallMs).toBeGreaterThan(0);
    // Pushed run events came after they were on disk, one per seq, in order.
    const pushedSeqs = pushed.flatMap((e) => (e.type === 'run.event' ? [e.seq] : []));
    expect(pushedSeqs).toEqual(stored.map((e) => e.seq));

    // The device's own log, replayed from seq 1 on a second connection with the same key.
    // The studio's key is bound to the studio's clientId (devices.json): the second connection says hello with it.
    const { clientId } = JSON.parse(readFileSync(join(dataDir, 'devices.json'), 'utf8')) as {
      clientId: string;
    };
    const replay = new CompanionClient({
      keyStore: new FileKeyStore(dataDir),
      clientId,
      requestTimeoutMs: 30_000,
    });
    try {
      const r = await replay.connect(HOST, proc.port);
      expect(r.authenticated).toBe(true);
      const events: SeqEvent[] = [];
      const sub = await replay.subscribe(started.deviceRunId, 1, (e) => events.push(e));
      await sub.done;
      expect(stored).toEqual(events.map((e) => ({ seq: e.seq, event: e.event })));
    } finally {
      await replay.close();
    }
    expect(existsSync(join(dir, 'events.jsonl'))).toBe(true);
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8').endsWith('\n')).toBe(true);
    await runs.close();
    await hub.close();
  });
});
