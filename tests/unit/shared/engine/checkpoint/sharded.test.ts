import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../../../shared/engine/checkpoint/errors';
import { CheckpointSet, openCheckpointFile } from '../../../../../shared/engine/checkpoint/sharded';
import { TorchCheckpointFile } from '../../../../../shared/engine/checkpoint/torch-file';
import { TorchZipWriter } from '../../../../../shared/engine/checkpoint/torch-writer';
import { SafetensorsError, SafetensorsFile } from '../../../../../shared/engine/safetensors/reader';
import { encodeSafetensors } from '../../../../../shared/engine/safetensors/writer';
import { floatTensor } from '../../../../../shared/engine/tensor';
import { MemoryFs, MemoryWriter } from '../../../../helpers/memory-fs';
import { f32Bytes } from './craft';

const DIR = '/models/t5-v1_1-xxl';
const SHARD1 = 'pytorch_model-00001-of-00002.bin';
const SHARD2 = 'pytorch_model-00002-of-00002.bin';
const INDEX = `${DIR}/pytorch_model.bin.index.json`;

/** A torch.save zip of F32 tensors named by `values`' keys. */
async function torchBytes(archiveName: string, values: Record<string, number[]>): Promise<Uint8Array> {
  const out = new MemoryWriter();
  const tensors = Object.entries(values).map(([name, v]) => ({
    name,
    dtype: 'F32' as const,
    shape: [v.length],
  }));
  const w = await TorchZipWriter.create(out, { archiveName, tensors });
  for (const [name, v] of Object.entries(values)) await w.writeTensor(name, f32Bytes(v));
  await w.finish();
  return out.bytes();
}

const safetensorsBytes = (values: Record<string, number[]>): Uint8Array =>
  encodeSafetensors(
    Object.entries(values).map(([name, v]) => ({
      name,
      tensor: floatTensor([v.length], Float32Array.from(v)),
    })),
  );

const index = (weightMap: Record<string, unknown>): string =>
  JSON.stringify({ metadata: { total_size: 24 }, weight_map: weightMap });

