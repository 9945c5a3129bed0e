/** Test helpers: hand-built safetensors files (any header, any bytes) and an in-memory RandomAccessReader. */
import type { RandomAccessReader } from '../../../../../shared/engine/ports';

/** A safetensors file from a header object and a data section; `headerLength` overrides the u64 prefix. */
export function rawSafetensors(
  header: Record<string, unknown> | string,
  data: Uint8Array,
  opts: { headerLength?: bigint } = {},
): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes of 16-bit words. */
export function u16Bytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 2);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint16(2 * i, w, true));
  return out;
}

/** A RandomAccessReader over bytes in memory. */
export function memoryReader(bytes: Uint8Array, name: string): RandomAccessReader {
  return {
    name,
    size: async () => bytes.byteLength,
    read: async (offset, length) => {
      if (offset + length > bytes.byteLength) throw new Error(`short read at ${offset}+${length}`);
      return bytes.slice(offset, offset + length);
    },
    close: async () => undefined,
  };
}

/** The value of a half-precision bit pattern, by the IEEE formula (independent of the reader's table). */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Truncates a float32 to half precision (round toward zero; normal range only — enough for test weights). */
export function floatToHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign; // flush tiny values to zero
  if (exp >= 31) return sign | 0x7bff;
  return sign | (exp << 10) | ((u >>> 13) & 0x3ff);
}
