// The phone's own WebSocket server (ios-companion/src/ws, on Node's `net` in place of react-native-tcp-socket)
// under the same attacks as the Node companion (issue 16, item 18; the cases are in
// tests/integration/companion/connection-limit-cases.ts): the app's composition root in this process with the
// protocol's limits, then again with lowered limits for the auth deadline and the total cap.
import { dirname } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe } from 'vitest';
import type { PhoneCompanion } from '../../../ios-companion/src/host/phone-companion';
import type { ConnectionLimits } from '../../../shared/protocol/limits';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import type { SessionKey } from '../../helpers/abusive-clients';
import {
  LOWERED_LIMITS,
  loweredLimitCases,
  protocolLimitCases,
  type DeviceUnderTest,
} from '../companion/connection-limit-cases';
import { phoneDirs, startPhone } from './phone-host';

const HOST = '127.0.0.1';

/** Starts a phone, pairs one studio with it (then closes that studio), and describes it for the cases. */
async function phoneUnderTest(
  limits: Partial<ConnectionLimits> | undefined,
  temps: string[],
): Promise<{ phone: PhoneCompanion; device: DeviceUnderTest }> {
  const dirs = phoneDirs();
  temps.push(dirname(dirname(dirs.dataDir)));
  const phone = await startPhone(dirs, limits ? { connectionLimits: limits } : {});
  const client = new CompanionClient({ keyStore: new MemoryKeyStore(), clientName: 'limits test' });
  let key: SessionKey;
  try {
    await client.connect(HOST, phone.port);
    const code = phone.store.get().pairingCode?.code;
    if (!code) throw new Error('the phone shows no pairing code');
    const record = await client.pair(code);
    key = { clientId: client.clientId, keyId: record.keyId, key: record.key };
  } finally {
    await client.close();
  }
  return { phone, device: { port: phone.port, pid: process.pid, key } };
}

describe("the phone's WebSocket server, under the protocol limits", () => {
  const temps: string[] = [];
  let phone: PhoneCompanion | undefined;
  let device: DeviceUnderTest;

  beforeAll(async () => {
    ({ phone, device } = await phoneUnderTest(undefined, temps));
  });

  afterAll(async () => {
    await phone?.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  protocolLimitCases(() => device, 31);
});

describe("the phone's WebSocket server, with lowered limits", () => {
  const temps: string[] = [];
  let phone: PhoneCompanion | undefined;
  let device: DeviceUnderTest;

  beforeAll(async () => {
    ({ phone, device } = await phoneUnderTest(LOWERED_LIMITS, temps));
  });

  afterAll(async () => {
    await phone?.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  loweredLimitCases(() => device, 41);
});
