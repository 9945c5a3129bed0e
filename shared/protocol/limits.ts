/**
 * Protocol version and the hard limits both ends enforce (docs/protocol.md, "Versioning" and "Limits").
 */

/**
 * The wire protocol version this build speaks. Bump on any incompatible change to a message or the frame header,
 * and on any added message or field (objects are strict). 2: device info's `runModel`; 3: `placement` in
 * `block.compute.end`.
 */
export const PROTOCOL_VERSION = 3;

/** The oldest protocol version a device built from this code still serves. */
export const MIN_PROTOCOL_VERSION = 1;

/** Largest JSON text message, in UTF-8 bytes. Larger messages get `message-too-large` and are not parsed. */
export const MAX_JSON_MESSAGE_BYTES = 1024 * 1024;

/** Largest binary frame (header + payload), in bytes. */
export const MAX_BINARY_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * What one device allows each connection, from the TCP accept on (docs/protocol.md, "Connection limits"). Both
 * hosts' WebSocket servers (the Node companion's and the phone's own) enforce exactly these; tests may lower them.
 */
export interface ConnectionLimits {
  /** Connections (TCP, counted from accept) the device holds at once. */
  maxConnections: number;
  /** Connections from one address (an IPv4 address, an IPv6 /64) at once. */
  maxConnectionsPerAddress: number;
  /** The HTTP upgrade request must be complete this long after the TCP connection opened. */
  upgradeTimeoutMs: number;
  /** Longest upgrade request head (request line and headers), bytes. */
  maxUpgradeRequestBytes: number;
  /** `hello` must be accepted this long after the WebSocket opened. */
  helloTimeoutMs: number;
  /** An unauthenticated session must pair or authenticate this long after `hello` (or its latest `pair.start`). */
  authTimeoutMs: number;
  /** Largest message before the session is authenticated (a larger one: close 1009 from its header alone). */
  maxUnauthenticatedMessageBytes: number;
  /** Largest message once authenticated. */
  maxMessageBytes: number;
  /** Bytes the device may hold unsent for an unauthenticated client before it drops the connection. */
  maxUnauthenticatedUnsentBytes: number;
  /** Bytes the device may hold unsent for an authenticated client before it drops the connection. */
  maxUnsentBytes: number;
}

/** Largest block-set chunk payload, in bytes. */
export const MAX_BLOCKSET_CHUNK_BYTES = 4 * 1024 * 1024;

/** The limits every device enforces (a device's memory stays bounded however many clients misbehave). */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 64,
  maxConnectionsPerAddress: 16,
  upgradeTimeoutMs: 10_000,
  maxUpgradeRequestBytes: 16 * 1024,
  helloTimeoutMs: 10_000,
  authTimeoutMs: 300_000,
  // hello, pair.request and auth.response are a few hundred bytes.
  maxUnauthenticatedMessageBytes: 16 * 1024,
  maxMessageBytes: MAX_BINARY_FRAME_BYTES,
  // Ten welcomes with a full device info.
  maxUnauthenticatedUnsentBytes: 1024 * 1024,
  // Two of the largest binary frames: a fetch of final frames queues many at once.
  maxUnsentBytes: 2 * MAX_BINARY_FRAME_BYTES,
});

/** Longest prompt, in UTF-16 code units (the T5 tokenizer truncates far below this anyway). */
export const MAX_PROMPT_CHARS = 4000;

/** Most events one event-log `read` returns (a replay pages through the log in reads of this size). */
export const MAX_EVENTS_PER_READ = 10_000;

/** Digits in a pairing code. */
export const PAIRING_CODE_DIGITS = 6;

/** UTF-8 byte length of a string, without allocating (shared/ has no TextEncoder). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
