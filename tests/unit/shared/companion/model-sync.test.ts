// ModelSyncReceiver (shared/companion/model-sync.ts) over the in-memory store: offers, chunks at the device's
// offset, resume after a connection is released, offset and hash errors, traversal, limits, manifest checks,
// commit.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MemoryModelStore,
  ModelSyncError,
  ModelSyncReceiver,
  type ModelSyncLimits,
} from '../../../../shared/companion/model-sync';
import type { ClientMessageOf } from '../../../../shared/protocol/messages';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sha256 = async (b: Uint8Array): Promise<string> => sha(b);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A small valid block set: a manifest naming one block file, plus a tokenizer-like extra file. */
function blockSet(opts: { manifest?: unknown; blockBytes?: number } = {}): Map<string, Uint8Array> {
  const block = bytes(opts.blockBytes ?? 1000, 7);
  const manifest = opts.manifest ?? {
    format: 'odsora-blockset',
    version: 1,
    createdBy: 'test',
    model: { family: 'opensora-v1.2', name: 'tiny' },
    stages: {
      denoiser: {
        arch: 'stdit3',
        config: {},
        blocks: [
          {
            id: 'part1',
            file: 'denoiser/part1.safetensors',
            bytes: block.length,
            sha256: sha(block),
            tensors: ['x'],
            variants: ['plain'],
            flops: { reference: { frames: 1, height: 1, width: 1, captionLength: 1 }, plain: 0 },
          },
        ],
      },
    },
  };
  return new Map([
    ['manifest.json', utf8(JSON.stringify(manifest))],
    ['denoiser/part1.safetensors', block],
    ['text/tokenizer.json', utf8('{"pieces":[]}')],
  ]);
}

function offerOf(
  set: Map<string, Uint8Array>,
  transferId = 't-1',
  override: Partial<ClientMessageOf<'blockset.offer'>> = {},
): ClientMessageOf<'blockset.offer'> {
  return {
    type: 'blockset.offer',
    transferId,
    name: 'tiny',
    manifestSha256: sha(set.get('manifest.json')!),
    files: [...set].map(([path, b]) => ({ path, bytes: b.length, sha256: sha(b) })),
    ...override,
  };
}

function chunkOf(
  transferId: string,
  path: string,
  offset: number,
  payload: Uint8Array,
  chunkSeq = 0,
): ClientMessageOf<'blockset.chunk'> {
  return {
    type: 'blockset.chunk',
    transferId,
    path,
    offset,
    bytes: payload.length,
    sha256: sha(payload),
    chunkSeq,
  };
}

async function setup(limits: Partial<ModelSyncLimits> = {}) {
  const store = new MemoryModelStore(sha256);
  const installed: string[] = [];
  const rx = await ModelSyncReceiver.create({
    store,
    sha256,
    limits,
    onInstalled: (r) => installed.push(r.name),
  });
  return { store, rx, installed };
}

/** Sends `path` from the device's offset in chunks of `size`, up to `until` bytes (default: all). */
async function send(
  rx: ModelSyncReceiver,
  owner: object,
  transferId: string,
  path: string,
  data: Uint8Array,
  from: number,
  size: number,
  until = data.length,
) {
  let ack = null;
  for (let off = from; off < until; off += size) {
    const payload = data.subarray(off, Math.min(until, off + size));
    const c = await rx.checkChunk(owner, chunkOf(transferId, path, off, payload));
    ack = await rx.receiveChunk(owner, c, payload);
  }
  return ack;
}

async function expectSyncError(p: Promise<unknown>, code: string): Promise<ModelSyncError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ModelSyncError);
  expect((e as ModelSyncError).code).toBe(code);
  return e as ModelSyncError;
}

