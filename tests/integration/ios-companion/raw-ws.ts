// A hand-rolled WebSocket client over a raw TCP socket, for frames the `ws` client refuses to send (malformed
// ones). Not a test file itself.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A raw client after a successful handshake. */
export interface RawWs {
  socket: Socket;
  /** Everything received after the 101 response. */
  received(): Buffer;
  /** Resolves when the server ends or closes the socket. */
  ended: Promise<void>;
  /** Sends one frame; masked unless `mask` is false. */
  sendFrame(b0: number, payload: Uint8Array, opts?: { mask?: boolean; lengthOverride?: number }): void;
}

/** Builds a client frame (first byte as given, payload masked with a random key). */
export function clientFrame(
  b0: number,
  payload: Uint8Array,
  opts: { mask?: boolean; lengthOverride?: number } = {},
): Buffer {
  const mask = opts.mask ?? true;
  const len = opts.lengthOverride ?? payload.length;
  const parts: Buffer[] = [];
  const m = mask ? 0x80 : 0;
  if (len < 126) parts.push(Buffer.from([b0, m | len]));
  else if (len < 0x10000) parts.push(Buffer.from([b0, m | 126, len >> 8, len & 0xff]));
  else {
    const h = Buffer.alloc(10);
    h[0] = b0;
    h[1] = m | 127;
    h.writeBigUInt64BE(BigInt(len), 2);
    parts.push(h);
  }
  if (mask) {
    const key = randomBytes(4);
    parts.push(key);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
    parts.push(body);
  } else parts.push(Buffer.from(payload));
  return Buffer.concat(parts);
}

/** Sends `head` as the request; resolves with the raw response text once the server ends the socket. */
export function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.write(head);
  });
}

/** Opens a raw WebSocket (valid handshake). */
export function openRaw(port: number): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let open = false;
    let endResolve: () => void = () => undefined;
    const ended = new Promise<void>((r) => (endResolve = r));
    socket.on('close', () => endResolve());
    socket.on('end', () => endResolve());
    socket.on('error', (e) => (open ? undefined : reject(e)));
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (open) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      if (!head.startsWith('HTTP/1.1 101')) {
        reject(new Error(`handshake failed: ${head}`));
        return;
      }
      open = true;
      resolve({
        socket,
        received: () => buf,
        ended,
        sendFrame: (b0, payload, opts) => socket.write(clientFrame(b0, payload, opts)),
      });
    });
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** The close code of the first close frame (opcode 8) in server bytes (server frames are unmasked). */
export function serverCloseCode(bytes: Buffer): number | null {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const op = bytes[at]! & 0x0f;
    let len = bytes[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (op === 8) return len >= 2 ? bytes.readUInt16BE(at + head) : 1005;
    at += head + len;
  }
  return null;
}
