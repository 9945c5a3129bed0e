/**
 * Clients that misbehave the way an attacker on the network would, over real loopback sockets, against any device
 * (the Node companion process, the phone's own WebSocket server): a huge frame before authentication, a client that
 * never reads, a socket that never says hello, an upgrade request that never ends, and many sessions from one
 * address (a source address of 127.0.0.0/8 picked per test, so the caps count only that test's connections).
 * Also a minimal protocol session (hello, then pairing key proof) on a chosen source address.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { MAX_BINARY_FRAME_BYTES } from '../../shared/protocol/limits';
import type { DeviceMessage } from '../../shared/protocol/messages';
import { decodeDeviceText } from '../../shared/protocol/parse';
import { exchangeAuthProofs } from '../../src-main/devices/handshake';
import { nodeHmacSha256 } from '../../src-main/devices/key-store';

const HOST = '127.0.0.1';

/** Resident set size of a process (Linux: /proc), bytes. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples `pid`'s RSS every 25 ms while `work` runs; resolves with its result and the highest RSS seen. */
export async function peakRssDuring<T>(
  pid: number,
  work: Promise<T>,
): Promise<{ result: T; peakBytes: number }> {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // the process is gone: the caller's assertions say so
    }
  }, 25);
  try {
    const result = await work;
    peak = Math.max(peak, rssBytes(pid));
    return { result, peakBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

/** The close code of the first close frame in bytes a server sent (server frames are unmasked); null if none. */
export function firstCloseCode(bytes: Buffer): number | null {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const op = bytes[at]! & 0x0f;
    let len = bytes[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      if (at + 4 > bytes.length) return null;
      len = bytes.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (at + 10 > bytes.length) return null;
      len = Number(bytes.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (op === 8) return len >= 2 && at + head + 2 <= bytes.length ? bytes.readUInt16BE(at + head) : 1005;
    at += head + len;
  }
  return null;
}

/** A raw TCP socket after a successful WebSocket upgrade (frames after the 101 are in `received`). */
interface RawSocket {
  socket: Socket;
  received: Buffer[];
  closed: Promise<void>;
}

function upgradeRequest(): string {
  return (
    `GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

function openRawSocket(port: number, localAddress?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: HOST, ...(localAddress ? { localAddress } : {}) });
    const received: Buffer[] = [];
    let head = Buffer.alloc(0);
    let open = false;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', (e) => (open ? undefined : reject(e)));
    socket.on('data', (d: Buffer) => {
      if (open) {
        received.push(d);
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = head.subarray(0, end).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101')) {
        reject(new Error(`upgrade refused: ${status.split('\r\n')[0]}`));
        socket.destroy();
        return;
      }
      open = true;
      if (head.length > end + 4) received.push(head.subarray(end + 4));
      resolve({ socket, received, closed });
    });
    socket.write(upgradeRequest());
  });
}

/** A client frame header for `length` payload bytes, masked with the all-zero key (payload goes out as it is). */
function zeroMaskHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, 0x80 | length, 0, 0, 0, 0]);
  if (length < 0x10000)
    return Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff, 0, 0, 0, 0]);
  const h = Buffer.alloc(14);
  h[0] = 0x80 | opcode;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** What happened to a client that streamed one huge binary frame before saying hello. */
export interface HugeFrameOutcome {
  /** Payload bytes the socket accepted before the device stopped it (or all of them). */
  sentBytes: number;
  /** The close code the device sent (null: none arrived). */
  closeCode: number | null;
}

/**
 * Opens a WebSocket, says nothing, and streams one binary frame of `bytes` (default: the largest frame the protocol
 * allows at all), 1 MiB at a time, as fast as the device takes it, until the device closes or it is all sent.
 */
export async function streamHugeFrameBeforeHello(
  port: number,
  bytes = MAX_BINARY_FRAME_BYTES - 1024,
): Promise<HugeFrameOutcome> {
  const raw = await openRawSocket(port);
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  let sent = 0;
  let ended = false;
  void raw.closed.then(() => (ended = true));
  raw.socket.on('error', () => (ended = true));
  const closeSeen = (): boolean => firstCloseCode(Buffer.concat(raw.received)) !== null;
  raw.socket.write(zeroMaskHeader(0x2, bytes));
  while (sent < bytes && !ended && !closeSeen()) {
    const n = Math.min(chunk.length, bytes - sent);
    const more = raw.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    sent += n;
    if (!more)
      await new Promise<void>((r) => {
        const done = (): void => {
          raw.socket.off('drain', done);
          raw.socket.off('close', done);
          clearInterval(poll);
          r();
        };
        // A device that stopped reading leaves the socket full: look for its close frame meanwhile.
        const poll = setInterval(() => {
          if (closeSeen()) done();
        }, 20);
        raw.socket.once('drain', done);
        raw.socket.once('close', done);
      });
  }
  // Give the device's close frame (if any) time to arrive, then hang up.
  const deadline = Date.now() + 3000;
  while (!closeSeen() && !ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const closeCode = firstCloseCode(Buffer.concat(raw.received));
  raw.socket.destroy();
  return { sentBytes: sent, closeCode };
}

/** What happened to a client that sent requests without reading any reply. */
export interface NonReaderOutcome {
  /** Requests written before the device dropped the connection (or all of them). */
  requests: number;
  /** True when the device ended the connection. */
  dropped: boolean;
}

/**
 * Says hello, then never reads again and keeps writing `device.info.get` requests (each answered by the whole device
 * info), a thousand every 50 ms, up to `maxRequests`: a device that holds every reply for it never ends the
 * connection; one that bounds what it holds drops it (the next writes then fail).
 */
export async function floodWithoutReading(port: number, maxRequests: number): Promise<NonReaderOutcome> {
  const raw = await openRawSocket(port);
  let dropped = false;
  void raw.closed.then(() => (dropped = true));
  raw.socket.on('error', () => (dropped = true));
  const hello = JSON.stringify({
    type: 'hello',
    protocolVersion: 1,
    clientId: 'non-reader',
    clientName: 'x',
  });
  raw.socket.write(Buffer.concat([zeroMaskHeader(0x1, hello.length), Buffer.from(hello)]));
  await until(() => Buffer.concat(raw.received).includes('auth.challenge'), 10_000, 'welcome');
  raw.socket.pause();
  const one = JSON.stringify({ type: 'device.info.get', id: 1 });
  const frame = Buffer.concat([zeroMaskHeader(0x1, one.length), Buffer.from(one)]);
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => frame));
  let written = 0;
  while (written < maxRequests && !dropped) {
    raw.socket.write(batch);
    written += batch.length / frame.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  // The last writes may still be on their way to an error: give them a moment.
  await new Promise((r) => setTimeout(r, 500));
  raw.socket.destroy();
  return { requests: written, dropped };
}

/** How a device treated a socket that opened and then stalled. */
export interface StallOutcome {
  /** Milliseconds from connecting until the device closed the socket (null: still open at `waitMs`). */
  closedAfterMs: number | null;
  /** What the device wrote (an HTTP answer, WebSocket frames). */
  response: Buffer;
}

/**
 * Connects and sends `partial` (e.g. half an upgrade request), or a whole upgrade and then nothing (`'no-hello'`),
 * and waits up to `waitMs` for the device to close the socket.
 */
export async function stall(
  port: number,
  partial: string | 'no-hello',
  waitMs: number,
): Promise<StallOutcome> {
  const socket = connect({ port, host: HOST });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  const t0 = Date.now();
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(partial === 'no-hello' ? upgradeRequest() : partial);
  const closedAfterMs = await Promise.race([
    closed,
    new Promise<null>((r) => setTimeout(() => r(null), waitMs)),
  ]);
  socket.destroy();
  return { closedAfterMs, response: Buffer.concat(chunks) };
}

/** A pairing key and the clientId it was paired under. */
export interface SessionKey {
  clientId: string;
  keyId: string;
  key: string;
}

/** A protocol session over `ws`, from a chosen source address. */
export interface RawSession {
  readonly ws: WebSocket;
  readonly messages: DeviceMessage[];
  /** Resolves with the close code and reason once the device (or anyone) closes the connection. */
  readonly closed: Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
  send(message: Record<string, unknown>): void;
  /** The first received message of one of `types` (taken out of `messages`). */
  next(types: DeviceMessage['type'] | DeviceMessage['type'][], timeoutMs?: number): Promise<DeviceMessage>;
}

/** How an upgrade attempt was refused (the HTTP status and body). */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`upgrade refused with ${status}: ${body}`);
  }
}

/**
 * Opens a session from `localAddress` and takes it to `stage`: `connected` (nothing sent), `greeted` (hello
 * accepted) or `authenticated` (hello with `key.clientId`, then the key's proof). Rejects with {@link UpgradeRefused}
 * when the device refuses the connection.
 */
export async function openSession(
  port: number,
  stage: 'connected' | 'greeted' | 'authenticated',
  opts: { localAddress?: string; key?: SessionKey; clientId?: string } = {},
): Promise<RawSession> {
  const ws = new WebSocket(`ws://${HOST}:${port}/`, {
    perMessageDeflate: false,
    maxPayload: MAX_BINARY_FRAME_BYTES + 1024,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  const messages: DeviceMessage[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const parsed = decodeDeviceText(String(data));
    if (parsed.ok) messages.push(parsed.message);
    wake?.();
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
      res.on('error', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
    });
    ws.once('close', () => reject(new Error('closed before the upgrade completed')));
  });
  const session: RawSession = {
    ws,
    messages,
    closed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    send: (message) => ws.send(JSON.stringify(message)),
    async next(types, timeoutMs = 10_000) {
      const wanted: string[] = Array.isArray(types) ? types : [types];
      const end = Date.now() + timeoutMs;
      for (;;) {
        const i = messages.findIndex((m) => wanted.includes(m.type));
        if (i >= 0) return messages.splice(i, 1)[0]!;
        if (Date.now() > end || ws.readyState !== WebSocket.OPEN)
          throw new Error(
            `no ${wanted.join('/')} (got ${messages.map((m) => m.type).join(', ') || 'nothing'})`,
          );
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
  };
  if (stage === 'connected') return session;
  const clientId = opts.key?.clientId ?? opts.clientId ?? `abuser-${randomBytes(4).toString('hex')}`;
  session.send({ type: 'hello', protocolVersion: 1, clientId, clientName: 'abusive test client' });
  const welcome = await session.next('welcome');
  const challenge = await session.next('auth.challenge');
  if (stage === 'greeted') return session;
  const key = opts.key;
  if (!key) throw new Error('an authenticated session needs a key');
  if (welcome.type !== 'welcome' || challenge.type !== 'auth.challenge') throw new Error('unreachable');
  const deviceId = welcome.device.id;
  let answer: DeviceMessage | null = null;
  const proven = await exchangeAuthProofs(
    nodeHmacSha256,
    { deviceId, keyId: key.keyId, key: key.key },
    deviceId,
    challenge.nonce,
    async (message) => {
      session.send({ ...message, id: 1 });
      answer = await session.next(['auth.ok', 'error']);
      return answer;
    },
  );
  if (!proven) throw new Error(`authentication refused: ${JSON.stringify(answer)}`);
  return session;
}

/** Polls `check` until it holds. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