describe('ModelSyncReceiver', () => {
  it('receives every file in chunks, verifies, commits and lists the set', async () => {
    const { store, rx, installed } = await setup();
    const set = blockSet();
    const owner = {};
    const ack = await rx.offer(owner, offerOf(set));
    expect(ack.installed).toBe(false);
    expect(ack.files.map((f) => [f.path, f.receivedBytes, f.complete])).toEqual(
      [...set.keys()].map((p) => [p, 0, false]),
    );
    expect(rx.blockSets()).toEqual([expect.objectContaining({ name: 'tiny', complete: false })]);
    let last = null;
    for (const [path, data] of set) last = await send(rx, owner, 't-1', path, data, 0, 300);
    expect(last?.installed).toBe(true);
    expect(installed).toEqual(['tiny']);
    const [rec] = await store.listInstalled();
    expect(rec).toMatchObject({
      name: 'tiny',
      model: 'tiny',
      manifestSha256: sha(set.get('manifest.json')!),
    });
    expect(rec!.files).toEqual([...set].map(([path, b]) => ({ path, bytes: b.length, sha256: sha(b) })));
    expect(store.installed.get('tiny')!.files.get('denoiser/part1.safetensors')).toEqual(
      set.get('denoiser/part1.safetensors'),
    );
    expect(store.staged.size).toBe(0);
    expect(rx.blockSets()).toEqual([
      {
        name: 'tiny',
        model: 'tiny',
        bytes: rec!.bytes,
        manifestSha256: rec!.manifestSha256,
        complete: true,
      },
    ]);
    // Offering an installed set again answers installed at once.
    const again = await rx.offer({}, offerOf(set, 't-2'));
    expect(again.installed).toBe(true);
    expect(again.files.every((f) => f.complete)).toBe(true);
  });

  it('resumes from the staged offsets after the first connection went away', async () => {
    const { rx } = await setup();
    const set = blockSet({ blockBytes: 5000 });
    const block = set.get('denoiser/part1.safetensors')!;
    const first = {};
    await rx.offer(first, offerOf(set));
    await send(rx, first, 't-1', 'manifest.json', set.get('manifest.json')!, 0, 4096);
    await send(rx, first, 't-1', 'denoiser/part1.safetensors', block, 0, 1000, 3000);
    rx.release(first);
    // The old connection's transfer is gone.
    await expectSyncError(
      rx.checkChunk(first, chunkOf('t-1', 'text/tokenizer.json', 0, bytes(1, 0))),
      'unknown-transfer',
    );

    const second = {};
    const ack = await rx.offer(second, offerOf(set, 't-9'));
    const byPath = new Map(ack.files.map((f) => [f.path, f]));
    expect(byPath.get('manifest.json')).toMatchObject({
      receivedBytes: set.get('manifest.json')!.length,
      complete: true,
    });
    expect(byPath.get('denoiser/part1.safetensors')).toMatchObject({ receivedBytes: 3000, complete: false });
    expect(byPath.get('text/tokenizer.json')).toMatchObject({ receivedBytes: 0, complete: false });
    await send(rx, second, 't-9', 'denoiser/part1.safetensors', block, 3000, 1000);
    const done = await send(rx, second, 't-9', 'text/tokenizer.json', set.get('text/tokenizer.json')!, 0, 64);
    expect(done?.installed).toBe(true);
  });

  it('removes the staging of a push abandoned longer than abandonedPushMs, never an open one', async () => {
    let now = 0;
    const store = new MemoryModelStore(sha256, () => now);
    const rx = await ModelSyncReceiver.create({ store, sha256, limits: { abandonedPushMs: 1000 } });
    const set = blockSet();
    const other = blockSet({ blockBytes: 10 });
    const [a, b] = [{}, {}];
    await rx.offer(a, offerOf(set, 't-a'));
    await send(
      rx,
      a,
      't-a',
      'denoiser/part1.safetensors',
      set.get('denoiser/part1.safetensors')!,
      0,
      100,
      300,
    );
    await rx.offer(b, offerOf(other, 't-b', { name: 'other' }));
    now = 5000;
    // Both idle, but both open: nothing goes.
    expect(await rx.sweepAbandoned()).toBe(0);
    rx.release(a);
    expect(await rx.sweepAbandoned()).toBe(1);
    const again = await rx.offer(a, offerOf(set, 't-a2'));
    expect(again.files.find((f) => f.path === 'denoiser/part1.safetensors')?.receivedBytes).toBe(0);
  });

  it('refuses an offer that names the device record file, at the offer', async () => {
    const { rx, store } = await setup();
    const set = blockSet();
    set.set('odsora-sync.json', utf8('{}'));
    const e = await expectSyncError(rx.offer({}, offerOf(set)), 'bad-message');
    expect(e.extra.path).toBe('files.3.path');
    expect(store.staged.size).toBe(0);
  });

  it('a second offer of the same set takes it over from another connection', async () => {
    const { rx } = await setup();
    const set = blockSet();
    const a = {};
    const b = {};
    await rx.offer(a, offerOf(set, 't-a'));
    await rx.offer(b, offerOf(set, 't-b'));
    const payload = set.get('manifest.json')!;
    await expectSyncError(rx.checkChunk(a, chunkOf('t-a', 'manifest.json', 0, payload)), 'unknown-transfer');
    await expectSyncError(rx.checkChunk(a, chunkOf('t-b', 'manifest.json', 0, payload)), 'unknown-transfer');
    await expect(rx.checkChunk(b, chunkOf('t-b', 'manifest.json', 0, payload))).resolves.toMatchObject({
      offset: 0,
    });
  });

  it('refuses a chunk that is not at the received length, naming the expected offset', async () => {
    const { rx } = await setup();
    const set = blockSet();
    const block = set.get('denoiser/part1.safetensors')!;
    const owner = {};
    await rx.offer(owner, offerOf(set));
    await send(rx, owner, 't-1', 'denoiser/part1.safetensors', block, 0, 100, 200);
    const e = await expectSyncError(
      rx.checkChunk(owner, chunkOf('t-1', 'denoiser/part1.safetensors', 300, block.subarray(300, 400))),
      'blockset-offset-mismatch',
    );
    expect(e.expectedOffset).toBe(200);
    expect(e.message).toMatch(/offset 200/);
    // A chunk running past the file's end, and a path outside the offer, are bad messages.
    await expectSyncError(
      rx.checkChunk(owner, chunkOf('t-1', 'denoiser/part1.safetensors', 200, bytes(block.length, 0))),
      'bad-message',
    );
    await expectSyncError(rx.checkChunk(owner, chunkOf('t-1', 'other.bin', 0, bytes(1, 0))), 'bad-message');
  });

  it('refuses a chunk whose bytes do not match its sha256 and writes nothing', async () => {
    const { rx, store } = await setup();
    const set = blockSet();
    const block = set.get('denoiser/part1.safetensors')!;
    const owner = {};
    await rx.offer(owner, offerOf(set));
    const c = await rx.checkChunk(
      owner,
      chunkOf('t-1', 'denoiser/part1.safetensors', 0, block.subarray(0, 100)),
    );
    const corrupt = block.slice(0, 100);
    corrupt[5] = (corrupt[5] ?? 0) ^ 0xff;
    const e = await expectSyncError(rx.receiveChunk(owner, c, corrupt), 'blockset-hash-mismatch');
    expect(e.expectedOffset).toBe(0);
    const key = { name: 'tiny', manifestSha256: sha(set.get('manifest.json')!) };
    expect(await store.stagedBytes(key, 'denoiser/part1.safetensors')).toBe(0);
    // A frame whose length differs from the announcement is refused too.
    const c2 = await rx.checkChunk(
      owner,
      chunkOf('t-1', 'denoiser/part1.safetensors', 0, block.subarray(0, 100)),
    );
    await expectSyncError(rx.receiveChunk(owner, c2, block.subarray(0, 99)), 'bad-binary-frame');
  });

  it('resets a file whose whole-file sha256 does not match the offer', async () => {
    const { rx, store } = await setup();
    const set = blockSet();
    const offer = offerOf(set);
    const tok = offer.files.find((f) => f.path === 'text/tokenizer.json')!;
    tok.sha256 = 'f'.repeat(64);
    const owner = {};
    await rx.offer(owner, offer);
    const data = set.get('text/tokenizer.json')!;
    const e = await expectSyncError(
      send(rx, owner, 't-1', 'text/tokenizer.json', data, 0, 5),
      'blockset-hash-mismatch',
    );
    expect(e.expectedOffset).toBe(0);
    expect(
      await store.stagedBytes({ name: 'tiny', manifestSha256: offer.manifestSha256 }, 'text/tokenizer.json'),
    ).toBe(0);
    const ack = await rx.offer(owner, offer);
    expect(ack.files.find((f) => f.path === 'text/tokenizer.json')).toMatchObject({
      receivedBytes: 0,
      complete: false,
    });
  });

  it('refuses path traversal, duplicate paths and a file that is also a folder', async () => {
    const { rx } = await setup();
    const set = blockSet();
    const base = offerOf(set);
    for (const bad of ['../evil', 'a/../../evil', '/abs', 'a//b', '.', 'a/./b', 'a\\b', '']) {
      const offer = { ...base, files: [...base.files, { path: bad, bytes: 1, sha256: 'a'.repeat(64) }] };
      const e = await expectSyncError(rx.offer({}, offer), 'bad-message');
      expect(e.extra.path).toBe(`files.${base.files.length}.path`);
    }
    await expectSyncError(rx.offer({}, { ...base, files: [...base.files, base.files[1]!] }), 'bad-message');
    await expectSyncError(
      rx.offer(
        {},
        { ...base, files: [...base.files, { path: 'manifest.json/x', bytes: 1, sha256: 'a'.repeat(64) }] },
      ),
      'bad-message',
    );
    const store = new MemoryModelStore(sha256);
    await expect(
      store.write({ name: 'x', manifestSha256: 'a'.repeat(64) }, '../x', 0, bytes(1, 0)),
    ).rejects.toThrow(/unsafe/);
  });

  it('enforces size limits and free space', async () => {
    const set = blockSet();
    const { rx } = await setup({ maxFileBytes: 500 });
    await expectSyncError(rx.offer({}, offerOf(set)), 'blockset-too-large');
    const { rx: rx2 } = await setup({ maxSetBytes: 100 });
    await expectSyncError(rx2.offer({}, offerOf(set)), 'blockset-too-large');
    const { rx: rx3, store } = await setup();
    store.free = 10;
    await expectSyncError(rx3.offer({}, offerOf(set)), 'blockset-too-large');
  });

  it('needs manifest.json, hashed as manifestSha256', async () => {
    const { rx } = await setup();
    const set = blockSet();
    const e = await expectSyncError(
      rx.offer({}, offerOf(set, 't-1', { manifestSha256: 'a'.repeat(64) })),
      'bad-message',
    );
    expect(e.extra.path).toBe('manifestSha256');
    const noManifest = offerOf(set);
    noManifest.files = noManifest.files.filter((f) => f.path !== 'manifest.json');
    await expectSyncError(rx.offer({}, noManifest), 'bad-message');
  });

  it('does not commit a set whose manifest does not parse or names files that were not offered', async () => {
    for (const manifest of [
      { format: 'something-else' },
      {
        format: 'odsora-blockset',
        version: 1,
        createdBy: 't',
        model: { family: 'opensora-v1.2', name: 'x' },
        stages: {
          denoiser: {
            arch: 'stdit3',
            config: {},
            blocks: [
              {
                id: 'part1',
                file: 'missing.safetensors',
                bytes: 1,
                sha256: 'a'.repeat(64),
                tensors: ['x'],
                variants: ['plain'],
                flops: { reference: { frames: 1, height: 1, width: 1, captionLength: 1 }, plain: 0 },
              },
            ],
          },
        },
      },
    ]) {
      const { rx, store, installed } = await setup();
      const set = blockSet({ manifest });
      const owner = {};
      await rx.offer(owner, offerOf(set));
      await send(
        rx,
        owner,
        't-1',
        'denoiser/part1.safetensors',
        set.get('denoiser/part1.safetensors')!,
        0,
        4096,
      );
      await send(rx, owner, 't-1', 'text/tokenizer.json', set.get('text/tokenizer.json')!, 0, 4096);
      const e = await expectSyncError(
        send(rx, owner, 't-1', 'manifest.json', set.get('manifest.json')!, 0, 4096),
        'bad-message',
      );
      expect(e.message).toMatch(/manifest\.json/);
      expect(installed).toEqual([]);
      expect(await store.listInstalled()).toEqual([]);
    }
  });

  it('replaces an installed set of the same name with a new manifest', async () => {
    const { rx, store } = await setup();
    const v1 = blockSet();
    const v2 = blockSet({ blockBytes: 1200 });
    for (const [set, id] of [
      [v1, 't-1'],
      [v2, 't-2'],
    ] as const) {
      const owner = {};
      await rx.offer(owner, offerOf(set, id));
      for (const [path, data] of set) await send(rx, owner, id, path, data, 0, 4096);
    }
    const list = await store.listInstalled();
    expect(list).toHaveLength(1);
    expect(list[0]!.manifestSha256).toBe(sha(v2.get('manifest.json')!));
    expect(rx.blockSets()).toHaveLength(1);
  });
});
