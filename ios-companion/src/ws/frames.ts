/**
 * RFC 6455 framing: opcodes, close codes, server-to-client frame encoding (never masked) and in-place unmasking.
 */
import { utf8Encode } from '../../../shared/engine/safetensors/utf8';

/** Frame opcodes. */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes this codec sends (RFC 6455 section 7.4.1). */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  noStatus: 1005,
  abnormal: 1006,
  invalidData: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;

/** Longest close reason, UTF-8 bytes (a control frame holds 125 bytes, 2 of them the code). */
const MAX_CLOSE_REASON_BYTES = 123;

/** Whether a close code may appear in a received close frame (RFC 6455 7.4, IANA registry). */
export function isValidReceivedCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** The header of an unmasked frame carrying `length` payload bytes. */
export function frameHeader(opcode: number, length: number, fin = true): Uint8Array {
  const b0 = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Uint8Array.of(b0, length);
  if (length < 0x10000) return Uint8Array.of(b0, 126, length >>> 8, length & 0xff);
  const hi = Math.floor(length / 0x100000000);
  const lo = length >>> 0;
  return Uint8Array.of(
    b0,
    127,
    (hi >>> 24) & 0xff,
    (hi >>> 16) & 0xff,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    lo >>> 24,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  );
}

/** One whole unmasked frame (header + payload copied together: for small frames). */
export function encodeFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const header = frameHeader(opcode, payload.length, fin);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** UTF-8 of `text` cut to at most `maxBytes` without splitting a character. */
export function utf8Truncated(text: string, maxBytes: number): Uint8Array {
  const bytes = utf8Encode(text);
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** The payload of a close frame: the code, then the reason (cut to 123 bytes). */
export function closePayload(code: number, reason: string): Uint8Array {
  const r = utf8Truncated(reason, MAX_CLOSE_REASON_BYTES);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** XORs `buf` with the 4-byte `mask` in place, a word at a time where the view is aligned. */
export function unmask(buf: Uint8Array, mask: Uint8Array): void {
  const n = buf.length;
  let i = 0;
  if (n >= 16 && buf.byteOffset % 4 === 0) {
    // Both arrays are read in the platform's byte order, so the word XOR lines up byte for byte.
    const m32 = new Uint32Array(Uint8Array.of(mask[0]!, mask[1]!, mask[2]!, mask[3]!).buffer)[0]!;
    const words = n >>> 2;
    const w = new Uint32Array(buf.buffer, buf.byteOffset, words);
    for (let k = 0; k < words; k++) w[k] = w[k]! ^ m32;
    i = words * 4;
  }
  for (; i < n; i++) buf[i] = buf[i]! ^ mask[i & 3]!;
}
