// The app's WebSocket server (ios-companion/src/ws: handshake and framing written for react-native-tcp-socket),
// given Node's `net`, against the real `ws` client the studio uses — and against a raw socket for malformed
// frames: handshake, masking, fragmentation, ping/pong, close codes, 16 MB binary frames, 1002/1007/1009.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Connection } from '../../../shared/companion/server-ports';
import { acceptKey } from '../../../ios-companion/src/ws/handshake';
import { listenWebSocket, type WebSocketListener } from '../../../ios-companion/src/ws/server';
import type { WebSocketConnection } from '../../../ios-companion/src/ws/connection';
import { openRaw, rawRequest, serverCloseCode } from './raw-ws';

const listeners: WebSocketListener[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

/**
 * An echo server: every message comes back as it arrived (text as text, binary as binary). The codec alone: no
 * companion behind it to authenticate a session, so no connection limits (connection-limits.test.ts has those).
 */
async function echoServer(opts: { maxMessageBytes?: number } = {}): Promise<{
  listener: WebSocketListener;
  accepted: Connection[];
}> {
  const accepted: Connection[] = [];
  const listener = await listenWebSocket(
    net,
    { host: '127.0.0.1', port: 0, closeTimeoutMs: 500, limits: null, ...opts },
    (c) => {
      accepted.push(c);
      c.onMessage((m) => (typeof m === 'string' ? c.sendText(m) : c.sendBinary(m)));
    },
  );
  listeners.push(listener);
  return { listener, accepted };
}

function open(port: number, opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, ...opts });
  clients.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
  );
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
}

