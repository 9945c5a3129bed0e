/**
 * SHA-256 and HMAC-SHA256 for the companion's ports, in pure JavaScript (@noble/hashes): the app has no Node crypto
 * and Hermes no WebCrypto. Hashing yields to the event loop between 4 MiB pieces, so sockets keep being served
 * while a block is verified.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Sha256 } from '../../../shared/engine/ports';
import type { HmacSha256 } from '../../../shared/protocol/auth';
import { bytesToHex } from '../../../shared/protocol/auth';

const PIECE_BYTES = 4 * 1024 * 1024;

/** SHA-256 as lowercase hex. */
export const jsSha256: Sha256 = async (bytes) => {
  if (bytes.length <= PIECE_BYTES) return bytesToHex(sha256(bytes));
  const h = sha256.create();
  for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
    h.update(bytes.subarray(at, at + PIECE_BYTES));
    await new Promise<void>((r) => setTimeout(r, 0));
  }
  return bytesToHex(h.digest());
};

/** HMAC-SHA256. */
export const jsHmacSha256: HmacSha256 = async (key, message) => hmac(sha256, key, message);
