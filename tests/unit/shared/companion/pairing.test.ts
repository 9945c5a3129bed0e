import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generatePairingCode,
  PairingManager,
  type PairedKeyRecord,
  type PairingStore,
  type RandomBytes,
} from '../../../../shared/companion/pairing';
import { authMessage, computeAuthProof, hexToBytes, type HmacSha256 } from '../../../../shared/protocol/auth';

const hmac: HmacSha256 = async (key, message) =>
  new Uint8Array(createHmac('sha256', key).update(message).digest());
const nodeRandom: RandomBytes = (n) => new Uint8Array(randomBytes(n));
const client = { clientId: 'studio-1', clientName: 'Studio' };

class FakeClock {
  ms = 1000;
  nowMs(): number {
    return this.ms;
  }
}

class MemoryStore implements PairingStore {
  readonly records = new Map<string, PairedKeyRecord>();
  async list() {
    return [...this.records.values()];
  }
  async put(r: PairedKeyRecord) {
    this.records.set(r.keyId, r);
  }
  async remove(keyId: string) {
    this.records.delete(keyId);
  }
}

async function setup(random: RandomBytes = nodeRandom) {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const pairing = await PairingManager.create({
    deviceId: 'dev-1',
    random,
    hmac,
    clock,
    store,
    epochMs: () => 5,
  });
  return { clock, store, pairing };
}

/** A code that differs from the shown one. */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('pairing codes', () => {
  it('are six digits, uniform enough, and come from the injected random port', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 2000; i++) {
      const code = generatePairingCode(nodeRandom);
      expect(code).toMatch(/^[0-9]{6}$/);
      counts[Number(code[0])]! += 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(100);
    expect(generatePairingCode(() => Uint8Array.of(0, 0, 0, 42))).toBe('000042');
  });

  it('rejection-samples the top of the uint32 range instead of biasing low codes', () => {
    const draws = [Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(0, 0, 0x30, 0x39)];
    expect(generatePairingCode(() => draws.shift()!)).toBe('012345');
  });

  it('a right code pairs once and yields a stored long-term key', async () => {
    const { pairing, store } = await setup();
    const shown = pairing.startPairing();
    if (!shown.ok) throw new Error('locked');
    expect(shown.expiresInMs).toBe(120_000);
    expect(pairing.shownCode()).toBe(shown.code);
    const r = await pairing.submitCode(shown.code, client);
    if (!r.ok) throw new Error(r.message);
    expect(r.record).toMatchObject({ clientId: 'studio-1', clientName: 'Studio', pairedAtEpochMs: 5 });
    expect(r.record.keyId).toMatch(/^k-[0-9a-f]{16}$/);
    expect(hexToBytes(r.record.key)).toHaveLength(32);
    expect(store.records.get(r.record.keyId)).toEqual(r.record);
    expect(await pairing.submitCode(shown.code, client)).toMatchObject({
      ok: false,
      code: 'pairing-not-started',
    });
  });

  it('a code expires', async () => {
    const { pairing, clock } = await setup();
    const shown = pairing.startPairing();
    if (!shown.ok) throw new Error('locked');
    clock.ms += 120_000;
    expect(pairing.shownCode()).toBeNull();
    expect(await pairing.submitCode(shown.code, client)).toMatchObject({
      ok: false,
      code: 'pairing-code-expired',
    });
  });

  it('five wrong codes lock pairing with a lockout that doubles each time', async () => {
    const { pairing, clock } = await setup();
    const lockouts: number[] = [];
    for (let round = 0; round < 3; round++) {
      const shown = pairing.startPairing();
      if (!shown.ok) throw new Error('locked');
      for (let i = 0; i < 4; i++)
        expect(await pairing.submitCode(wrong(shown.code), client)).toMatchObject({
          code: 'pairing-code-invalid',
        });
      const locked = await pairing.submitCode(wrong(shown.code), client);
      expect(locked).toMatchObject({ ok: false, code: 'pairing-locked' });
      lockouts.push((locked as { retryAfterMs: number }).retryAfterMs);
      // While locked even the right code and a new code are refused.
      expect(await pairing.submitCode(shown.code, client)).toMatchObject({ code: 'pairing-locked' });
      expect(pairing.startPairing()).toMatchObject({ ok: false, code: 'pairing-locked' });
      clock.ms += lockouts[round]! - 1;
      expect(pairing.lockoutRemainingMs()).toBe(1);
      clock.ms += 1;
    }
    expect(lockouts).toEqual([30_000, 60_000, 120_000]);
    // The lockout discarded the old code: after it, pairing starts fresh and a right code works.
    const shown = pairing.startPairing();
    if (!shown.ok) throw new Error('locked');
    expect((await pairing.submitCode(shown.code, client)).ok).toBe(true);
  });
});

