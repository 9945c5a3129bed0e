/** Safetensors dtypes: element sizes, which ones this engine reads, and exact decoding to float32 / int64. */

/** Element size in bytes of every dtype the safetensors format defines (used to validate offsets). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Dtypes decoded to float32. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';
/** Dtypes decoded to int64. */
export type IntDtype = 'I64' | 'I32';
/** Every dtype this reader decodes. */
export type SupportedDtype = FloatDtype | IntDtype;

/** The dtypes this reader decodes, for error messages. */
export const SUPPORTED_DTYPES: readonly SupportedDtype[] = ['F32', 'F16', 'BF16', 'I64', 'I32'];

/** Whether a dtype decodes to float32. */
export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** Whether a dtype decodes to int64. */
export function isIntDtype(dtype: string): dtype is IntDtype {
  return dtype === 'I64' || dtype === 'I32';
}

/** True on little-endian hosts (all the engine's hosts); typed-array views of file bytes are only valid there. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let halfTable: Uint32Array | null = null;

/** float32 bit patterns of all 65536 half values: exact, incl. subnormals, ±inf and NaN payloads. */
export function halfToFloatBits(): Uint32Array {
  if (halfTable) return halfTable;
  const table = new Uint32Array(65536);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) {
      // Zero or subnormal: frac · 2^-24 is exactly representable in float32.
      f[0] = frac * 2 ** -24;
      table[h] = (sign | u[0]!) >>> 0;
    } else if (exp === 31) {
      table[h] = (sign | 0x7f800000 | (frac << 13)) >>> 0;
    } else {
      table[h] = (sign | ((exp + 112) << 23) | (frac << 13)) >>> 0;
    }
  }
  halfTable = table;
  return table;
}

/** Converts one IEEE half bit pattern to its exact float32 value. */
export function halfToFloat(bits: number): number {
  const f = new Float32Array(new Uint32Array([halfToFloatBits()[bits & 0xffff]!]).buffer);
  return f[0]!;
}

/** Little-endian 16-bit words of `bytes` (a view when aligned on a little-endian host, else a copy). */
function u16Words(bytes: Uint8Array): Uint16Array {
  const n = bytes.byteLength >> 1;
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0)
    return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint16Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true);
  return out;
}

/**
 * Decodes little-endian float data to float32. F32 data aligned on 4 bytes becomes a zero-copy view of `bytes`;
 * everything else is a fresh array. Pass `out` to decode into existing storage instead (always copies).
 */
export function decodeFloat(dtype: FloatDtype, bytes: Uint8Array, out?: Float32Array): Float32Array {
  const n = bytes.byteLength / (dtype === 'F32' ? 4 : 2);
  if (dtype === 'F32') {
    let view: Float32Array;
    if (HOST_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0)
      view = new Float32Array(bytes.buffer, bytes.byteOffset, n);
    else if (HOST_LITTLE_ENDIAN) view = new Float32Array(bytes.slice().buffer);
    else {
      view = new Float32Array(n);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) view[i] = dv.getFloat32(4 * i, true);
    }
    if (!out) return view;
    out.set(view);
    return out;
  }
  const words = u16Words(bytes);
  const target = out ?? new Float32Array(n);
  const bits = new Uint32Array(target.buffer, target.byteOffset, n);
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32: shifting is exact.
    for (let i = 0; i < n; i++) bits[i] = words[i]! << 16;
  } else {
    const table = halfToFloatBits();
    for (let i = 0; i < n; i++) bits[i] = table[words[i]!]!;
  }
  return target;
}

/** Decodes little-endian I64 (view when aligned) or I32 (widened copy) data to int64. */
export function decodeInt(dtype: IntDtype, bytes: Uint8Array): BigInt64Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'I32') {
    const n = bytes.byteLength / 4;
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt32(4 * i, true));
    return out;
  }
  const n = bytes.byteLength / 8;
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset % 8 === 0)
    return new BigInt64Array(bytes.buffer, bytes.byteOffset, n);
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(8 * i, true);
  return out;
}
