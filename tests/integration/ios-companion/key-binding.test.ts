// A pairing key is bound to the studio that paired it (issue 16, item 20), over real loopback sockets against the
// phone companion (the shared CompanionServer the Node companion runs too): a studio that authenticates with its
// own key while claiming another studio's clientId is refused, and forgetting a key on the phone closes exactly the
// sessions that used that key.
import { dirname } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhoneCompanion } from '../../../ios-companion/src/host/phone-companion';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { openSession, type RawSession, type SessionKey } from '../../helpers/abusive-clients';
import { phoneDirs, startPhone } from './phone-host';

const HOST = '127.0.0.1';

describe('pairing keys bound to the studio that paired them', () => {
  const temps: string[] = [];
  const sessions: RawSession[] = [];
  let phone: PhoneCompanion;

  /** Pairs a studio with `clientId` through the phone's shown code; returns its key (the studio disconnects). */
  async function pairStudio(clientId: string): Promise<SessionKey> {
    const client = new CompanionClient({ keyStore: new MemoryKeyStore(), clientId, clientName: clientId });
    try {
      await client.connect(HOST, phone.port);
      phone.newPairingCode();
      const code = phone.store.get().pairingCode?.code;
      if (!code) throw new Error('the phone shows no pairing code');
      const record = await client.pair(code);
      return { clientId, keyId: record.keyId, key: record.key };
    } finally {
      await client.close();
    }
  }

  async function session(key: SessionKey): Promise<RawSession> {
    const s = await openSession(phone.port, 'authenticated', { key });
    sessions.push(s);
    return s;
  }

  beforeAll(async () => {
    const dirs = phoneDirs();
    temps.push(dirname(dirname(dirs.dataDir)));
    phone = await startPhone(dirs);
  });

  afterAll(async () => {
    for (const s of sessions) s.ws.terminate();
    await phone?.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  it("refuses a studio that proves its own key while claiming another studio's clientId", async () => {
    const a = await pairStudio('studio-a');
    const b = await pairStudio('studio-b');
    // Studio B says hello as studio A, then answers the challenge with its own (valid) key.
    const impostor = await openSession(phone.port, 'authenticated', {
      key: { ...b, clientId: a.clientId },
    }).then(
      (s) => {
        sessions.push(s);
        return null;
      },
      (e: unknown) => e,
    );
    expect(impostor, 'the device refuses the proof under another clientId').toBeInstanceOf(Error);
    expect((impostor as Error).message).toMatch(/"code":"auth-failed"/);
    expect((impostor as Error).message).toMatch(/clientId/);
    // Each studio still authenticates as itself.
    expect((await session(a)).isOpen()).toBe(true);
    expect((await session(b)).isOpen()).toBe(true);
  });

  it('forgetting a key closes the sessions that used it, and only those', async () => {
    // The same studio paired twice (e.g. after losing its key store): two keys under one clientId.
    const first = await pairStudio('studio-x');
    const second = await pairStudio('studio-x');
    const usedFirst = await session(first);
    const usedSecond = await session(second);
    await phone.forget(first.keyId);
    const closed = await usedFirst.closed;
    expect(closed.code).toBe(1000);
    expect(closed.reason).toMatch(/forgot this studio/);
    await new Promise((r) => setTimeout(r, 200));
    expect(usedSecond.isOpen(), 'the session that used the other key stays open').toBe(true);
    await expect(openSession(phone.port, 'authenticated', { key: first })).rejects.toThrow(/unknown-key/);
    expect((await session(second)).isOpen()).toBe(true);
  });
});
