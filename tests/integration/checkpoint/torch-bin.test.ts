// Our checkpoint readers and writer against Debian's real PyTorch (python3-torch under /usr/bin/python3): files
// torch.save wrote read bit for bit, our writer's files loaded by torch.load(weights_only=True), a malicious
// pickle refused without running it, and a sharded pytorch_model-*.bin directory read lazily.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../shared/engine/checkpoint/errors';
import type { PickledTensor } from '../../../shared/engine/checkpoint/pickle-writer';
import { encodeStateDictPickle } from '../../../shared/engine/checkpoint/pickle-writer';
import { CheckpointSet } from '../../../shared/engine/checkpoint/sharded';
import { TorchCheckpointFile } from '../../../shared/engine/checkpoint/torch-file';
import { TorchZipWriter } from '../../../shared/engine/checkpoint/torch-writer';
import type { FileSystemPort } from '../../../shared/engine/ports';
import { NodeFileSystem } from '../../../src-main/adapters/node-fs';
import { countingFs } from '../../helpers/counting-fs';

const PYTHON = '/usr/bin/python3';
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

const probe = spawnSync(PYTHON, ['-c', 'import torch'], { env, encoding: 'utf8', timeout: 60_000 });
const torchAvailable = probe.status === 0;
const skipReason = torchAvailable
  ? ''
  : `${PYTHON} cannot import torch (apt-get install python3-torch): ${(probe.stderr ?? String(probe.error ?? '')).trim().split('\n').pop() ?? ''}`;

/** Writes torch.save files of every kind the tests need and reports their bytes as hex (one torch import). */
const SCRIPT = String.raw`
import collections, json, os, sys, zipfile
import torch

tmp = sys.argv[1]
g = torch.Generator().manual_seed(0)
DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}

def raw(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()

def f32(t):
    return t.detach().float().contiguous().reshape(-1).numpy().tobytes().hex()

def describe(sd):
    return {k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'raw': raw(v), 'f32': f32(v)} for k, v in sd.items()}

report = {'torch': torch.__version__}

# (a) what torch.save writes
big = torch.arange(10, dtype=torch.float32) * 0.5 - 1
emb = torch.randn(70, 300, generator=g)
sd = collections.OrderedDict()
sd['a'] = torch.randn(3, 4, generator=g)
sd['h'] = torch.randn(5, generator=g).half()
sd['b'] = torch.randn(2, 3, generator=g).bfloat16()
sd['shared.weight'] = emb
sd['encoder.embed_tokens.weight'] = emb
sd['view'] = big[2:]
sd['scalar'] = torch.tensor(-2.25)
sd['transposed'] = torch.randn(3, 2, generator=g).t()
sd['param'] = torch.nn.Parameter(torch.randn(4, generator=g))
torch.save(sd, os.path.join(tmp, 'state.pt'))
report['state'] = describe(sd)

# (b) what our writer wrote, loaded the safe way; and torch's own data.pkl for the same plans
plans = json.load(open(os.path.join(tmp, 'plans.json')))
for name in ['ours.pt', 'ours64.pt']:
    loaded = torch.load(os.path.join(tmp, name), weights_only=True)
    report[name] = {'type': type(loaded).__name__, 'tensors': describe(loaded)}
for which, plan in plans.items():
    od = collections.OrderedDict((n, torch.zeros(s, dtype=DTYPES[d])) for n, d, s in plan)
    path = os.path.join(tmp, which + '.pt')
    torch.save(od, path)
    z = zipfile.ZipFile(path)
    report[which + '.pkl'] = z.read([n for n in z.namelist() if n.endswith('/data.pkl')][0]).hex()

# (c) a pickle that would run a command if unpickled
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(tmp, 'pwned'),))
torch.save({'x': Evil()}, os.path.join(tmp, 'evil.pt'))

# (d) a sharded Hugging Face directory: encoder and shared weights in shard 1, the decoder alone in shard 2
d = os.path.join(tmp, 'sharded')
os.makedirs(d)
shards = {
    'pytorch_model-00001-of-00002.bin': collections.OrderedDict([
        ('shared.weight', torch.randn(6, 4, generator=g)),
        ('encoder.block.0.layer.0.SelfAttention.q.weight', torch.randn(4, 4, generator=g).half()),
    ]),
    'pytorch_model-00002-of-00002.bin': collections.OrderedDict([
        ('decoder.block.0.layer.0.SelfAttention.q.weight', torch.randn(4, 4, generator=g)),
    ]),
}
weight_map = {}
for file, part in shards.items():
    torch.save(part, os.path.join(d, file))
    weight_map.update({k: file for k in part})
json.dump({'metadata': {'total_size': 0}, 'weight_map': weight_map}, open(os.path.join(d, 'pytorch_model.bin.index.json'), 'w'))
report['sharded'] = {k: f32(v) for part in shards.values() for k, v in part.items()}

json.dump(report, open(os.path.join(tmp, 'report.json'), 'w'))
`;