/** A T5-like sharded directory: encoder and shared weights in a torch shard, the decoder in a safetensors one. */
async function shardedDir(): Promise<MemoryFs> {
  return new MemoryFs({
    [INDEX]: index({
      'shared.weight': SHARD1,
      'encoder.block.0.weight': SHARD1,
      'decoder.block.0.weight': SHARD2,
    }),
    [`${DIR}/${SHARD1}`]: await torchBytes('pytorch_model-00001-of-00002', {
      'shared.weight': [1, 2],
      'encoder.block.0.weight': [3, 4],
    }),
    // The format is told by content: this ".bin" is a safetensors file.
    [`${DIR}/${SHARD2}`]: safetensorsBytes({ 'decoder.block.0.weight': [5, 6] }),
  });
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

const notDecoder = (key: string): boolean => !key.startsWith('decoder.');

describe('checkpoint sets', () => {
  it('opens no shard until a wanted key is inspected, and never a shard of unwanted keys', async () => {
    const fs = await shardedDir();
    const set = await CheckpointSet.openDirectory(fs, DIR, { wanted: notDecoder });
    expect(set.name).toBe(INDEX);
    expect(set.keys()).toEqual(['shared.weight', 'encoder.block.0.weight']);
    expect(fs.opened).toEqual([]);
    expect(await set.lookup('decoder.block.0.weight')).toBeUndefined();
    expect(await set.lookup('encoder.block.0.weight')).toEqual({
      file: `${DIR}/${SHARD1}`,
      info: expect.objectContaining({ dtype: 'F32', shape: [2] }),
    });
    const out = new Float32Array(2);
    await set.readFloat32Into('shared.weight', out, { expectShape: [2] });
    expect([...out]).toEqual([1, 2]);
    await expect(set.readFloat32Into('decoder.block.0.weight', out)).rejects.toThrow(
      `${INDEX}: has no tensor "decoder.block.0.weight" (or it is not wanted)`,
    );
    expect(fs.opened).toEqual([`${DIR}/${SHARD1}`]);
    expect(fs.reads.every((r) => r.path === `${DIR}/${SHARD1}`)).toBe(true);
    await set.close();
    expect(fs.openHandles).toBe(0);
  });

  it('tells each shard format by content and opens a shard once for concurrent reads', async () => {
    const fs = await shardedDir();
    const set = await CheckpointSet.openDirectory(fs, DIR);
    const a = new Float32Array(2);
    const b = new Float32Array(2);
    await Promise.all([
      set.readFloat32Into('decoder.block.0.weight', a),
      set.readFloat32Into('decoder.block.0.weight', b),
    ]);
    expect([...a, ...b]).toEqual([5, 6, 5, 6]);
    expect(fs.opened).toEqual([`${DIR}/${SHARD2}`]);
    expect(await openCheckpointFile(fs, `${DIR}/${SHARD1}`)).toBeInstanceOf(TorchCheckpointFile);
    expect(await openCheckpointFile(fs, `${DIR}/${SHARD2}`)).toBeInstanceOf(SafetensorsFile);
    await set.close();
  });

  it('looks for the four Hugging Face layouts in order', async () => {
    const st = safetensorsBytes({ 'from.safetensors': [1] });
    const bin = await torchBytes('archive', { 'from.bin': [2] });
    const both = new MemoryFs({ [`${DIR}/pytorch_model.bin`]: bin, [`${DIR}/model.safetensors`]: st });
    const s1 = await CheckpointSet.openDirectory(both, DIR);
    expect(s1.keys()).toEqual(['from.safetensors']);
    await s1.close();
    const onlyBin = new MemoryFs({ [`${DIR}/pytorch_model.bin`]: bin });
    const s2 = await CheckpointSet.openDirectory(onlyBin, DIR);
    expect(s2.keys()).toEqual(['from.bin']);
    await s2.close();
    const stIndex = new MemoryFs({
      [`${DIR}/model.safetensors.index.json`]: index({ 'from.index': 'model-00001-of-00001.safetensors' }),
      [`${DIR}/model-00001-of-00001.safetensors`]: safetensorsBytes({ 'from.index': [3] }),
      [`${DIR}/model.safetensors`]: st,
    });
    const s3 = await CheckpointSet.openDirectory(stIndex, DIR);
    expect(s3.keys()).toEqual(['from.index']);
    await s3.close();
    const empty = await errorOf(CheckpointSet.openDirectory(new MemoryFs(), DIR));
    expect(empty).toBeInstanceOf(CheckpointError);
    expect(empty.message).toBe(
      `${DIR}: holds none of model.safetensors.index.json, model.safetensors, pytorch_model.bin.index.json, pytorch_model.bin`,
    );
  });

  it('validates the index, naming the index file and the bad entry', async () => {
    const cases: Array<[string, string]> = [
      ['{"weight_map": ', `${INDEX}: is not valid JSON`],
      ['[]', `${INDEX}: is not a JSON object`],
      ['{"metadata": {}}', `${INDEX}: has no "weight_map" object`],
      ['{"metadata": 3, "weight_map": {}}', `${INDEX}: "metadata" is not an object`],
      [index({ a: 7 }), `${INDEX}: weight_map["a"] is 7, not a file name`],
      [
        index({ a: '../other/model.bin' }),
        `${INDEX}: weight_map["a"] names "../other/model.bin", which escapes the checkpoint directory`,
      ],
      [
        index({ a: '/etc/passwd' }),
        `${INDEX}: weight_map["a"] names "/etc/passwd", which is not a relative path`,
      ],
      [index({ a: 'C:model.bin' }), 'which is not a relative path'],
      [index({ a: 'sub\\x.bin' }), 'which is not a relative path'],
      [
        index({ 'encoder.x': 'pytorch_model-00003-of-00002.bin' }),
        `${INDEX}: weight_map["encoder.x"] names "pytorch_model-00003-of-00002.bin", which does not exist`,
      ],
    ];
    for (const [text, message] of cases) {
      const e = await errorOf(CheckpointSet.openIndex(new MemoryFs({ [INDEX]: text }), INDEX, DIR));
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message, text).toContain(message);
    }
    // A missing shard that holds only unwanted keys is fine (a partial download).
    const fs = new MemoryFs({ [INDEX]: index({ 'decoder.x': 'missing.bin' }) });
    expect((await CheckpointSet.openIndex(fs, INDEX, DIR, { wanted: notDecoder })).keys()).toEqual([]);
  });

  it('refuses a key its shard lacks, or one that two shards hold, naming both files', async () => {
    const fs = await shardedDir();
    fs.put(INDEX, index({ 'shared.weight': SHARD1, 'encoder.block.9.weight': SHARD1 }));
    const set = await CheckpointSet.openDirectory(fs, DIR);
    const e = await errorOf(set.lookup('shared.weight'));
    expect(e.message).toBe(
      `${INDEX}: maps tensor "encoder.block.9.weight" to ${DIR}/${SHARD1}, which does not hold it`,
    );
    expect(fs.openHandles).toBe(0);
    fs.put(
      INDEX,
      index({ 'shared.weight': SHARD2, 'decoder.block.0.weight': SHARD2, 'encoder.block.0.weight': SHARD1 }),
    );
    const twice = await CheckpointSet.openDirectory(fs, DIR);
    expect((await errorOf(twice.lookup('encoder.block.0.weight'))).message).toBe(
      `${INDEX}: maps tensor "shared.weight" to ${DIR}/${SHARD2}, but ${DIR}/${SHARD1} holds it too (a key in two shards)`,
    );
  });

  it('names a truncated shard, torch or safetensors', async () => {
    const fs = await shardedDir();
    const torchShard = fs.files.get(`${DIR}/${SHARD1}`)!;
    fs.put(`${DIR}/${SHARD1}`, torchShard.subarray(0, torchShard.length - 10));
    const set = await CheckpointSet.openDirectory(fs, DIR);
    const e1 = await errorOf(set.lookup('shared.weight'));
    expect(e1).toBeInstanceOf(CheckpointError);
    expect(e1.message).toContain(`${DIR}/${SHARD1}: is truncated or not a zip archive`);
    const stShard = fs.files.get(`${DIR}/${SHARD2}`)!;
    fs.put(`${DIR}/${SHARD2}`, stShard.subarray(0, stShard.length - 4));
    const e2 = await errorOf(set.readFloat32Into('decoder.block.0.weight', new Float32Array(2)));
    expect(e2).toBeInstanceOf(SafetensorsError);
    expect(e2.message).toContain(`${DIR}/${SHARD2}: file is truncated`);
    await set.close();
    expect(fs.openHandles).toBe(0);
  });

  it('opens an explicit list of files, refusing a key in two of them and closing files with no wanted key', async () => {
    const fs = new MemoryFs({
      '/a.bin': await torchBytes('a', { 'encoder.x': [1], 'decoder.y': [2] }),
      '/b.safetensors': safetensorsBytes({ 'decoder.z': [3] }),
      '/c.safetensors': safetensorsBytes({ 'encoder.x': [4] }),
    });
    const set = await CheckpointSet.openFiles(fs, ['/a.bin', '/b.safetensors'], { wanted: notDecoder });
    expect(set.keys()).toEqual(['encoder.x']);
    expect(set.openedFiles()).toEqual(['/a.bin']);
    expect(fs.openHandles).toBe(1);
    await set.close();
    const e = await errorOf(CheckpointSet.openFiles(fs, ['/a.bin', '/c.safetensors']));
    expect(e.message).toBe('/c.safetensors: holds tensor "encoder.x", which /a.bin holds too');
    expect(fs.openHandles).toBe(0);
  });

  it('wraps a failing file system in an error naming the file', async () => {
    const fs = new MemoryFs({ '/x.bin': new Uint8Array(100) });
    const base = fs.open.bind(fs);
    fs.open = async (path) => ({ ...(await base(path)), size: () => Promise.reject(new Error('EIO')) });
    expect((await errorOf(openCheckpointFile(fs, '/x.bin'))).message).toBe('/x.bin: could not be read (EIO)');
  });
});
