// What a companion announces over Bonjour is where it can be reached: the real `odsora companion` process, started
// as the README says (default --host 127.0.0.1), is found by the studio's device hub over real mDNS on loopback and
// connects at the announced address, without "add by address" and without the tests' old connect-host override.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StudioDevice } from '../../../shared/protocol/studio-contract';
import { DeviceHub } from '../../../src-main/studio/services/device-hub';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { until } from './run-helpers';

/** The hub browses on loopback only: test traffic stays on this machine (machine notes). */
const LOOPBACK_MDNS = { interface: '127.0.0.1', bind: '0.0.0.0' };

let proc: CompanionProcess | undefined;
let hub: DeviceHub | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await hub?.close();
  await stopCompanion(proc);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  hub = undefined;
  proc = undefined;
  dataDir = undefined;
});

/** A studio's hub discovering over mDNS, dialling whatever address the announcement names. */
async function discoveringHub(): Promise<DeviceHub> {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-advertise-studio-'));
  hub = new DeviceHub({
    dataDir,
    discovery: { mdns: LOOPBACK_MDNS },
    requestTimeoutMs: 30_000,
    retryDelayMs: { initial: 200, max: 1000 },
  });
  await hub.start();
  return hub;
}

/** This test's device once it left `connecting` (other companions on the machine may be listed too). */
async function settledDevice(h: DeviceHub, deviceId: string): Promise<StudioDevice> {
  const mine = (): StudioDevice | undefined => h.list().find((d) => d.deviceId === deviceId);
  await until(
    () => {
      const d = mine();
      return d !== undefined && (d.status === 'connected' || d.status === 'error');
    },
    30_000,
    `the hub to find and dial ${deviceId}`,
  );
  return mine()!;
}

describe('a companion announced over Bonjour', () => {
  it('started as the README says is found and reachable by a studio on this machine', async () => {
    const name = `lab-phone ${randomUUID().slice(0, 8)}`;
    proc = await startCompanion({ name, loopback: false });
    // It listens on 127.0.0.1, so it announces 127.0.0.1 and says who can reach it.
    expect(proc.ready['addresses']).toEqual(['127.0.0.1']);
    expect(proc.stderr()).toMatch(
      new RegExp(`announced over Bonjour as 127\\.0\\.0\\.1:${proc.port}: reachable from this machine only`),
    );
    const device = await settledDevice(await discoveringHub(), proc.ready.id);
    expect(device).toMatchObject({
      name,
      status: 'connected',
      host: '127.0.0.1',
      port: proc.port,
      sources: { builtin: false, discovered: true, manual: false },
      diagnostics: { seenOverMdns: true, portReachable: true, lastError: null },
    });
  });

  it('with --loopback (how the studio starts its built-in device) announces the loopback address it listens on', async () => {
    proc = await startCompanion({ name: `loopback-phone ${randomUUID().slice(0, 8)}` });
    const device = await settledDevice(await discoveringHub(), proc.ready.id);
    expect(device.diagnostics.lastError).toBeNull();
    expect(device).toMatchObject({ status: 'connected', host: '127.0.0.1', port: proc.port });
  });
});
