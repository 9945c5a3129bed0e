import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../../../shared/engine/checkpoint/errors';
import { unpickle } from '../../../../../shared/engine/checkpoint/pickle';
import { encodeStateDictPickle } from '../../../../../shared/engine/checkpoint/pickle-writer';
import type { TorchWriteEntry } from '../../../../../shared/engine/checkpoint/torch-writer';
import { TorchZipWriter } from '../../../../../shared/engine/checkpoint/torch-writer';
import { ZipReader } from '../../../../../shared/engine/checkpoint/zip-reader';
import { MemoryWriter, memoryReader } from '../../../../helpers/memory-fs';

/** data.pkl of torch 1.13's `torch.save(OrderedDict(w=ones(2), v=ones(1, f16), b=ones(2, 3, 1, 1, bf16)))`. */
const TORCH_113_ORDERED = Buffer.from(
  'gAJjY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcQApUnEBKFgBAAAAd3ECY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcQMoKFgHAAAAc3RvcmFnZXEEY3RvcmNoCkZsb2F0U3RvcmFnZQpxBVgBAAAAMHEGWAMAAABjcHVxB0sCdHEIUUsASwKFcQlLAYVxColoAClScQt0cQxScQ1YAQAAAHZxDmgDKChoBGN0b3JjaApIYWxmU3RvcmFnZQpxD1gBAAAAMXEQaAdLAXRxEVFLAEsBhXESSwGFcROJaAApUnEUdHEVUnEWWAEAAABicRdoAygoaARjdG9yY2gKQkZsb2F0MTZTdG9yYWdlCnEYWAEAAAAycRloB0sGdHEaUUsAKEsCSwNLAUsBdHEbKEsDSwFLAUsBdHEciWgAKVJxHXRxHlJxH3Uu',
  'base64',
);

const TENSORS: TorchWriteEntry[] = [
  { name: 'w', dtype: 'F32', shape: [2] },
  { name: 'v', dtype: 'F16', shape: [1] },
  { name: 'b', dtype: 'BF16', shape: [2, 3, 1, 1] },
];

async function write(tensors: readonly TorchWriteEntry[], data: Uint8Array[], forceZip64 = false) {
  const out = new MemoryWriter();
  const w = await TorchZipWriter.create(out, {
    archiveName: 'archive',
    tensors,
    file: 'model.bin',
    forceZip64,
  });
  for (let i = 0; i < tensors.length; i++) await w.writeTensor(tensors[i]!.name, data[i]!);
  await w.finish();
  return out;
}

async function errorOf(p: Promise<unknown>): Promise<CheckpointError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CheckpointError);
  return e as CheckpointError;
}

describe('writing torch.save zip files', () => {
  it('writes data.pkl byte for byte as torch 1.13 does', () => {
    expect(Buffer.from(encodeStateDictPickle(TENSORS)).equals(TORCH_113_ORDERED)).toBe(true);
  });

  it('batches more than 1000 tensors in SETITEMS like CPython, and reads them back in order', () => {
    const many = Array.from({ length: 1001 }, (_, i): TorchWriteEntry => ({
      name: `t${i}`,
      dtype: 'F32',
      shape: [i],
    }));
    const bytes = encodeStateDictPickle(many);
    const root = unpickle(bytes, { file: 'x', entry: 'archive/data.pkl' });
    expect(root).toMatchObject({ kind: 'dict', ordered: true });
    const keys = [...(root as { map: Map<string, unknown> }).map.keys()];
    expect(keys).toEqual(many.map((t) => t.name));
    expect(bytes[bytes.length - 2]).toBe(0x73); // the 1001st item is a lone SETITEM
  });

  for (const forceZip64 of [false, true]) {
    it(`aligns every record on 64 bytes with correct CRCs${forceZip64 ? ' (forced ZIP64)' : ''}`, async () => {
      const data = [new Uint8Array(8).fill(1), new Uint8Array(2).fill(2), new Uint8Array(12).fill(3)];
      const out = await write(TENSORS, data, forceZip64);
      const bytes = out.bytes();
      const zip = await ZipReader.open(memoryReader(bytes, 'model.bin'));
      expect(zip.entries().map((e) => e.name)).toEqual([
        'archive/data.pkl',
        'archive/byteorder',
        'archive/data/0',
        'archive/data/1',
        'archive/data/2',
        'archive/version',
      ]);
      for (const e of zip.entries()) {
        const start = await zip.dataOffset(e);
        expect(start % 64, e.name).toBe(0);
        expect(e.crc32, e.name).toBe(zlibCrc32(bytes.subarray(start, start + e.uncompressedSize)));
      }
      expect(new TextDecoder().decode(await zip.readAll(zip.entry('archive/version')!, 8))).toBe('3\n');
      expect(new TextDecoder().decode(await zip.readAll(zip.entry('archive/byteorder')!, 8))).toBe('little');
      const tail = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 22);
      expect(tail.getUint32(16, true) === 0xffffffff).toBe(forceZip64);
    });
  }

  it('keeps at most one tensor in memory: tensor bytes go out as they come', async () => {
    const big = new Uint8Array(300_000);
    const out = await write([{ name: 'big', dtype: 'F32', shape: [75_000] }], [big]);
    const largest = Math.max(...out.chunks.map((c) => c.length));
    expect(largest).toBe(big.length);
    expect(out.closed).toBe(true);
  });

  it('refuses a bad plan and out-of-order or mis-sized tensors, naming the file and tensor', async () => {
    const out = new MemoryWriter();
    const opts = { archiveName: 'archive', file: 'model.bin' };
    expect(
      (await errorOf(TorchZipWriter.create(out, { ...opts, tensors: [TENSORS[0]!, TENSORS[0]!] }))).message,
    ).toBe('model.bin: tensor "w" is listed twice');
    const bad = [{ name: 'x', dtype: 'F64' as 'F32', shape: [1] }];
    expect((await errorOf(TorchZipWriter.create(out, { ...opts, tensors: bad }))).message).toContain(
      'has dtype F64',
    );
    const neg = [{ name: 'x', dtype: 'F32' as const, shape: [-1] }];
    expect((await errorOf(TorchZipWriter.create(out, { ...opts, tensors: neg }))).message).toContain(
      'invalid shape [-1]',
    );
    expect(
      (await errorOf(TorchZipWriter.create(out, { ...opts, archiveName: 'a/b', tensors: [] }))).message,
    ).toContain('one non-empty path segment');
    const w = await TorchZipWriter.create(new MemoryWriter(), { ...opts, tensors: TENSORS });
    expect((await errorOf(w.writeTensor('v', new Uint8Array(2)))).message).toBe(
      'model.bin: tensor "v" was written out of order (expected "w" next)',
    );
    expect((await errorOf(w.writeTensor('w', new Uint8Array(4)))).message).toBe(
      'model.bin: tensor "w" data is 4 bytes, shape [2] × F32 needs 8',
    );
    await w.writeTensor('w', new Uint8Array(8));
    expect((await errorOf(w.finish())).message).toBe('model.bin: tensor "v" was declared but never written');
    await w.writeTensor('v', new Uint8Array(2));
    await w.writeTensor('b', new Uint8Array(12));
    expect((await errorOf(w.writeTensor('z', new Uint8Array(0)))).message).toContain(
      'after the last declared tensor',
    );
  });
});
