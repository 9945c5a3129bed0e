/**
 * The server side of the RFC 6455 opening handshake: reads the client's HTTP/1.1 upgrade request and answers
 * `101 Switching Protocols` with `Sec-WebSocket-Accept` = base64(SHA-1(key + GUID)) — SHA-1 from @noble/hashes (pure
 * JS: the app has no Node crypto). Anything else gets a plain HTTP error and the socket is closed.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { fromByteArray, toByteArray } from 'base64-js';
import { utf8Decode, utf8Encode } from '../../../shared/engine/safetensors/utf8';
import { DEFAULT_CONNECTION_LIMITS } from '../../../shared/protocol/limits';

/** The GUID RFC 6455 appends to the client's key. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Longest request head accepted by default (request line + headers), bytes. */
export const MAX_HANDSHAKE_BYTES = DEFAULT_CONNECTION_LIMITS.maxUpgradeRequestBytes;

/** `Sec-WebSocket-Accept` for a client key. */
export function acceptKey(clientKey: string): string {
  return fromByteArray(sha1(utf8Encode(clientKey + WEBSOCKET_GUID)));
}

/** The outcome of reading a request head. */
export type HandshakeResult =
  | { kind: 'incomplete' }
  /** `response` is the 101 answer; `rest` are bytes that followed the head (the first frames). */
  | { kind: 'accept'; response: Uint8Array; rest: Uint8Array; path: string }
  /** `response` is an HTTP error to send before closing. */
  | { kind: 'reject'; status: number; reason: string; response: Uint8Array };

function findHeadEnd(buf: Uint8Array): number {
  for (let i = 3; i < buf.length; i++)
    if (buf[i] === 0x0a && buf[i - 1] === 0x0d && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) return i + 1;
  return -1;
}

/** A plain HTTP error answer (`extra`: more header lines, each ending in CRLF). */
export function httpError(status: number, text: string, reason: string, extra = ''): Uint8Array {
  const body = `${reason}\n`;
  const head =
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n` +
    `${extra}Content-Length: ${utf8Encode(body).length}\r\n\r\n`;
  return utf8Encode(head + body);
}

function reject(status: number, text: string, reason: string, extra = ''): HandshakeResult {
  return { kind: 'reject', status, reason, response: httpError(status, text, reason, extra) };
}

function hasToken(value: string | undefined, token: string): boolean {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .includes(token);
}

/** Reads the upgrade request from the bytes received so far (a head over `maxBytes` is refused with 431). */
export function readHandshake(buf: Uint8Array, maxBytes = MAX_HANDSHAKE_BYTES): HandshakeResult {
  const end = findHeadEnd(buf);
  if (end < 0) {
    if (buf.length > maxBytes)
      return reject(431, 'Request Header Fields Too Large', `request head over ${maxBytes} bytes`);
    return { kind: 'incomplete' };
  }
  if (end > maxBytes)
    return reject(431, 'Request Header Fields Too Large', `request head over ${maxBytes} bytes`);
  const text = utf8Decode(buf.subarray(0, end - 4));
  if (text === null) return reject(400, 'Bad Request', 'request head is not valid UTF-8');
  const [requestLine = '', ...lines] = text.split('\r\n');
  const m = /^GET (\S+) HTTP\/1\.1$/.exec(requestLine);
  if (!m)
    return reject(
      400,
      'Bad Request',
      `expected "GET <path> HTTP/1.1", got ${JSON.stringify(requestLine.slice(0, 80))}`,
    );
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0)
      return reject(400, 'Bad Request', `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  if (!hasToken(headers.get('upgrade'), 'websocket'))
    return reject(
      426,
      'Upgrade Required',
      'this port speaks WebSocket only (Upgrade: websocket missing)',
      'Upgrade: websocket\r\n',
    );
  if (!hasToken(headers.get('connection'), 'upgrade'))
    return reject(400, 'Bad Request', 'Connection: Upgrade missing');
  if (headers.get('sec-websocket-version') !== '13')
    return reject(
      426,
      'Upgrade Required',
      'Sec-WebSocket-Version must be 13',
      'Sec-WebSocket-Version: 13\r\n',
    );
  const key = headers.get('sec-websocket-key') ?? '';
  let keyBytes = 0;
  try {
    keyBytes = /^[A-Za-z0-9+/]{22}==$/.test(key) ? toByteArray(key).length : 0;
  } catch {
    keyBytes = 0;
  }
  if (keyBytes !== 16) return reject(400, 'Bad Request', 'Sec-WebSocket-Key must be 16 bytes in base64');
  // No subprotocol and no extension is negotiated: permessage-deflate offers are simply not accepted.
  const response = utf8Encode(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
  return { kind: 'accept', response, rest: buf.subarray(end), path: m[1] ?? '/' };
}
