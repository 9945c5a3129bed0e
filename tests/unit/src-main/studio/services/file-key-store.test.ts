import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../../../../src-main/studio/services/file-key-store';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('FileKeyStore', () => {
  it('keeps one key per device in a file only its owner can read, across instances', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'odsora-keys-')), 'studio');
    dirs.push(dir);
    const a = new FileKeyStore(dir);
    expect(await a.get('dev-1')).toBeNull();
    const key = 'ab'.repeat(32);
    await Promise.all([
      a.set({ deviceId: 'dev-1', keyId: 'k1', key }),
      a.set({ deviceId: 'dev-2', keyId: 'k2', key }),
      a.set({ deviceId: 'dev-1', keyId: 'k3', key }),
    ]);
    expect(statSync(a.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0);
    const b = new FileKeyStore(dir);
    expect(await b.get('dev-1')).toEqual({ deviceId: 'dev-1', keyId: 'k3', key });
    await b.delete('dev-1');
    expect(await new FileKeyStore(dir).list()).toEqual([{ deviceId: 'dev-2', keyId: 'k2', key }]);
  });

  it.each([
    ['torn', '{"format":"odsora-studio-keys","version":1,"keys":[{"deviceId":"dev-1","ke'],
    [
      'edited to a short key',
      JSON.stringify({
        format: 'odsora-studio-keys',
        version: 1,
        keys: [{ deviceId: 'dev-1', keyId: 'k1', key: 'ab' }],
      }),
    ],
  ])('refuses a key file that is %s, naming it, and does not overwrite it', async (_, text) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'odsora-keys-')), 'studio');
    dirs.push(dir);
    mkdirSync(dir, { recursive: true });
    const store = new FileKeyStore(dir);
    writeFileSync(store.path, text);
    await expect(store.list()).rejects.toThrow(`${store.path}: not a studio key file (`);
    await expect(store.get('dev-1')).rejects.toThrow(store.path);
    await expect(store.set({ deviceId: 'dev-2', keyId: 'k2', key: 'ab'.repeat(32) })).rejects.toThrow(
      store.path,
    );
    expect(readFileSync(store.path, 'utf8')).toBe(text);
  });
});
