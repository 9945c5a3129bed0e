// The app's stores on react-native-fs's API (iOS's strict semantics, over real files): the model store's staged
// writes, resume truncation, native hashing, commit/replace and delete; the run and pairing stores; settings
// validation.
import { createHash } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RnfsFileSystem } from '../../../ios-companion/src/storage/rnfs-file-system';
import { RnfsModelStore } from '../../../ios-companion/src/storage/rnfs-model-store';
import { RnfsSettingsStore, type PhoneSettings } from '../../../ios-companion/src/storage/rnfs-stores';
import { FilePairingStore, FileRunStore } from '../../../shared/companion/host-kit/file-stores';
import { nodeRnfs } from './node-rnfs';

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'odsora-rnfs-'));
  temps.push(d);
  return d;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const key = { name: 'nano', manifestSha256: 'a'.repeat(64) };

describe('the app model store on react-native-fs', () => {
  it('stages chunks in order and out of order, truncates for a resume, hashes natively, commits and deletes', async () => {
    const root = join(tempDir(), 'blocksets');
    const rnfs = nodeRnfs();
    const store = new RnfsModelStore(rnfs, root);
    await store.begin(key);
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff);
    expect(await store.stagedBytes(key, 'stdit/pair.0.safetensors')).toBe(0);
    await store.write(key, 'stdit/pair.0.safetensors', 0, data.subarray(0, 100_000));
    await store.write(key, 'stdit/pair.0.safetensors', 100_000, data.subarray(100_000, 250_000));
    // A chunk sent again after a drop overwrites in place.
    await store.write(key, 'stdit/pair.0.safetensors', 50_000, data.subarray(50_000, 150_000));
    expect(await store.stagedBytes(key, 'stdit/pair.0.safetensors')).toBe(250_000);
    await store.truncate(key, 'stdit/pair.0.safetensors', 200_000);
    expect(await store.stagedBytes(key, 'stdit/pair.0.safetensors')).toBe(200_000);
    await store.write(key, 'stdit/pair.0.safetensors', 200_000, data.subarray(200_000));
    expect(await store.sha256(key, 'stdit/pair.0.safetensors')).toBe(sha(data));
    expect(rnfs.calls['hash']).toBe(1); // hashed by the native side, not in JavaScript
    await expect(store.write(key, '../escape', 0, data)).rejects.toThrow(/unsafe block-set path/);
    await expect(store.write(key, 'stdit/x', 10, data)).rejects.toThrow(/past the staged 0 bytes/);
    await store.write(key, 'manifest.json', 0, new TextEncoder().encode('{}'));
    const record = {
      name: 'nano',
      model: 'opensora-nano',
      manifestSha256: key.manifestSha256,
      bytes: data.length + 2,
      files: [{ path: 'stdit/pair.0.safetensors', bytes: data.length, sha256: sha(data) }],
    };
    await store.commit(key, record);
    expect(await store.listInstalled()).toEqual([record]);
    expect(sha(readFileSync(join(root, 'nano', 'stdit', 'pair.0.safetensors')))).toBe(sha(data));
    // A second push of the same name replaces the first.
    const key2 = { name: 'nano', manifestSha256: 'b'.repeat(64) };
    await store.begin(key2);
    await store.write(key2, 'manifest.json', 0, new TextEncoder().encode('{"v":2}'));
    await store.commit(key2, { ...record, manifestSha256: key2.manifestSha256, files: [] });
    expect((await store.listInstalled()).map((r) => r.manifestSha256)).toEqual([key2.manifestSha256]);
    expect(readFileSync(join(root, 'nano', 'manifest.json'), 'utf8')).toBe('{"v":2}');
    expect(await store.remove('nano')).toBe(true);
    expect(await store.remove('nano')).toBe(false);
    expect(await store.listInstalled()).toEqual([]);
  });

  it('lists only folders with a valid sync record', async () => {
    const root = join(tempDir(), 'blocksets');
    const rnfs = nodeRnfs();
    const fs = new RnfsFileSystem(rnfs);
    await fs.mkdirp(join(root, 'copied-by-hand'));
    await fs.mkdirp(join(root, 'torn'));
    writeFileSync(join(root, 'torn', 'odsora-sync.json'), '{"name":"torn"');
    expect(await new RnfsModelStore(rnfs, root).listInstalled()).toEqual([]);
  });
});

