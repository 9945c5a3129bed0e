// The Node companion's model store: the host kit's FileModelStore on Node's file system (real files). Chunks in and
// out of order (Node writes in place, gaps included), a resume's truncation, streamed hashes, commit and replace,
// only sets with a valid sync record listed, abandoned staging swept, delete.
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeModelStore } from '../../../src-main/companion/model-store';

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'odsora-model-store-'));
  temps.push(d);
  return join(d, 'blocksets');
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const key = { name: 'nano', manifestSha256: 'a'.repeat(64) };
const file = 'stdit/pair.0.safetensors';

describe('the Node companion model store', () => {
  it('stages chunks in any order, truncates for a resume, hashes, commits, replaces and deletes', async () => {
    const root = tempRoot();
    const store = nodeModelStore(root);
    await store.begin(key);
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff);
    expect(await store.stagedBytes(key, file)).toBe(0);
    expect(await store.sha256(key, file)).toBe(sha(new Uint8Array(0)));
    await store.write(key, file, 100_000, data.subarray(100_000, 250_000)); // a later chunk first
    await store.write(key, file, 0, data.subarray(0, 100_000));
    expect(await store.stagedBytes(key, file)).toBe(250_000);
    await store.truncate(key, file, 200_000);
    expect(await store.stagedBytes(key, file)).toBe(200_000);
    await store.write(key, file, 200_000, data.subarray(200_000));
    expect(await store.sha256(key, file)).toBe(sha(data));
    await expect(store.read(key, file, 1000)).rejects.toThrow(`${file} has 300000 bytes (at most 1000)`);
    await expect(store.write(key, '../escape', 0, data)).rejects.toThrow(/unsafe block-set path/);
    await expect(store.write(key, 'odsora-sync.json', 0, data)).rejects.toThrow(/unsafe block-set path/);
    await store.write(key, 'manifest.json', 0, new TextEncoder().encode('{}'));
    expect(new TextDecoder().decode(await store.read(key, 'manifest.json', 1000))).toBe('{}');
    const record = {
      name: 'nano',
      model: 'opensora-nano',
      manifestSha256: key.manifestSha256,
      bytes: data.length + 2,
      files: [{ path: file, bytes: data.length, sha256: sha(data) }],
    };
    await store.commit(key, record);
    expect(await store.listInstalled()).toEqual([record]);
    expect(sha(readFileSync(join(root, 'nano', 'stdit', 'pair.0.safetensors')))).toBe(sha(data));
    const key2 = { name: 'nano', manifestSha256: 'b'.repeat(64) };
    const superseded = { name: 'nano', manifestSha256: 'c'.repeat(64) };
    await store.begin(superseded);
    await store.write(key2, 'manifest.json', 0, new TextEncoder().encode('{"v":2}'));
    await store.commit(key2, { ...record, manifestSha256: key2.manifestSha256, files: [] });
    expect((await store.listInstalled()).map((r) => r.manifestSha256)).toEqual([key2.manifestSha256]);
    expect(readFileSync(join(root, 'nano', 'manifest.json'), 'utf8')).toBe('{"v":2}');
    expect(readdirSync(root).sort()).toEqual(['.staging', 'nano']); // the old set and the other push are gone
    expect(readdirSync(join(root, '.staging'))).toEqual([]);
    expect(await store.availableBytes()).toBeGreaterThan(0);
    expect(await store.remove('nano')).toBe(true);
    expect(await store.remove('nano')).toBe(false);
    expect(await store.listInstalled()).toEqual([]);
  });

  it('lists only folders with a valid sync record', async () => {
    const root = tempRoot();
    mkdirSync(join(root, 'copied-by-hand'), { recursive: true });
    mkdirSync(join(root, 'torn'));
    writeFileSync(join(root, 'torn', 'odsora-sync.json'), '{"name":"torn"');
    mkdirSync(join(root, 'renamed'));
    const other = { name: 'other', model: 'm', manifestSha256: 'a'.repeat(64), bytes: 0, files: [] };
    writeFileSync(join(root, 'renamed', 'odsora-sync.json'), JSON.stringify(other));
    expect(await nodeModelStore(root).listInstalled()).toEqual([]);
  });

  it('sweeps staging no write touched for the idle time, except a transfer open now, and sets moved aside', async () => {
    const root = tempRoot();
    const store = nodeModelStore(root);
    const open = { name: 'open', manifestSha256: 'c'.repeat(64) };
    const fresh = { name: 'fresh', manifestSha256: 'd'.repeat(64) };
    for (const k of [key, open, fresh]) await store.write(k, 'stdit/x.bin', 0, Uint8Array.of(1, 2, 3));
    mkdirSync(join(root, '.replaced-nano-x'));
    const anHourAgo = Date.now() / 1000 - 3600;
    for (const k of [key, open])
      for (const p of ['stdit/x.bin', 'stdit', '.'])
        utimesSync(join(root, '.staging', `${k.name}.${k.manifestSha256}`, p), anHourAgo, anHourAgo);
    expect(await store.sweepStaging(3_000_000, [open])).toEqual([key]);
    expect(readdirSync(join(root, '.staging')).sort()).toEqual([
      `fresh.${'d'.repeat(64)}`,
      `open.${'c'.repeat(64)}`,
    ]);
    expect(readdirSync(root)).not.toContain('.replaced-nano-x');
  });
});
