// The attacks of issue 16's network review, as test cases any device host must pass (not a test file itself):
// tests/integration/companion/connection-limits.test.ts runs them against the Node companion, and
// tests/integration/ios-companion/connection-limits.test.ts against the phone's own WebSocket server. Each
// "protocol limits" case uses the limits every device ships with (DEFAULT_CONNECTION_LIMITS); the "lowered
// limits" cases start a device with small caps and short deadlines so they run in seconds.
import { expect, it } from 'vitest';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../../shared/protocol/limits';
import {
  firstCloseCode,
  floodWithoutReading,
  openSession,
  peakRssDuring,
  rssBytes,
  stall,
  streamHugeFrameBeforeHello,
  UpgradeRefused,
  type RawSession,
  type SessionKey,
} from '../../helpers/abusive-clients';

/** A running device, as the cases see it. */
export interface DeviceUnderTest {
  port: number;
  /** The process whose memory is the device's (the companion process, or this one for an in-process host). */
  pid: number;
  /** A key paired with the device, and the clientId it was paired under. */
  key: SessionKey;
}

const D = DEFAULT_CONNECTION_LIMITS;
const MiB = 1024 * 1024;

async function closeAll(sessions: RawSession[]): Promise<void> {
  for (const s of sessions) s.ws.terminate();
  await Promise.all(sessions.map((s) => s.closed));
}