describe('the app model store: abandoned pushes', () => {
  it('removes staging no write touched for the idle time, except a transfer open now', async () => {
    const root = join(tempDir(), 'blocksets');
    const store = new RnfsModelStore(nodeRnfs(), root);
    const open = { name: 'open', manifestSha256: 'c'.repeat(64) };
    const fresh = { name: 'fresh', manifestSha256: 'd'.repeat(64) };
    for (const k of [key, open, fresh]) await store.write(k, 'stdit/x.bin', 0, Uint8Array.of(1, 2, 3));
    await new RnfsFileSystem(nodeRnfs()).mkdirp(join(root, '.replaced-nano-x'));
    // An hour passes for two of them.
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

describe('the app file system port on react-native-fs', () => {
  it('reads ranges across bridge-sized pieces and refuses short reads with the file name', async () => {
    const dir = tempDir();
    const fs = new RnfsFileSystem(nodeRnfs());
    const data = Uint8Array.from({ length: 20_000 }, (_, i) => i & 0xff);
    await fs.writeFile(join(dir, 'w.bin'), data);
    const r = await fs.open(join(dir, 'w.bin'));
    expect(await r.size()).toBe(20_000);
    expect(await r.read(19_990, 10)).toEqual(data.subarray(19_990));
    await expect(r.read(19_995, 10)).rejects.toThrow(/w\.bin: short read/);
    const w = await fs.createWriter(join(dir, 'out.bin'));
    await w.write(data.subarray(0, 5));
    await w.write(data.subarray(5, 9));
    await w.close();
    expect(await fs.readFile(join(dir, 'out.bin'))).toEqual(data.subarray(0, 9));
    await fs.rename(join(dir, 'out.bin'), join(dir, 'w.bin')); // replaces, as the port promises
    expect((await fs.readFile(join(dir, 'w.bin'))).length).toBe(9);
  });
});

describe('the run and pairing stores on the app file system, and the settings store', () => {
  it('appends event-log lines, lists runs oldest first and skips torn metadata', async () => {
    const dir = tempDir();
    let now = 1000;
    const runs = new FileRunStore(new RnfsFileSystem(nodeRnfs()), dir, () => now);
    await runs.saveRun({ runId: 'r-b', clientId: 'c1', label: 'second' });
    now = 500;
    await runs.saveRun({ runId: 'r-a', clientId: 'c1' });
    await runs.appendLines('r-a', ['{"seq":1}', '{"seq":2}']);
    await runs.appendLines('r-a', ['{"seq":3}']);
    expect(await runs.readText('r-a')).toBe('{"seq":1}\n{"seq":2}\n{"seq":3}\n');
    expect(await runs.readText('r-none')).toBe('');
    await runs.replaceLines('r-a', ['{"seq":1}']);
    expect(await runs.readText('r-a')).toBe('{"seq":1}\n');
    // A repair the app died in (the log removed, its replacement not yet moved in) is finished before reading.
    const log = join(dir, 'runs', 'r-a.log');
    renameSync(log, `${log}.tmp`);
    expect(await runs.readText('r-a')).toBe('{"seq":1}\n');
    await runs.appendLines('r-a', ['{"seq":2}']);
    expect(readFileSync(log, 'utf8')).toBe('{"seq":1}\n{"seq":2}\n');
    writeFileSync(join(dir, 'runs', 'r-c.json'), '{"runId":');
    expect(await runs.listRuns()).toEqual([
      { runId: 'r-a', clientId: 'c1' },
      { runId: 'r-b', clientId: 'c1', label: 'second' },
    ]);
    await expect(runs.appendLines('../x', ['y'])).rejects.toThrow(/bad run id/);
  });

  it('keeps paired keys across replacements and reports changes', async () => {
    const dir = tempDir();
    const store = new FilePairingStore(new RnfsFileSystem(nodeRnfs()), dir);
    let changes = 0;
    store.onChange = () => changes++;
    const rec = {
      keyId: 'k-0000000000000001',
      key: 'f'.repeat(64),
      clientId: 'c',
      clientName: 'Studio',
      pairedAtEpochMs: 1,
    };
    await store.put(rec);
    await store.put({ ...rec, keyId: 'k-0000000000000002' });
    await store.remove('k-0000000000000001');
    expect((await store.list()).map((r) => r.keyId)).toEqual(['k-0000000000000002']);
    expect(changes).toBe(3);
    writeFileSync(join(dir, 'pairing-keys.json'), '{"keys":[{"keyId":1}]}');
    await expect(store.list()).rejects.toThrow(/pairing-keys\.json: not a pairing-key file/);
  });

  it('keeps the pairing lockout across launches', async () => {
    const dir = tempDir();
    const store = new FilePairingStore(new RnfsFileSystem(nodeRnfs()), dir);
    expect(await store.loadLockout()).toBeNull();
    const lockout = { failures: 0, lockouts: 2, lockedUntilEpochMs: 1_800_000_000_000 };
    await store.saveLockout(lockout);
    expect(await new FilePairingStore(new RnfsFileSystem(nodeRnfs()), dir).loadLockout()).toEqual(lockout);
    writeFileSync(join(dir, 'pairing-lockout.json'), '{"failures":-1}');
    await expect(store.loadLockout()).rejects.toThrow(/pairing-lockout\.json: not a pairing lockout/);
  });

  it('validates settings on save and on load', async () => {
    const dir = tempDir();
    const store = new RnfsSettingsStore(nodeRnfs(), dir);
    const defaults: PhoneSettings = {
      deviceName: 'Phone',
      defaultBudget: null,
      coreml: true,
      activeModel: null,
    };
    expect(await store.load(defaults)).toEqual(defaults);
    await store.save({ ...defaults, defaultBudget: { kind: 'fraction', of: 0.5 } });
    expect((await store.load(defaults)).defaultBudget).toEqual({ kind: 'fraction', of: 0.5 });
    await expect(store.save({ ...defaults, deviceName: '' })).rejects.toThrow();
    writeFileSync(join(dir, 'settings.json'), '{"deviceName":"x","coreml":"yes"}');
    await expect(store.load(defaults)).rejects.toThrow(/settings\.json: bad settings/);
  });
});
