import { describe, expect, it } from 'vitest';
import {
  SafetensorsError,
  SafetensorsFile,
  parseSafetensors,
} from '../../../../../shared/engine/safetensors/reader';
import { encodeSafetensors } from '../../../../../shared/engine/safetensors/writer';
import { floatTensor, int64Tensor } from '../../../../../shared/engine/tensor';
import { memoryReader, rawSafetensors, u16Bytes } from './raw-file';

const FILE = 'model.safetensors';
const QKV = 'spatial_blocks.0.attn.qkv.weight';

/** The error thrown by `fn`, or fails the test when none is. */
function errorOf(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError');
}

async function asyncErrorOf(p: Promise<unknown>): Promise<SafetensorsError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SafetensorsError);
  return e as SafetensorsError;
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('reading safetensors', () => {
  it('reads back F32 and I64 tensors and metadata it wrote, from memory and through a reader', async () => {
    const bytes = encodeSafetensors(
      [
        { name: 'a', tensor: floatTensor([2, 3], Float32Array.from([1, 2, 3, 4, 5, -6.5])) },
        { name: 'mask', tensor: int64Tensor([3], BigInt64Array.from([1n, 0n, -9007199254740993n])) },
        { name: 'empty', tensor: floatTensor([0, 4]) },
      ],
      { note: 'héllo ✓ 𝄞' },
    );
    const mem = parseSafetensors(bytes, FILE);
    expect(mem.names()).toEqual(['a', 'mask', 'empty']);
    expect(mem.metadata()).toEqual({ note: 'héllo ✓ 𝄞' });
    expect(mem.info('a')).toMatchObject({ dtype: 'F32', shape: [2, 3], byteLength: 24 });
    const a = mem.readFloat32('a', { expectShape: [2, 3] });
    expect([...a.data]).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect(a.data.buffer).toBe(bytes.buffer); // aligned: a view, no copy
    expect([...mem.readInt64('mask').data]).toEqual([1n, 0n, -9007199254740993n]);
    expect(mem.readFloat32('empty').dims).toEqual([0, 4]);

    const file = await SafetensorsFile.open(memoryReader(bytes, FILE));
    expect([...(await file.readFloat32('a')).data]).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect([...(await file.readInt64('mask')).data]).toEqual([1n, 0n, -9007199254740993n]);
    await file.close();
  });

  it('copies tensors whose data offsets are not aligned', () => {
    // A 3-byte-longer header leaves the data section at an odd offset.
    const header = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, __metadata__: { p: 'abc' } };
    const bytes = rawSafetensors(header, f32([0.5, -2]));
    expect((8 + JSON.stringify(header).length) % 4).not.toBe(0);
    const t = parseSafetensors(bytes, FILE).readFloat32('x');
    expect([...t.data]).toEqual([0.5, -2]);
    expect(t.data.buffer).not.toBe(bytes.buffer);
  });

  it('decodes F16, BF16 and I32 tensors', () => {
    const data = new Uint8Array([
      ...u16Bytes([0x3c00, 0x0001]),
      ...u16Bytes([0x3f80, 0xc049]),
      0xff,
      0xff,
      0xff,
      0xff,
    ]);
    const st = parseSafetensors(
      rawSafetensors(
        {
          h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
          b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
          i: { dtype: 'I32', shape: [1], data_offsets: [8, 12] },
        },
        data,
      ),
      FILE,
    );
    expect([...st.readFloat32('h').data]).toEqual([1, 2 ** -24]);
    expect([...st.readFloat32('b').data]).toEqual([1, -3.140625]);
    expect([...st.readInt64('i').data]).toEqual([-1n]);
  });
});

