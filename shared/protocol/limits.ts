/**
 * Protocol version and the hard limits both ends enforce (docs/protocol.md, "Versioning" and "Limits").
 */

/**
 * The wire protocol version this build speaks. Bump on any incompatible change to a message or the frame header,
 * and on any added message or field (objects are strict). 2: device info's `runModel`.
 */
export const PROTOCOL_VERSION = 2;

/** The oldest protocol version a device built from this code still serves. */
export const MIN_PROTOCOL_VERSION = 1;

/** Largest JSON text message, in UTF-8 bytes. Larger messages get `message-too-large` and are not parsed. */
export const MAX_JSON_MESSAGE_BYTES = 1024 * 1024;

/** Largest binary frame (header + payload), in bytes. */
export const MAX_BINARY_FRAME_BYTES = 64 * 1024 * 1024;

/** Largest block-set chunk payload, in bytes. */
export const MAX_BLOCKSET_CHUNK_BYTES = 4 * 1024 * 1024;

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
