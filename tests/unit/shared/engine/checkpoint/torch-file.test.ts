import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../../../shared/engine/checkpoint/errors';
import { TorchCheckpointFile } from '../../../../../shared/engine/checkpoint/torch-file';
import type { TorchWriteEntry } from '../../../../../shared/engine/checkpoint/torch-writer';
import { TorchZipWriter } from '../../../../../shared/engine/checkpoint/torch-writer';
import type { RecordedRead } from '../../../../helpers/memory-fs';
import { MemoryWriter, memoryReader } from '../../../../helpers/memory-fs';
import { floatToHalfBits, halfValue, u16Bytes } from '../safetensors/raw-file';
import { PickleAsm, craftZip, f32Bytes, stateDictPickle, torchZip } from './craft';

const FILE = 'pytorch_model.bin';

async function openBytes(bytes: Uint8Array, reads?: RecordedRead[]): Promise<TorchCheckpointFile> {
  return TorchCheckpointFile.open(
    memoryReader(bytes, FILE, (offset, length) => reads?.push({ path: FILE, offset, length })),
  );
}

async function errorOf(p: Promise<unknown>): Promise<CheckpointError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CheckpointError);
  expect((e as CheckpointError).file).toBe(FILE);
  return e as CheckpointError;
}

/** The float32 value of a bfloat16 bit pattern. */
const bf16Value = (bits: number): number => new Float32Array(new Uint32Array([bits << 16]).buffer)[0]!;

/** Deterministic values in [-4, 4). */
const values = (n: number, seed: number): number[] =>
  Array.from({ length: n }, (_, i) => ((Math.imul(i + 1, 2654435761 + seed) >>> 8) / 2 ** 24) * 8 - 4);

describe('round trip through TorchZipWriter', () => {
  for (const forceZip64 of [false, true]) {
    it(`reads back F32, F16 and BF16 bit for bit, incl. a tensor over 64 KiB${forceZip64 ? ' (ZIP64)' : ''}`, async () => {
      const big = Float32Array.from(values(20_000, 1)); // 80 KB
      const half = values(7, 2).map(floatToHalfBits);
      const bf = Float32Array.from(values(6, 3));
      const bfBits = Array.from(new Uint32Array(bf.buffer), (u) => u >>> 16);
      const tensors: TorchWriteEntry[] = [
        { name: 'encoder.embed.weight', dtype: 'F32', shape: [100, 200] },
        { name: 'h', dtype: 'F16', shape: [7] },
        { name: 'b', dtype: 'BF16', shape: [2, 3] },
        { name: 'scalar', dtype: 'F32', shape: [] },
        { name: 'empty', dtype: 'F32', shape: [0, 3] },
      ];
      const out = new MemoryWriter();
      const w = await TorchZipWriter.create(out, {
        archiveName: 'pytorch_model-00001-of-00002',
        tensors,
        forceZip64,
      });
      await w.writeTensor('encoder.embed.weight', new Uint8Array(big.buffer));
      await w.writeTensor('h', u16Bytes(half));
      await w.writeTensor('b', u16Bytes(bfBits));
      await w.writeTensor('scalar', f32Bytes([-0.5]));
      await w.writeTensor('empty', new Uint8Array(0));
      await w.finish();

      const reads: RecordedRead[] = [];
      const f = await openBytes(out.bytes(), reads);
      expect(f.archiveName).toBe('pytorch_model-00001-of-00002');
      expect(f.names()).toEqual(tensors.map((t) => t.name));
      expect(f.info('b')).toMatchObject({ dtype: 'BF16', shape: [2, 3], stride: [3, 1], contiguous: true });
      reads.length = 0;
      const got = new Float32Array(20_000);
      await f.readFloat32Into('encoder.embed.weight', got, { expectShape: [100, 200] });
      expect(Buffer.from(got.buffer).equals(Buffer.from(big.buffer))).toBe(true);
      // Only the tensor's bytes (plus its local header once) are read.
      expect(reads.map((r) => r.length)).toEqual([30 + 'pytorch_model-00001-of-00002/data/0'.length, 80_000]);
      expect([...(await f.readFloat32('h')).data]).toEqual(half.map(halfValue));
      expect([...(await f.readFloat32('b')).data]).toEqual(bfBits.map(bf16Value));
      expect(await f.readFloat32('scalar')).toEqual({
        type: 'float32',
        dims: [],
        data: Float32Array.from([-0.5]),
      });
      expect((await f.readFloat32('empty')).data.length).toBe(0);
      await f.close();
    });
  }
});