describe('rejecting bad safetensors files', () => {
  const good = { [QKV]: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };

  it('names the file when the data section is truncated', () => {
    const bytes = rawSafetensors(good, f32([1, 2, 3]));
    const e = errorOf(() => parseSafetensors(bytes, FILE));
    const dataStart = 8 + JSON.stringify(good).length;
    expect(e.message).toBe(
      `${FILE}: file is truncated: header says data ends at byte ${dataStart + 16} but the file has ${bytes.length} bytes`,
    );
  });

  it('names the file when the header is not valid JSON', async () => {
    const e = await asyncErrorOf(
      SafetensorsFile.open(memoryReader(rawSafetensors('{"a": [1, 2', new Uint8Array(0)), FILE)),
    );
    expect(e.message).toMatch(/^model\.safetensors: header is not valid JSON/);
  });

  it('names the file when the header length is larger than the file', () => {
    const e = errorOf(() =>
      parseSafetensors(rawSafetensors(good, f32([1, 2, 3, 4]), { headerLength: 5000n }), FILE),
    );
    expect(e.message).toMatch(
      /^model\.safetensors: header length 5000 is larger than the file \(\d+ bytes\)$/,
    );
    const huge = errorOf(() =>
      parseSafetensors(rawSafetensors(good, f32([]), { headerLength: 2n ** 60n }), FILE),
    );
    expect(huge.message).toContain('exceeds the 100000000-byte limit');
    expect(errorOf(() => parseSafetensors(new Uint8Array(3), FILE)).message).toContain('file is truncated');
  });

  it('names the file and tensor when offsets do not match the shape or run past the file', () => {
    const bad = { [QKV]: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } };
    const e = errorOf(() => parseSafetensors(rawSafetensors(bad, f32([1, 2, 3, 4])), FILE));
    expect(e.message).toBe(
      `${FILE}: tensor "${QKV}" has data_offsets [0, 12] (12 bytes) but shape [2, 2] × F32 needs 16 bytes`,
    );
    expect(e.tensor).toBe(QKV);
    const past = { [QKV]: { dtype: 'F32', shape: [2, 2], data_offsets: [64, 80] } };
    expect(errorOf(() => parseSafetensors(rawSafetensors(past, f32([1, 2, 3, 4])), FILE)).message).toContain(
      'file is truncated: header says data ends at byte',
    );
    const missing = { [QKV]: { dtype: 'F32', shape: [4] } };
    expect(errorOf(() => parseSafetensors(rawSafetensors(missing, f32([1, 2, 3, 4])), FILE)).message).toBe(
      `${FILE}: tensor "${QKV}" has no valid "data_offsets" ([begin, end] byte offsets)`,
    );
  });

  it('names both tensors when their data overlaps', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    const e = errorOf(() => parseSafetensors(rawSafetensors(header, f32([1, 2, 3])), FILE));
    expect(e.message).toBe(`${FILE}: tensor "b" overlaps tensor "a" (data_offsets 4 < 8)`);
  });

  it('names the file, tensor and both shapes when the shape is not the expected one', async () => {
    const file = await SafetensorsFile.open(memoryReader(rawSafetensors(good, f32([1, 2, 3, 4])), FILE));
    const e = await asyncErrorOf(file.readFloat32(QKV, { expectShape: [2, 1, 2] }));
    expect(e.message).toBe(`${FILE}: tensor "${QKV}" has shape [2, 2], expected [2, 1, 2]`);
  });

  it('rejects unsupported and unknown dtypes with a clear message', () => {
    const f64 = { w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } };
    const st = parseSafetensors(rawSafetensors(f64, f32([0, 0])), FILE);
    expect(errorOf(() => st.readFloat32('w')).message).toBe(
      `${FILE}: tensor "w" has dtype F64, which this reader does not support (supported: F32, F16, BF16, I64, I32)`,
    );
    const i64 = parseSafetensors(
      encodeSafetensors([{ name: 'm', tensor: int64Tensor([1], new BigInt64Array(1)) }]),
      FILE,
    );
    expect(errorOf(() => i64.readFloat32('m')).message).toBe(
      `${FILE}: tensor "m" has dtype I64, expected a float dtype (F32, F16 or BF16)`,
    );
    const unknown = { w: { dtype: 'Q4_K', shape: [1], data_offsets: [0, 1] } };
    expect(errorOf(() => parseSafetensors(rawSafetensors(unknown, new Uint8Array(1)), FILE)).message).toBe(
      `${FILE}: tensor "w" has unknown dtype "Q4_K"`,
    );
  });

  it('names the file and tensor when a tensor is missing', () => {
    const st = parseSafetensors(rawSafetensors(good, f32([1, 2, 3, 4])), FILE);
    expect(errorOf(() => st.readFloat32('x')).message).toBe(`${FILE}: missing tensor "x"`);
  });
});
