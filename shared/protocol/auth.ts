/**
 * What pairing and challenge-response compute (docs/protocol.md, "Authentication"). Both ends use these
 * functions; the HMAC-SHA256 primitive is injected because shared/ has no crypto.
 */
import { utf8Encode } from '../engine/safetensors/utf8';

/** HMAC-SHA256 of `message` under `key` (32 bytes out). Node: crypto.createHmac; iOS: CryptoKit; web: SubtleCrypto. */
export type HmacSha256 = (key: Uint8Array, message: Uint8Array) => Promise<Uint8Array>;

/** Long-term key length in bytes (sent once, hex-encoded, in `pair.ok`). */
export const PAIRING_KEY_BYTES = 32;
/** Nonce length in bytes (hex-encoded on the wire: 32 hex digits). */
export const NONCE_BYTES = 16;

/** Which side proves it holds the key: the client in `auth.response`, the device in `auth.ok`. */
export type AuthRole = 'client' | 'device';

/** The fields both proofs bind together. */
export interface AuthTranscript {
  deviceId: string;
  keyId: string;
  /** The device's nonce from `auth.challenge` (lowercase hex). */
  deviceNonce: string;
  /** The client's nonce from `auth.response` (lowercase hex). */
  clientNonce: string;
}

/**
 * The exact text that is MACed: `odsora-auth-v1 <role>` then deviceId, keyId, deviceNonce, clientNonce, joined
 * by `\n` (no trailing newline), UTF-8 encoded. The role label keeps a client proof from being replayed as a
 * device proof.
 */
export function authMessage(role: AuthRole, t: AuthTranscript): string {
  return [`odsora-auth-v1 ${role}`, t.deviceId, t.keyId, t.deviceNonce, t.clientNonce].join('\n');
}

/** The proof (`mac` or `deviceMac`): lowercase hex of HMAC-SHA256(key bytes, UTF-8 of {@link authMessage}). */
export async function computeAuthProof(
  hmac: HmacSha256,
  keyHex: string,
  role: AuthRole,
  transcript: AuthTranscript,
): Promise<string> {
  const key = hexToBytes(keyHex);
  if (key === null) throw new RangeError('the pairing key must be lowercase hex');
  return bytesToHex(await hmac(key, utf8Encode(authMessage(role, transcript))));
}

/** Lowercase hex of some bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Bytes of a lowercase hex string; null when it is not one (odd length or another character). */
export function hexToBytes(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Compares two strings in time that depends only on their lengths (for MACs and codes). */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}
