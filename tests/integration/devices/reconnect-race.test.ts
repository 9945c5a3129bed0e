// CompanionClient (the studio's side of the wire protocol) over real loopback sockets against two phone companions:
// a connect() to a new address while the client's own reconnect loop is still retrying the old one wins; the loop
// gives way instead of opening a second socket under it (which failed the connect with "the connection is not
// open" when the new device's upgrade was slow — a restarted device on a new port, on a busy machine).
import { rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { PhoneCompanion } from '../../../ios-companion/src/host/phone-companion';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { phoneDirs, startPhone } from '../ios-companion/phone-host';

const HOST = '127.0.0.1';
const phones: PhoneCompanion[] = [];
const temps: string[] = [];
const sockets: Socket[] = [];
let proxy: Server | null = null;

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  for (const p of phones) await p.close().catch(() => undefined);
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

async function phone(): Promise<PhoneCompanion> {
  const dirs = phoneDirs();
  temps.push(dirname(dirs.dataDir));
  const p = await startPhone(dirs);
  phones.push(p);
  return p;
}

/** A TCP relay to `port` that holds each new connection for `delayMs` before relaying (a slow device). */
async function slowRelay(port: number, delayMs: number): Promise<number> {
  proxy = createServer((inbound) => {
    sockets.push(inbound);
    inbound.pause();
    setTimeout(() => {
      const out = tcpConnect(port, HOST, () => {
        inbound.pipe(out);
        out.pipe(inbound);
        inbound.resume();
      });
      sockets.push(out);
      out.on('error', () => inbound.destroy());
      inbound.on('error', () => out.destroy());
      inbound.on('close', () => out.destroy());
      out.on('close', () => inbound.destroy());
    }, delayMs);
  });
  await new Promise<void>((r) => proxy!.listen(0, HOST, r));
  return (proxy.address() as { port: number }).port;
}

it('a connect() to a new address wins over a reconnect loop still retrying the old one', async () => {
  const first = await phone();
  const second = await phone();
  const relayPort = await slowRelay(second.port, 400);
  const client = new CompanionClient({
    keyStore: new MemoryKeyStore(),
    reconnectDelayMs: { initial: 50, max: 50 },
    requestTimeoutMs: 10_000,
  });
  try {
    await client.connect(HOST, first.port);
    expect(client.connected).toBe(true);
    await first.close(); // the client notices and starts retrying the old address every 50 ms
    await new Promise((r) => setTimeout(r, 20));
    const r = await client.connect(HOST, relayPort);
    expect(r.device.id).toBe(second.store.get().id);
    expect(client.connected).toBe(true);
    // The loop did not take the connection away afterwards either.
    await new Promise((r2) => setTimeout(r2, 300));
    expect(client.connected).toBe(true);
    expect(client.device?.id).toBe(second.store.get().id);
  } finally {
    await client.close();
  }
});
