import { describe, expect, it } from 'vitest';
import type { FileWriter } from '../../../../../shared/engine/ports';
import { SafetensorsError, parseSafetensors } from '../../../../../shared/engine/safetensors/reader';
import {
  SafetensorsStreamWriter,
  planSafetensors,
  writeSafetensors,
} from '../../../../../shared/engine/safetensors/writer';
import { floatTensor } from '../../../../../shared/engine/tensor';

/** A FileWriter collecting chunks in memory. */
function collector(): FileWriter & { bytes(): Uint8Array; chunks: Uint8Array[]; closed: boolean } {
  const chunks: Uint8Array[] = [];
  const w = {
    chunks,
    closed: false,
    write: async (b: Uint8Array) => void chunks.push(b.slice()),
    close: async () => void (w.closed = true),
    bytes: () => Uint8Array.from(chunks.flatMap((c) => [...c])),
  };
  return w;
}

describe('writing safetensors', () => {
  it('pads the header with spaces so the data section starts 8-byte aligned', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const layout = planSafetensors([{ name, dtype: 'F32', shape: [3] }]);
      expect(layout.header.length % 8).toBe(0);
      expect(layout.entries[0]!.fileOffset).toBe(layout.header.length);
      const json = Buffer.from(layout.header.subarray(8)).toString('utf8');
      expect(JSON.parse(json)).toEqual({ [name]: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } });
      expect(json).toMatch(/^\{.*\} *$/);
    }
  });

  it('streams the header first and then each tensor, and the result parses', async () => {
    const out = collector();
    await writeSafetensors(out, [
      { name: 'w', tensor: floatTensor([2], Float32Array.from([1, 2])) },
      { name: 'b', tensor: floatTensor([1], Float32Array.from([3])) },
    ]);
    expect(out.chunks.length).toBe(3);
    expect(out.closed).toBe(true);
    const st = parseSafetensors(out.bytes(), 'out.safetensors');
    expect([...st.readFloat32('w').data]).toEqual([1, 2]);
    expect([...st.readFloat32('b').data]).toEqual([3]);
  });

  it('rejects tensors written out of order, with the wrong size, or never written', async () => {
    const entries = [
      { name: 'a', dtype: 'F32' as const, shape: [2] },
      { name: 'b', dtype: 'F32' as const, shape: [1] },
    ];
    const w1 = await SafetensorsStreamWriter.begin(collector(), entries, { file: 'x.safetensors' });
    await expect(w1.writeTensor('b', new Float32Array(1))).rejects.toThrow(
      'x.safetensors: tensor "b" was written out of order (expected "a" next)',
    );
    await expect(w1.writeTensor('a', new Float32Array(3))).rejects.toThrow(SafetensorsError);
    await w1.writeTensor('a', new Float32Array(2));
    await expect(w1.finish()).rejects.toThrow('x.safetensors: tensor "b" was planned but never written');
    expect(() => planSafetensors([entries[0]!, entries[0]!], undefined, 'x.safetensors')).toThrow(
      'x.safetensors: tensor "a" is listed twice',
    );
  });
});
