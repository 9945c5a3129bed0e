// The Node companion under attack over real loopback sockets (issue 16, item 18): the REAL companion process
// (`odsora companion`, built CLI) with the limits every device ships with — huge frames before hello (its RSS is
// measured), a client that never reads, a socket that never says hello, a half-sent upgrade, one address opening
// too many connections — and the same host in-process with lowered limits for the auth deadline and the total cap.
// The phone's own WebSocket server passes the same cases (tests/integration/ios-companion/connection-limits.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startCompanionHost, type CompanionHost } from '../../../src-main/companion/host';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import type { SessionKey } from '../../helpers/abusive-clients';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';
import {
  LOWERED_LIMITS,
  loweredLimitCases,
  protocolLimitCases,
  type DeviceUnderTest,
} from './connection-limit-cases';

const HOST = '127.0.0.1';

/** Pairs a fresh studio with the device at `port` using `code`; returns its key and clientId, and closes it. */
async function pairOnce(port: number, code: string): Promise<SessionKey> {
  const keys = new MemoryKeyStore();
  const client = new CompanionClient({ keyStore: keys, clientName: 'limits test', requestTimeoutMs: 10_000 });
  try {
    await client.connect(HOST, port);
    const record = await client.pair(code);
    return { clientId: client.clientId, keyId: record.keyId, key: record.key };
  } finally {
    await client.close();
  }
}

describe('the Node companion process, under the protocol limits', () => {
  let proc: CompanionProcess;
  let device: DeviceUnderTest;

  beforeAll(async () => {
    proc = await startCompanion({ name: 'limits test' });
    const code = proc.ready.pairingCode ?? proc.latestPairingCode();
    expect(code).toMatch(/^[0-9]{6}$/);
    device = { port: proc.port, pid: proc.child.pid!, key: await pairOnce(proc.port, code!) };
  });

  afterAll(async () => {
    const alive = proc?.alive();
    if (proc && !alive) console.error(`companion died; stderr tail:\n${proc.stderr().slice(-4000)}`);
    await stopCompanion(proc);
    expect(alive, 'the companion survived every attack').toBe(true);
  });

  protocolLimitCases(() => device, 11);
});

describe('the Node companion host, with lowered limits', () => {
  let host: CompanionHost;
  let device: DeviceUnderTest;
  const temps: string[] = [];

  beforeAll(async () => {
    const modelDir = fixtureModelDir();
    const dataDir = mkdtempSync(join(tmpdir(), 'odsora-limits-'));
    temps.push(modelDir, dataDir);
    host = await startCompanionHost({
      models: modelDir,
      dataDir,
      cacheRoot: join(dataDir, 'cache'),
      advertise: false,
      threads: 1,
      connectionLimits: LOWERED_LIMITS,
    });
    device = { port: host.port, pid: process.pid, key: await pairOnce(host.port, host.pairingCode) };
  });

  afterAll(async () => {
    await host?.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  loweredLimitCases(() => device, 21);
});