interface Described {
  dtype: string;
  shape: number[];
  raw: string;
  f32: string;
}
interface Report {
  torch: string;
  state: Record<string, Described>;
  'ours.pt': { type: string; tensors: Record<string, Described> };
  'ours64.pt': { type: string; tensors: Record<string, Described> };
  'plan.pkl': string;
  'many.pkl': string;
  sharded: Record<string, string>;
}

const hex = (b: Uint8Array | Float32Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Our synthetic checkpoint: F32 over 64 KiB, F16, BF16 and a 0-d tensor, with deterministic bytes. */
const PLAN: PickledTensor[] = [
  { name: 'encoder.embed', dtype: 'F32', shape: [130, 130] },
  { name: 'h', dtype: 'F16', shape: [5] },
  { name: 'b', dtype: 'BF16', shape: [2, 3] },
  { name: 'scalar', dtype: 'F32', shape: [] },
];
const planBytes = (t: PickledTensor): Uint8Array => {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.dtype === 'F32')
    return new Uint8Array(Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3).buffer);
  // Finite half / bfloat16 bit patterns (exponent below all-ones).
  return new Uint8Array(Uint16Array.from({ length: n }, (_, i) => (0x3c00 + i * 0x111) & 0x7bff).buffer);
};
const MANY: PickledTensor[] = Array.from({ length: 1001 }, (_, i) => ({
  name: `layer.${i}`,
  dtype: 'F16',
  shape: [i % 3],
}));