describe('the app WebSocket server against the ws client', () => {
  it('computes the RFC 6455 sample accept key', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('completes the handshake and echoes text (UTF-8) and binary messages', async () => {
    const { listener, accepted } = await echoServer();
    const ws = await open(listener.port);
    expect(accepted).toHaveLength(1);
    ws.send('héllo 🌍');
    const t = await nextMessage(ws);
    expect(t.isBinary).toBe(false);
    expect(t.data.toString('utf8')).toBe('héllo 🌍');
    const bin = randomBytes(70_000); // 16-bit length, past the small-frame path
    ws.send(bin);
    const b = await nextMessage(ws);
    expect(b.isBinary).toBe(true);
    expect(Buffer.compare(b.data, bin)).toBe(0);
  });

  it('refuses a plain HTTP request, a wrong version and a bad key with HTTP errors', async () => {
    const { listener, accepted } = await echoServer();
    const plain = await rawRequest(listener.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(plain).toMatch(/^HTTP\/1\.1 426 /);
    expect(plain).toMatch(/Upgrade: websocket/);
    const base = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';
    const v8 = await rawRequest(
      listener.port,
      `${base}Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 8\r\n\r\n`,
    );
    expect(v8).toMatch(/^HTTP\/1\.1 426 /);
    expect(v8).toMatch(/Sec-WebSocket-Version: 13/);
    const badKey = await rawRequest(
      listener.port,
      `${base}Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(badKey).toMatch(/^HTTP\/1\.1 400 .*\r\n[\s\S]*Sec-WebSocket-Key must be 16 bytes/);
    const post = await rawRequest(listener.port, 'POST / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(post).toMatch(/^HTTP\/1\.1 400 /);
    expect(accepted).toHaveLength(0);
  });

  it('accepts a handshake split across many small TCP writes, with a frame in the same packet', async () => {
    const { listener } = await echoServer();
    const key = randomBytes(16).toString('base64');
    const head =
      'GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n' +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const { clientFrame } = await import('./raw-ws');
    const frame = clientFrame(0x81, Buffer.from('early'));
    const s = net.connect(listener.port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    await new Promise((r) => s.once('connect', r));
    s.setNoDelay(true);
    for (let i = 0; i < head.length; i += 7) {
      s.write(head.slice(i, i + 7));
      await new Promise((r) => setTimeout(r, 1));
    }
    s.write(frame);
    const deadline = Date.now() + 5000;
    while (!Buffer.concat(got).includes('early') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const text = Buffer.concat(got).toString('latin1');
    expect(text).toContain(`Sec-WebSocket-Accept: ${acceptKey(key)}`);
    expect(text).toContain('early');
    s.destroy();
  });

  it('reassembles fragmented messages, with a ping between the fragments', async () => {
    const { listener } = await echoServer();
    const ws = await open(listener.port);
    const [p0, p1, p2] = [randomBytes(10), randomBytes(200_000), randomBytes(3)];
    ws.send(p0, { fin: false, binary: true });
    ws.ping(Buffer.from('mid'));
    ws.send(p1, { fin: false, binary: true });
    ws.send(p2, { fin: true, binary: true });
    const m = await nextMessage(ws);
    expect(m.isBinary).toBe(true);
    expect(Buffer.compare(m.data, Buffer.concat([p0, p1, p2]))).toBe(0);
    // Text split inside a multi-byte character is still one valid message.
    const bytes = Buffer.from('añb', 'utf8');
    ws.send(bytes.subarray(0, 2), { fin: false, binary: false });
    ws.send(bytes.subarray(2), { fin: true, binary: false });
    expect((await nextMessage(ws)).data.toString('utf8')).toBe('añb');
  });

  it('answers pings with pongs carrying the same payload, and its own pings are answered', async () => {
    const { listener, accepted } = await echoServer();
    const ws = await open(listener.port);
    const pong = new Promise<Buffer>((r) => ws.once('pong', (d) => r(d)));
    ws.ping(Buffer.from('are you there'));
    expect((await pong).toString()).toBe('are you there');
    const ping = new Promise<Buffer>((r) => ws.once('ping', (d) => r(d)));
    (accepted[0] as WebSocketConnection).ping(Buffer.from('server'));
    expect((await ping).toString()).toBe('server');
  });

  it('closes with the code and reason each side gives, and reports the close', async () => {
    const { listener, accepted } = await echoServer();
    const a = await open(listener.port);
    const serverSawClose = new Promise<void>((r) => accepted[0]!.onClose(r));
    const aClosed = closed(a);
    accepted[0]!.close(4001, 'version rejected');
    expect(await aClosed).toEqual({ code: 4001, reason: 'version rejected' });
    await serverSawClose;
    const b = await open(listener.port);
    const conn = accepted[1] as WebSocketConnection;
    const bServerClosed = new Promise<void>((r) => conn.onClose(r));
    const bClosed = closed(b);
    b.close(4000, 'bye');
    await bServerClosed;
    expect(conn.peerClose).toEqual({ code: 4000, reason: 'bye' });
    expect((await bClosed).code).toBe(4000); // the server echoed the code
    // A reason longer than a control frame allows is cut, not an error.
    const c = await open(listener.port);
    const cClosed = closed(c);
    accepted[2]!.close(1000, 'é'.repeat(200));
    const cr = await cClosed;
    expect(cr.code).toBe(1000);
    expect(Buffer.byteLength(cr.reason)).toBeLessThanOrEqual(123);
  });

  it('carries 16 MB binary frames both ways intact', async () => {
    const { listener } = await echoServer();
    const ws = await open(listener.port);
    const big = randomBytes(16 * 1024 * 1024);
    const t0 = performance.now();
    ws.send(big);
    const m = await nextMessage(ws);
    const ms = performance.now() - t0;
    expect(m.isBinary).toBe(true);
    expect(m.data.length).toBe(big.length);
    expect(createHash('sha256').update(m.data).digest('hex')).toBe(
      createHash('sha256').update(big).digest('hex'),
    );
    console.log(`16 MiB echo (client→server→client) over loopback: ${ms.toFixed(0)} ms`);
  });

  it('closes with 1009 when a message is over the limit, before its payload arrives', async () => {
    const { listener } = await echoServer({ maxMessageBytes: 1024 * 1024 });
    const ws = await open(listener.port);
    const c = closed(ws);
    ws.send(randomBytes(1024 * 1024 + 1));
    expect((await c).code).toBe(1009);
    // Fragments count together.
    const ws2 = await open(listener.port);
    const c2 = closed(ws2);
    ws2.send(randomBytes(600_000), { fin: false });
    ws2.send(randomBytes(600_000), { fin: true });
    expect((await c2).code).toBe(1009);
    // At the default (protocol) limit, a header announcing 64 MiB + 1 is refused at once.
    const dflt = await echoServer();
    const raw = await openRaw(dflt.listener.port);
    raw.sendFrame(0x82, new Uint8Array(0), { lengthOverride: 64 * 1024 * 1024 + 1 });
    await raw.ended;
    expect(serverCloseCode(raw.received())).toBe(1009);
  });

  it('closes with 1007 on a text message that is not UTF-8', async () => {
    const { listener } = await echoServer();
    const ws = await open(listener.port);
    const c = closed(ws);
    ws.send(Buffer.from([0x61, 0xc3, 0x28]), { binary: false });
    expect((await c).code).toBe(1007);
    // An overlong encoding and a lone surrogate are invalid too.
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]) {
      const raw = await openRaw(listener.port);
      raw.sendFrame(0x81, Uint8Array.from(bad));
      await raw.ended;
      expect(serverCloseCode(raw.received())).toBe(1007);
    }
  });

  it.each([
    ['an unmasked client frame', 0x82, new Uint8Array(4), { mask: false }],
    ['RSV1 set (no extension negotiated)', 0xc2, new Uint8Array(4), {}],
    ['an unknown opcode', 0x83, new Uint8Array(4), {}],
    ['a control frame over 125 bytes', 0x89, new Uint8Array(126), {}],
    ['a fragmented ping', 0x09, new Uint8Array(1), {}],
    ['a continuation with nothing to continue', 0x80, new Uint8Array(2), {}],
    ['a close frame with a 1-byte payload', 0x88, new Uint8Array(1), {}],
    ['a close frame with reserved code 1005', 0x88, Uint8Array.of(0x03, 0xed), {}],
  ] as const)('closes with 1002 on %s', async (_what, b0, payload, opts) => {
    const { listener, accepted } = await echoServer();
    const raw = await openRaw(listener.port);
    const serverClosed = new Promise<void>((r) => accepted[0]!.onClose(r));
    raw.sendFrame(b0, payload, opts);
    await raw.ended;
    await serverClosed;
    expect(serverCloseCode(raw.received())).toBe(1002);
  });

  it('closes with 1002 on a new message in the middle of a fragmented one', async () => {
    const { listener } = await echoServer();
    const raw = await openRaw(listener.port);
    raw.sendFrame(0x02, Uint8Array.of(1, 2));
    raw.sendFrame(0x82, Uint8Array.of(3));
    await raw.ended;
    expect(serverCloseCode(raw.received())).toBe(1002);
  });
});