/** Registers the cases that run under the protocol's own limits. `sourceBase`: a free 127.0.0.x to start from. */
export function protocolLimitCases(device: () => DeviceUnderTest, sourceBase: number): void {
  it('keeps its memory when eight clients send the largest frames before saying hello (closes each: 1009)', async () => {
    const d = device();
    const before = rssBytes(d.pid);
    const { result, peakBytes } = await peakRssDuring(
      d.pid,
      Promise.all(Array.from({ length: 8 }, () => streamHugeFrameBeforeHello(d.port))),
    );
    const grewMiB = (peakBytes - before) / MiB;
    console.log(
      `8 × 64 MiB frames before hello: device RSS +${grewMiB.toFixed(1)} MiB at peak; sent ${result
        .map((r) => (r.sentBytes / MiB).toFixed(0))
        .join('/')} MiB`,
    );
    for (const r of result) expect(r.closeCode, 'the device closes with 1009 (message too big)').toBe(1009);
    // Before the limit, the device buffered every frame whole (64 MiB each, and copies): hundreds of MiB.
    expect(grewMiB).toBeLessThan(64);
  });

  it('drops a client that never reads its replies instead of holding them all', async () => {
    const d = device();
    const before = rssBytes(d.pid);
    // 200,000 unread device infos would be over 100 MiB held for one client.
    const { result, peakBytes } = await peakRssDuring(d.pid, floodWithoutReading(d.port, 200_000));
    console.log(
      `non-reader: dropped ${result.dropped} after ${result.requests} requests, ` +
        `device RSS +${((peakBytes - before) / MiB).toFixed(1)} MiB at peak`,
    );
    expect(result.dropped, 'the device ends the connection').toBe(true);
  });

  it(`closes a socket that never says hello (1008) and one whose upgrade request never ends (408), both within ${D.helloTimeoutMs / 1000} s`, async () => {
    const d = device();
    const waitMs = D.helloTimeoutMs + 6000;
    const [noHello, halfUpgrade] = await Promise.all([
      stall(d.port, 'no-hello', waitMs),
      stall(d.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n', waitMs),
    ]);
    expect(noHello.closedAfterMs, 'the socket that never said hello is closed').not.toBeNull();
    expect(noHello.closedAfterMs!).toBeGreaterThanOrEqual(D.helloTimeoutMs - 500);
    const frames = noHello.response.subarray(noHello.response.indexOf('\r\n\r\n') + 4);
    expect(noHello.response.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
    expect(firstCloseCode(frames)).toBe(1008);
    expect(frames.toString('latin1')).toContain('no hello within');
    expect(halfUpgrade.closedAfterMs, 'the half-sent upgrade is closed').not.toBeNull();
    expect(halfUpgrade.closedAfterMs!).toBeGreaterThanOrEqual(D.upgradeTimeoutMs - 500);
    expect(halfUpgrade.response.toString('latin1')).toMatch(/^HTTP\/1\.1 408/);
  });

  it(`lets one address hold ${D.maxConnectionsPerAddress} connections: a newcomer displaces the oldest unauthenticated one (1013), and is refused (503) when all are authenticated`, async () => {
    const d = device();
    const greetedFrom = `127.0.0.${sourceBase}`;
    const authFrom = `127.0.0.${sourceBase + 1}`;
    const greeted: RawSession[] = [];
    const authed: RawSession[] = [];
    try {
      for (let i = 0; i < D.maxConnectionsPerAddress; i++)
        greeted.push(await openSession(d.port, 'greeted', { localAddress: greetedFrom }));
      const newcomer = await openSession(d.port, 'greeted', { localAddress: greetedFrom });
      greeted.push(newcomer);
      const displaced = await greeted[0]!.closed;
      expect(displaced.code).toBe(1013);
      expect(displaced.reason).toMatch(/too many connections/);
      expect(greeted.slice(1).every((s) => s.isOpen())).toBe(true);

      for (let i = 0; i < D.maxConnectionsPerAddress; i++)
        authed.push(await openSession(d.port, 'authenticated', { localAddress: authFrom, key: d.key }));
      const refused = await openSession(d.port, 'greeted', { localAddress: authFrom }).then(
        (s) => {
          authed.push(s);
          return null;
        },
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(UpgradeRefused);
      expect((refused as UpgradeRefused).status).toBe(503);
      expect((refused as UpgradeRefused).body).toMatch(/too many connections/);
      expect(
        authed.every((s) => s.isOpen()),
        'the authenticated sessions are untouched',
      ).toBe(true);
    } finally {
      await closeAll([...greeted, ...authed]);
    }
  });

  it('takes frames up to the protocol limit once the session is authenticated', async () => {
    const d = device();
    const s = await openSession(d.port, 'authenticated', { key: d.key });
    try {
      s.ws.send(Buffer.alloc(4 * MiB), { binary: true });
      const error = await s.next('error');
      expect(error).toMatchObject({ code: 'bad-binary-frame' });
      expect(s.isOpen()).toBe(true);
    } finally {
      await closeAll([s]);
    }
  });
}

/** Limits that make the deadlines and the total cap quick to reach. */
export const LOWERED_LIMITS: Partial<ConnectionLimits> = {
  maxConnections: 4,
  maxConnectionsPerAddress: 3,
  helloTimeoutMs: 1000,
  authTimeoutMs: 1500,
};

/** Registers the cases that need a device started with {@link LOWERED_LIMITS}. */
export function loweredLimitCases(device: () => DeviceUnderTest, sourceBase: number): void {
  it('closes an unauthenticated session after the auth deadline (1008), counted again from its latest pair.start', async () => {
    const d = device();
    const idle = await openSession(d.port, 'greeted');
    const pairing = await openSession(d.port, 'greeted');
    const authed = await openSession(d.port, 'authenticated', { key: d.key });
    try {
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      pairing.send({ type: 'pair.start', id: 1 });
      await pairing.next('pair.pending');
      const idleClosed = await idle.closed;
      expect(idleClosed.code).toBe(1008);
      expect(idleClosed.reason).toMatch(/not paired or authenticated within 1\.5 s/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      expect(pairing.isOpen(), 'pair.start gave the person at the studio the whole time again').toBe(true);
      expect((await pairing.closed).code).toBe(1008);
      expect(authed.isOpen(), 'an authenticated session has no deadline').toBe(true);
    } finally {
      await closeAll([idle, pairing, authed]);
    }
  });

  it('when full, displaces the oldest unauthenticated connection anywhere, and refuses once all are authenticated', async () => {
    const d = device();
    const from = (i: number): string => `127.0.0.${sourceBase + i}`;
    const sessions: RawSession[] = [];
    try {
      sessions.push(await openSession(d.port, 'authenticated', { localAddress: from(0), key: d.key }));
      sessions.push(await openSession(d.port, 'authenticated', { localAddress: from(0), key: d.key }));
      const oldest = await openSession(d.port, 'greeted', { localAddress: from(1) });
      const next = await openSession(d.port, 'greeted', { localAddress: from(1) });
      sessions.push(oldest, next);
      const newcomer = await openSession(d.port, 'greeted', { localAddress: from(2) });
      sessions.push(newcomer);
      expect((await oldest.closed).code).toBe(1013);
      expect(next.isOpen() && newcomer.isOpen()).toBe(true);

      next.ws.close();
      newcomer.ws.close();
      await Promise.all([next.closed, newcomer.closed]);
      sessions.push(await openSession(d.port, 'authenticated', { localAddress: from(1), key: d.key }));
      sessions.push(await openSession(d.port, 'authenticated', { localAddress: from(2), key: d.key }));
      const refused = await openSession(d.port, 'greeted', { localAddress: from(3) }).then(
        (s) => {
          sessions.push(s);
          return null;
        },
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(UpgradeRefused);
      expect((refused as UpgradeRefused).status).toBe(503);
      expect((refused as UpgradeRefused).body).toMatch(/4 authenticated connections/);
    } finally {
      await closeAll(sessions);
    }
  });
}