describe('reading crafted torch files', () => {
  it('reads tied weights and views that share one storage, each reading only its own bytes', async () => {
    const storage = f32Bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const pickle = stateDictPickle([
      { name: 'shared.weight', cls: 'FloatStorage', key: '0', numel: 10, shape: [2, 5] },
      { name: 'encoder.embed_tokens.weight', cls: 'FloatStorage', key: '0', numel: 10, shape: [2, 5] },
      { name: 'tail', cls: 'FloatStorage', key: '0', numel: 10, offset: 7, shape: [3] },
    ]);
    const reads: RecordedRead[] = [];
    const f = await openBytes(torchZip(pickle, { '0': storage }), reads);
    reads.length = 0;
    expect([...(await f.readFloat32('tail')).data]).toEqual([7, 8, 9]);
    expect(reads.at(-1)).toMatchObject({ length: 12 });
    expect([...(await f.readFloat32('shared.weight')).data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...(await f.readFloat32('encoder.embed_tokens.weight')).data]).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(f.info('tail')).toMatchObject({
      record: 'archive/data/0',
      storageOffset: 7,
      byteOffset: 28,
      byteLength: 12,
    });
  });

  it('describes a non-contiguous tensor but refuses to read it, naming it', async () => {
    const pickle = stateDictPickle([
      { name: 't', cls: 'FloatStorage', key: '0', numel: 6, shape: [3, 2], stride: [1, 3] },
      { name: 'ok', cls: 'FloatStorage', key: '0', numel: 6, shape: [3, 1, 2], stride: [2, 99, 1] },
    ]);
    const f = await openBytes(torchZip(pickle, { '0': f32Bytes([1, 2, 3, 4, 5, 6]) }));
    expect(f.info('t')).toMatchObject({ shape: [3, 2], contiguous: false });
    expect((await errorOf(f.readFloat32('t'))).message).toBe(
      'pytorch_model.bin: tensor "t" is not contiguous (shape [3, 2], stride [1, 3]); save it with .contiguous()',
    );
    expect([...(await f.readFloat32('ok')).data]).toEqual([1, 2, 3, 4, 5, 6]); // size-1 dims may have any stride
  });

  it('refuses float32 reads of F64 and integer tensors, and shape or length mismatches', async () => {
    const pickle = stateDictPickle([
      { name: 'd', cls: 'DoubleStorage', key: '0', numel: 1, shape: [1] },
      { name: 'ids', cls: 'LongStorage', key: '1', numel: 1, shape: [1] },
      { name: 'x', cls: 'FloatStorage', key: '2', numel: 2, shape: [2] },
    ]);
    const f = await openBytes(
      torchZip(pickle, { '0': new Uint8Array(8), '1': new Uint8Array(8), '2': f32Bytes([1, 2]) }),
    );
    expect(f.info('ids').dtype).toBe('I64');
    expect((await errorOf(f.readFloat32Into('d', new Float32Array(1)))).message).toBe(
      'pytorch_model.bin: tensor "d" has dtype F64, which cannot be read as float32 (supported: F32, F16, BF16)',
    );
    expect((await errorOf(f.readFloat32('ids'))).message).toContain('has dtype I64');
    expect((await errorOf(f.readFloat32('x', { expectShape: [3] }))).message).toBe(
      'pytorch_model.bin: tensor "x" has shape [2], expected [3]',
    );
    expect((await errorOf(f.readFloat32Into('x', new Float32Array(3)))).message).toContain(
      'has 2 elements, the target holds 3',
    );
    expect(() => f.info('nope')).toThrow('pytorch_model.bin: missing tensor "nope"');
  });

  it('checks every span against its storage and record when opening', async () => {
    const past = stateDictPickle([
      { name: 'v', cls: 'FloatStorage', key: '0', numel: 4, offset: 2, shape: [3] },
    ]);
    expect((await errorOf(openBytes(torchZip(past, { '0': f32Bytes([1, 2, 3, 4]) })))).message).toBe(
      'pytorch_model.bin: tensor "v" (shape [3], stride [1], offset 2) reaches byte 20 of storage \'0\', which has 16 bytes',
    );
    const short = stateDictPickle([{ name: 'v', cls: 'FloatStorage', key: '0', numel: 4, shape: [4] }]);
    expect((await errorOf(openBytes(torchZip(short, { '0': f32Bytes([1, 2]) })))).message).toBe(
      'pytorch_model.bin: tensor "v" uses storage \'0\' of 4 × F32, but record "archive/data/0" holds only 8 bytes',
    );
    expect((await errorOf(openBytes(torchZip(short, {})))).message).toBe(
      'pytorch_model.bin: tensor "v" needs storage record "archive/data/0", which the archive lacks',
    );
  });

  it('refuses archives without exactly one data.pkl, and big-endian files', async () => {
    const pickle = stateDictPickle([{ name: 'v', cls: 'FloatStorage', key: '0', numel: 1, shape: [1] }]);
    expect(
      (await errorOf(openBytes(craftZip([{ name: 'archive/other', data: new Uint8Array(1) }])))).message,
    ).toContain('without a <name>/data.pkl entry');
    const two = craftZip([
      { name: 'a/data.pkl', data: pickle },
      { name: 'b/data.pkl', data: pickle },
    ]);
    expect((await errorOf(openBytes(two))).message).toContain(
      'has 2 data.pkl entries (a/data.pkl, b/data.pkl)',
    );
    const big = torchZip(pickle, { '0': f32Bytes([1]) }, { byteorder: 'big' });
    expect((await errorOf(openBytes(big))).message).toBe(
      'pytorch_model.bin: archive/byteorder says "big": big-endian checkpoints are not supported',
    );
    const little = await openBytes(torchZip(pickle, { '0': f32Bytes([1]) }, { byteorder: 'little' }));
    expect([...(await little.readFloat32('v')).data]).toEqual([1]);
  });

  it('refuses pickles that are not flat state dicts, naming the key', async () => {
    const nested = new PickleAsm().proto().emptyDict().str('state_dict').emptyDict().setitem().stop().bytes();
    expect((await errorOf(openBytes(torchZip(nested, {})))).message).toBe(
      'pytorch_model.bin: tensor "state_dict" is a dict of 0 items, not a tensor (only flat state dicts are supported, not nested ones such as {\'state_dict\': {…}})',
    );
    const list = new PickleAsm().proto().raw(0x5d).stop().bytes();
    expect((await errorOf(openBytes(torchZip(list, {})))).message).toContain(
      'archive/data.pkl holds a list of 0 items, not a state dict',
    );
    const intKey = new PickleAsm().proto().emptyDict().int(3).emptyDict().setitem().stop().bytes();
    expect((await errorOf(openBytes(torchZip(intKey, {})))).message).toContain(
      'has the key 3, not a tensor name',
    );
  });

  it('passes on refusals of the unpickler with the entry and offset', async () => {
    const evil = new PickleAsm().proto().emptyDict().str('x').global('os', 'system').bytes();
    expect((await errorOf(openBytes(torchZip(evil, {}, { prefix: 'evil' })))).message).toBe(
      "pytorch_model.bin: evil/data.pkl at byte 9: global 'os.system' is not allowed (only tensors and plain containers)",
    );
  });
});
