/**
 * Reading a float tensor from a file straight into the float32 buffer it is decoded to: F32 lands in place, F16 and
 * BF16 are read into the upper half of the target's own bytes and widened in place, front to back (element i is
 * written over bytes [4i, 4i + 4), which only ever overlap half-values already consumed). No intermediate buffer
 * is allocated, so a converter streaming tens of gigabytes keeps one buffer per block, not one per tensor.
 */
import type { RandomAccessReader } from '../ports';
import { decodeFloat, halfToFloatBits, HOST_LITTLE_ENDIAN, type FloatDtype } from './dtype';

/** Reads `out.length` values of `dtype` at absolute `fileOffset` into `out` (see the module comment). */
export async function readFloatInto(
  reader: RandomAccessReader,
  fileOffset: number,
  dtype: FloatDtype,
  out: Float32Array,
): Promise<void> {
  const n = out.length;
  const width = dtype === 'F32' ? 4 : 2;
  if (n === 0) return;
  if (reader.readInto === undefined || !HOST_LITTLE_ENDIAN) {
    decodeFloat(dtype, await reader.read(fileOffset, n * width), out);
    return;
  }
  const bytes = new Uint8Array(out.buffer, out.byteOffset, n * 4);
  if (dtype === 'F32') {
    await reader.readInto(fileOffset, bytes);
    return;
  }
  // Half values in bytes [2n, 4n) of the target, then widened in place from the front.
  await reader.readInto(fileOffset, bytes.subarray(2 * n));
  const words = new Uint16Array(out.buffer, out.byteOffset, 2 * n);
  const bits = new Uint32Array(out.buffer, out.byteOffset, n);
  if (dtype === 'BF16') {
    for (let i = 0; i < n; i++) bits[i] = (words[n + i] as number) << 16;
    return;
  }
  const table = halfToFloatBits();
  for (let i = 0; i < n; i++) bits[i] = table[words[n + i] as number] as number;
}