describe('PyTorch .bin checkpoints against Debian torch', () => {
  if (!torchAvailable) console.warn(`skipping torch checkpoint test: ${skipReason}`);
  let tmp = '';
  let report: Report;
  const fs = new NodeFileSystem();

  beforeAll(async () => {
    if (!torchAvailable) return;
    tmp = mkdtempSync(join(tmpdir(), 'odsora-torch-bin-'));
    for (const [file, forceZip64] of [
      ['ours.pt', false],
      ['ours64.pt', true],
    ] as const) {
      const w = await TorchZipWriter.create(await fs.createWriter(join(tmp, file)), {
        archiveName: 'ours',
        tensors: PLAN,
        forceZip64,
      });
      for (const t of PLAN) await w.writeTensor(t.name, planBytes(t));
      await w.finish();
    }
    const plans = { plan: PLAN, many: MANY };
    writeFileSync(
      join(tmp, 'plans.json'),
      JSON.stringify(
        Object.fromEntries(
          Object.entries(plans).map(([k, p]) => [k, p.map((t) => [t.name, t.dtype, t.shape])]),
        ),
      ),
    );
    const run = spawnSync(PYTHON, ['-c', SCRIPT, tmp], { env, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    report = JSON.parse(readFileSync(join(tmp, 'report.json'), 'utf8')) as Report;
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it.skipIf(!torchAvailable)(
    'reads what torch.save wrote bit for bit, refusing only the transposed tensor',
    async () => {
      const f = await TorchCheckpointFile.open(await fs.open(join(tmp, 'state.pt')));
      try {
        expect(f.names()).toEqual(Object.keys(report.state));
        for (const [name, want] of Object.entries(report.state)) {
          expect(f.info(name).shape, name).toEqual(want.shape);
          if (name === 'transposed') {
            const e = await f.readFloat32(name).catch((err: unknown) => err);
            expect(e).toBeInstanceOf(CheckpointError);
            expect((e as Error).message).toBe(
              `${join(tmp, 'state.pt')}: tensor "transposed" is not contiguous (shape [2, 3], stride [1, 2]); save it with .contiguous()`,
            );
            continue;
          }
          expect(hex(await f.readBytes(name)), name).toBe(want.raw);
          expect(hex((await f.readFloat32(name)).data), name).toBe(want.f32);
        }
        expect(f.info('shared.weight').record).toBe(f.info('encoder.embed_tokens.weight').record);
        expect(f.info('view')).toMatchObject({ storageOffset: 2, byteOffset: 8 });
      } finally {
        await f.close();
      }
    },
  );

  it.skipIf(!torchAvailable)(
    'writes files torch.load(weights_only=True) reads back exactly, ZIP64 included',
    () => {
      for (const file of ['ours.pt', 'ours64.pt'] as const) {
        const got = report[file];
        expect(got.type).toBe('OrderedDict');
        expect(Object.keys(got.tensors)).toEqual(PLAN.map((t) => t.name));
        for (const t of PLAN) {
          expect(got.tensors[t.name]!.shape, `${file} ${t.name}`).toEqual(t.shape);
          expect(got.tensors[t.name]!.raw, `${file} ${t.name}`).toBe(hex(planBytes(t)));
        }
      }
      expect(hex(encodeStateDictPickle(PLAN))).toBe(report['plan.pkl']);
      expect(hex(encodeStateDictPickle(MANY))).toBe(report['many.pkl']);
    },
  );

  it.skipIf(!torchAvailable)(
    'refuses a malicious pickle, naming file, offset and global, without running it',
    async () => {
      const path = join(tmp, 'evil.pt');
      const e = await TorchCheckpointFile.open(await fs.open(path)).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as Error).message).toBe(
        `${path}: evil/data.pkl at byte 13: global 'posix.system' is not allowed (only tensors and plain containers)`,
      );
      expect(existsSync(join(tmp, 'pwned'))).toBe(false);
    },
  );

  it.skipIf(!torchAvailable)(
    'reads a sharded directory through CheckpointSet, never opening unwanted shards',
    async () => {
      const counting = countingFs(fs);
      const opened: string[] = [];
      const port: FileSystemPort = Object.assign(Object.create(counting.fs) as FileSystemPort, {
        open: (path: string) => (opened.push(path), counting.fs.open(path)),
      });
      const dir = join(tmp, 'sharded');
      const set = await CheckpointSet.openDirectory(port, dir, { wanted: (k) => !k.startsWith('decoder.') });
      try {
        expect(set.keys()).toEqual(['shared.weight', 'encoder.block.0.layer.0.SelfAttention.q.weight']);
        for (const key of set.keys()) {
          const { info } = (await set.lookup(key))!;
          const out = new Float32Array(info.shape.reduce((a, b) => a * b, 1));
          await set.readFloat32Into(key, out);
          expect(hex(out), key).toBe(report.sharded[key]);
        }
        expect(opened).toEqual([join(dir, 'pytorch_model-00001-of-00002.bin')]);
        expect(counting.wholeFiles).toEqual([]);
      } finally {
        await set.close();
      }
      const all = await CheckpointSet.openDirectory(fs, dir);
      const dec = new Float32Array(16);
      await all.readFloat32Into('decoder.block.0.layer.0.SelfAttention.q.weight', dec, {
        expectShape: [4, 4],
      });
      expect(hex(dec)).toBe(report.sharded['decoder.block.0.layer.0.SelfAttention.q.weight']);
      expect(all.openedFiles()).toEqual([join(dir, 'pytorch_model-00002-of-00002.bin')]);
      await all.close();
    },
  );
});
