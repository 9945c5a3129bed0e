// The push-model tool's key file (ios-companion/tools/push-model.ts): kept secret across instances with the clientId
// its keys were paired under; a file that is not a key file is refused naming it, and never overwritten.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../../../ios-companion/tools/push-model';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function keysPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'odsora-push-keys-'));
  dirs.push(dir);
  return join(dir, 'config', 'push-keys.json');
}

const key = 'cd'.repeat(32);

describe('push-model FileKeyStore', () => {
  it('keeps each device’s key with the one clientId of the file, owner-only, across instances', async () => {
    const path = keysPath();
    const a = new FileKeyStore(path);
    expect(await a.get('phone-1')).toBeNull();
    await a.set({ deviceId: 'phone-1', keyId: 'k1', key });
    await a.set({ deviceId: 'phone-2', keyId: 'k2', key });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o077).toBe(0);
    const b = new FileKeyStore(path);
    expect(await b.clientId()).toBe(await a.clientId());
    expect(await b.get('phone-1')).toEqual({
      deviceId: 'phone-1',
      keyId: 'k1',
      key,
      clientId: await a.clientId(),
    });
    await b.delete('phone-1');
    expect(await new FileKeyStore(path).get('phone-1')).toBeNull();
    expect(await new FileKeyStore(path).get('phone-2')).not.toBeNull();
  });

  it.each([
    ['torn', '[{"deviceId":"phone-1","keyId":"k1","ke'],
    ['edited to a short key', JSON.stringify([{ deviceId: 'phone-1', keyId: 'k1', key: 'cd' }])],
  ])('refuses a key file that is %s, naming it, and does not overwrite it', async (_, text) => {
    const path = keysPath();
    await new FileKeyStore(path).set({ deviceId: 'phone-0', keyId: 'k0', key });
    writeFileSync(path, text);
    const store = new FileKeyStore(path);
    await expect(store.get('phone-1')).rejects.toThrow(`${path}: not a key file (`);
    await expect(store.set({ deviceId: 'phone-2', keyId: 'k2', key })).rejects.toThrow(path);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});
