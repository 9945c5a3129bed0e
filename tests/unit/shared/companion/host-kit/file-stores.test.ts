// The companion's pairing-key file on the Node host's file system (real files): the keys are secrets, so what is read
// back is checked against the pairing schema, and a file that is not one (torn, edited) is an error naming it, not
// keys taken on trust. (The same stores on the phone's file system: tests/integration/ios-companion/rnfs-stores.)
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FilePairingStore } from '../../../../../shared/companion/host-kit/file-stores';
import { NodeFileSystem } from '../../../../../src-main/adapters/node-fs';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'odsora-stores-'));
  dirs.push(d);
  return d;
}

const record = {
  keyId: 'k-0123456789abcdef',
  key: 'ab'.repeat(32),
  clientId: 'studio-1',
  clientName: 'Lab studio',
  pairedAtEpochMs: 1_700_000_000_000,
};

describe('FilePairingStore', () => {
  it('keeps keys in an owner-only file and reads them back', async () => {
    const dir = dataDir();
    const store = new FilePairingStore(new NodeFileSystem(), dir);
    await store.put(record);
    expect(await new FilePairingStore(new NodeFileSystem(), dir).list()).toEqual([record]);
    expect(statSync(join(dir, 'pairing-keys.json')).mode & 0o077).toBe(0);
  });

  it.each([
    ['a key that is not 64 hex digits', { keys: [{ ...record, key: 'not-a-key' }] }],
    ['a record without its clientId', { keys: [{ ...record, clientId: undefined }] }],
    ['a key id of another shape', { keys: [{ ...record, keyId: '../../x' }] }],
    ['no keys array', { keys: 'all' }],
    ['an unknown field', { keys: [{ ...record, admin: true }] }],
    ['half of it (a torn write)', JSON.stringify({ keys: [record] }).slice(0, 40)],
    ['no JSON at all', 'keys: ab'],
  ])('refuses a file with %s, naming the file', async (_, content) => {
    const dir = dataDir();
    const path = join(dir, 'pairing-keys.json');
    const text = typeof content === 'string' ? content : JSON.stringify(content);
    writeFileSync(path, text);
    const store = new FilePairingStore(new NodeFileSystem(), dir);
    await expect(store.list()).rejects.toThrow(`${path}: not a pairing-key file (`);
    // Nor is it replaced by a put: the keys in it are not dropped silently.
    await expect(store.put({ ...record, keyId: 'k-fedcba9876543210' })).rejects.toThrow(path);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('ignores a torn temporary left by a first write that never finished', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'pairing-keys.json.tmp'), '{"keys":[{"keyId":"k-01');
    const store = new FilePairingStore(new NodeFileSystem(), dir);
    expect(await store.list()).toEqual([]);
    await store.put(record);
    expect(await store.list()).toEqual([record]);
  });

  it('keeps the wrong-code lockout, and refuses a torn one naming the file', async () => {
    const dir = dataDir();
    const store = new FilePairingStore(new NodeFileSystem(), dir);
    expect(await store.loadLockout()).toBeNull();
    const lockout = { failures: 2, lockouts: 1, lockedUntilEpochMs: 1_800_000_000_000 };
    await store.saveLockout(lockout);
    expect(await new FilePairingStore(new NodeFileSystem(), dir).loadLockout()).toEqual(lockout);
    const path = join(dir, 'pairing-lockout.json');
    writeFileSync(path, '{"failures":2,"lock');
    await expect(store.loadLockout()).rejects.toThrow(`${path}: not a pairing lockout (`);
  });
});