describe('challenge-response', () => {
  async function paired() {
    const env = await setup();
    const shown = env.pairing.startPairing();
    if (!shown.ok) throw new Error('locked');
    const r = await env.pairing.submitCode(shown.code, client);
    if (!r.ok) throw new Error(r.message);
    return { ...env, record: r.record };
  }

  it('accepts the client proof and answers with a device proof the client can check', async () => {
    const { pairing, record } = await paired();
    const deviceNonce = pairing.newChallenge();
    expect(deviceNonce).toMatch(/^[0-9a-f]{32}$/);
    const clientNonce = 'ab'.repeat(16);
    const t = { deviceId: 'dev-1', keyId: record.keyId, deviceNonce, clientNonce };
    const mac = await computeAuthProof(hmac, record.key, 'client', t);
    // The documented computation, spelled out with Node's HMAC.
    const spelled = createHmac('sha256', Buffer.from(record.key, 'hex'))
      .update(`odsora-auth-v1 client\ndev-1\n${record.keyId}\n${deviceNonce}\n${clientNonce}`, 'utf8')
      .digest('hex');
    expect(mac).toBe(spelled);
    const r = await pairing.verifyAuth({
      keyId: record.keyId,
      deviceNonce,
      clientNonce,
      mac,
      clientId: client.clientId,
    });
    if (!r.ok) throw new Error(r.message);
    expect(r.deviceMac).toBe(await computeAuthProof(hmac, record.key, 'device', t));
    expect(r.deviceMac).not.toBe(mac);
  });

  it('rejects a wrong MAC, a proof for another challenge, a device proof replayed as a client one, and unknown keys', async () => {
    const { pairing, record } = await paired();
    const deviceNonce = pairing.newChallenge();
    const clientNonce = 'cd'.repeat(16);
    const t = { deviceId: 'dev-1', keyId: record.keyId, deviceNonce, clientNonce, clientId: client.clientId };
    const good = await computeAuthProof(hmac, record.key, 'client', t);
    const flip = (good[0] === '0' ? '1' : '0') + good.slice(1);
    expect(await pairing.verifyAuth({ ...t, mac: flip })).toMatchObject({ ok: false, code: 'auth-failed' });
    const other = pairing.newChallenge();
    expect(await pairing.verifyAuth({ ...t, deviceNonce: other, mac: good })).toMatchObject({
      code: 'auth-failed',
    });
    const deviceProof = await computeAuthProof(hmac, record.key, 'device', t);
    expect(await pairing.verifyAuth({ ...t, mac: deviceProof })).toMatchObject({ code: 'auth-failed' });
    expect(await pairing.verifyAuth({ ...t, keyId: 'k-0000000000000000', mac: good })).toMatchObject({
      code: 'unknown-key',
    });
  });

  it('binds a key to the clientId it was paired under: a right proof under another id is refused', async () => {
    const { pairing, record } = await paired();
    expect(record.clientId).toBe(client.clientId);
    const deviceNonce = pairing.newChallenge();
    const t = { deviceId: 'dev-1', keyId: record.keyId, deviceNonce, clientNonce: 'ef'.repeat(16) };
    const mac = await computeAuthProof(hmac, record.key, 'client', t);
    const refused = await pairing.verifyAuth({ ...t, mac, clientId: 'studio-2' });
    expect(refused).toMatchObject({ ok: false, code: 'auth-failed' });
    if (!refused.ok) expect(refused.message).toMatch(/clientId/);
    expect((await pairing.verifyAuth({ ...t, mac, clientId: client.clientId })).ok).toBe(true);
  });

  it('keys survive a restart through the store, and a revoked key no longer authenticates', async () => {
    const { store, record, clock } = await paired();
    const again = await PairingManager.create({ deviceId: 'dev-1', random: nodeRandom, hmac, clock, store });
    const deviceNonce = again.newChallenge();
    const t = {
      deviceId: 'dev-1',
      keyId: record.keyId,
      deviceNonce,
      clientNonce: '00'.repeat(16),
      clientId: client.clientId,
    };
    const mac = await computeAuthProof(hmac, record.key, 'client', t);
    expect((await again.verifyAuth({ ...t, mac })).ok).toBe(true);
    await again.revoke(record.keyId);
    expect(store.records.size).toBe(0);
    expect(await again.verifyAuth({ ...t, mac })).toMatchObject({ code: 'unknown-key' });
  });

  it('the MACed text is the documented newline-joined transcript', () => {
    expect(authMessage('device', { deviceId: 'd', keyId: 'k', deviceNonce: 'n1', clientNonce: 'n2' })).toBe(
      'odsora-auth-v1 device\nd\nk\nn1\nn2',
    );
  });
});
