/**
 * Lossless PNG and APNG encoding of 8-bit RGB frames in pure TypeScript (deflate by fflate), so every host — Node,
 * the studio, React Native on Hermes — writes the same bytes. Truecolour (colour type 2), filter "up" on every row
 * but the first. Written here rather than with upng-js: `UPNG.encode(…, 0)` picks a palette for frames of at most
 * 256 colours and then, at some sizes (e.g. 12×8 px with 96 colours), writes truncated chunks that strict decoders
 * refuse — for single PNGs and for APNG frames alike.
 */
import { zlibSync } from 'fflate';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (PNG, zlib) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u32(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, false);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  u32(view, 0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  u32(view, 8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function checkFrame(rgb: Uint8Array, width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`${what}: size ${width}×${height} is not a positive integer size`);
  if (rgb.length !== width * height * 3)
    throw new RangeError(`${what}: ${rgb.length} bytes is not ${width}×${height}×3`);
}

/** zlib stream of the filtered scanlines of one frame. */
function imageData(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const stride = width * 3;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1);
    raw[row] = y === 0 ? 0 : 2; // none, then "up"
    for (let x = 0; x < stride; x++) {
      const v = rgb[y * stride + x] as number;
      raw[row + 1 + x] = y === 0 ? v : (v - (rgb[(y - 1) * stride + x] as number)) & 0xff;
    }
  }
  return zlibSync(raw);
}

function ihdr(width: number, height: number): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  u32(view, 0, width);
  u32(view, 4, height);
  data.set([8, 2, 0, 0, 0], 8); // depth 8, truecolour, deflate, adaptive filtering, no interlace
  return chunk('IHDR', data);
}

/** A PNG file of one RGB frame (`rgb.length === width * height * 3`). */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  checkFrame(rgb, width, height, 'encodeRgbPng');
  return concat([
    SIGNATURE,
    ihdr(width, height),
    chunk('IDAT', imageData(rgb, width, height)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** An animated PNG (APNG) of RGB frames, each shown `delayMs`, looping forever; viewers without APNG show frame 0. */
export function encodeRgbApng(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  delayMs: number,
): Uint8Array {
  if (frames.length === 0) throw new RangeError('encodeRgbApng: no frames');
  if (!(delayMs >= 0 && delayMs <= 65_535))
    throw new RangeError(`encodeRgbApng: delay ${delayMs} ms out of 0..65535`);
  const parts: Uint8Array[] = [SIGNATURE, ihdr(width, height)];
  const actl = new Uint8Array(8);
  u32(new DataView(actl.buffer), 0, frames.length); // num_frames; num_plays 0 = forever
  parts.push(chunk('acTL', actl));
  let seq = 0;
  frames.forEach((rgb, i) => {
    checkFrame(rgb, width, height, `encodeRgbApng frame ${i}`);
    const fctl = new Uint8Array(26);
    const v = new DataView(fctl.buffer);
    u32(v, 0, seq++);
    u32(v, 4, width);
    u32(v, 8, height);
    // x/y offsets 0; delay = round(delayMs) / 1000 s; dispose none, blend source
    v.setUint16(20, Math.round(delayMs), false);
    v.setUint16(22, 1000, false);
    parts.push(chunk('fcTL', fctl));
    const data = imageData(rgb, width, height);
    if (i === 0) parts.push(chunk('IDAT', data));
    else {
      const fdat = new Uint8Array(4 + data.length);
      u32(new DataView(fdat.buffer), 0, seq++);
      fdat.set(data, 4);
      parts.push(chunk('fdAT', fdat));
    }
  });
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concat(parts);
}
