import { describe, expect, it } from 'vitest';
import type { RandomAccessReader } from '../../../../../shared/engine/ports';
import { decodeFloat, type FloatDtype } from '../../../../../shared/engine/safetensors/dtype';
import { readFloatInto } from '../../../../../shared/engine/safetensors/read-into';

function reader(bytes: Uint8Array, withInto: boolean): RandomAccessReader & { allocations: number } {
  const r = {
    name: 'mem',
    allocations: 0,
    size: async () => bytes.byteLength,
    read: async (offset: number, length: number) => {
      r.allocations++;
      return bytes.slice(offset, offset + length);
    },
    close: async () => undefined,
    ...(withInto
      ? {
          readInto: async (offset: number, target: Uint8Array) => {
            target.set(bytes.subarray(offset, offset + target.byteLength));
          },
        }
      : {}),
  };
  return r;
}

describe('readFloatInto', () => {
  const n = 1001;
  const raw = new Uint8Array(7 + 4 * n);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 131 + 17) & 0xff;
  for (const dtype of ['F32', 'F16', 'BF16'] as FloatDtype[])
    for (const withInto of [true, false])
      it(`decodes ${dtype} exactly like decodeFloat (${withInto ? 'in place' : 'through read'})`, async () => {
        const width = dtype === 'F32' ? 4 : 2;
        const want = decodeFloat(dtype, raw.slice(7, 7 + n * width));
        const r = reader(raw, withInto);
        const out = new Float32Array(n);
        await readFloatInto(r, 7, dtype, out);
        expect(new Uint32Array(out.buffer)).toEqual(new Uint32Array(want.buffer, want.byteOffset, n));
        expect(r.allocations).toBe(withInto ? 0 : 1);
      });
});
