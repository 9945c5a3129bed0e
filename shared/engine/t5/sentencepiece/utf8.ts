/**
 * UTF-8 exactly as SentencePiece's `string_util` reads it (util.h / util.cc): a character's length comes from its
 * lead byte alone (`OneCharLen`), and a sequence that `DecodeUTF8` rejects (bad trail byte, overlong form,
 * surrogate, past U+10FFFF, cut short) is one invalid byte. shared/ has no TextEncoder, hence these helpers.
 */

/** Byte length of the character a lead byte starts, by its high nibble only (SentencePiece's `OneCharLen`). */
export function oneCharLen(lead: number): number {
  const hi = lead >> 4;
  return hi < 0xc ? 1 : hi < 0xe ? 2 : hi === 0xe ? 3 : 4;
}

const isTrail = (b: number | undefined): boolean => b !== undefined && (b & 0xc0) === 0x80;
const isValidCodepoint = (cp: number): boolean => cp < 0xd800 || (cp >= 0xe000 && cp <= 0x10ffff);

/**
 * Length of the valid character at `bytes[pos]` (before `end`), or 0 where SentencePiece's `IsValidDecodeUTF8`
 * fails (it then consumes one byte as U+FFFD).
 */
export function validCharLength(bytes: Uint8Array, pos: number, end: number): number {
  const len = end - pos;
  const b0 = bytes[pos] as number;
  if (b0 < 0x80) return 1;
  // Same branch order as DecodeUTF8: a lead byte whose sequence is cut short is invalid, not retried shorter.
  if (len >= 2 && (b0 & 0xe0) === 0xc0) {
    const b1 = bytes[pos + 1];
    const cp = ((b0 & 0x1f) << 6) | ((b1 as number) & 0x3f);
    return isTrail(b1) && cp >= 0x80 && isValidCodepoint(cp) ? 2 : 0;
  }
  if (len >= 3 && (b0 & 0xf0) === 0xe0) {
    const b1 = bytes[pos + 1];
    const b2 = bytes[pos + 2];
    const cp = ((b0 & 0x0f) << 12) | (((b1 as number) & 0x3f) << 6) | ((b2 as number) & 0x3f);
    return isTrail(b1) && isTrail(b2) && cp >= 0x800 && isValidCodepoint(cp) ? 3 : 0;
  }
  if (len >= 4 && (b0 & 0xf8) === 0xf0) {
    const b1 = bytes[pos + 1];
    const b2 = bytes[pos + 2];
    const b3 = bytes[pos + 3];
    const cp =
      ((b0 & 0x07) << 18) |
      (((b1 as number) & 0x3f) << 12) |
      (((b2 as number) & 0x3f) << 6) |
      ((b3 as number) & 0x3f);
    return isTrail(b1) && isTrail(b2) && isTrail(b3) && cp >= 0x10000 && isValidCodepoint(cp) ? 4 : 0;
  }
  return 0;
}

/**
 * Encodes a string as UTF-8. A lone surrogate (which Python cannot even encode) becomes U+FFFD, as TextEncoder
 * does, so a JS prompt always reaches the normalizer as well-formed UTF-8.
 */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else cp = 0xfffd;
    }
    if (cp < 0x80) out[n++] = cp;
    else if (cp < 0x800) {
      out[n++] = 0xc0 | (cp >> 6);
      out[n++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[n++] = 0xe0 | (cp >> 12);
      out[n++] = 0x80 | ((cp >> 6) & 0x3f);
      out[n++] = 0x80 | (cp & 0x3f);
    } else {
      out[n++] = 0xf0 | (cp >> 18);
      out[n++] = 0x80 | ((cp >> 12) & 0x3f);
      out[n++] = 0x80 | ((cp >> 6) & 0x3f);
      out[n++] = 0x80 | (cp & 0x3f);
    }
  }
  return out.slice(0, n);
}

/** Decodes UTF-8 bytes [start, end), each invalid byte becoming U+FFFD (the encoder's output is always valid). */
export function utf8ToString(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const units: number[] = [];
  let pos = start;
  while (pos < end) {
    const len = validCharLength(bytes, pos, end);
    const b0 = bytes[pos] as number;
    let cp: number;
    if (len === 0) cp = 0xfffd;
    else if (len === 1) cp = b0;
    else {
      cp = b0 & (0xff >> (len + 1));
      for (let k = 1; k < len; k++) cp = (cp << 6) | ((bytes[pos + k] as number) & 0x3f);
    }
    if (cp < 0x10000) units.push(cp);
    else units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    pos += len === 0 ? 1 : len;
  }
  let out = '';
  for (let i = 0; i < units.length; i += 8192) out += String.fromCharCode(...units.slice(i, i + 8192));
  return out;
}

/** Whether bytes are entirely valid UTF-8 by SentencePiece's rules. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  for (let pos = 0; pos < bytes.length;) {
    const len = validCharLength(bytes, pos, bytes.length);
    if (len === 0) return false;
    pos += len;
  }
  return true;
}
