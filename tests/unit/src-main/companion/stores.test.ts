// The Node companion's pairing-key file (real files): the keys are secrets, so what is read back is checked against
// the one schema both hosts use, and a file that is not one is an error naming it, not keys taken on trust.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FilePairingStore } from '../../../../src-main/companion/stores';

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
    const store = new FilePairingStore(dir);
    await store.put(record);
    expect(await new FilePairingStore(dir).list()).toEqual([record]);
    expect(statSync(join(dir, 'pairing-keys.json')).mode & 0o077).toBe(0);
  });

  it.each([
    ['a key that is not 64 hex digits', { keys: [{ ...record, key: 'not-a-key' }] }],
    ['a record without its clientId', { keys: [{ ...record, clientId: undefined }] }],
    ['a key id of another shape', { keys: [{ ...record, keyId: '../../x' }] }],
    ['no keys array', { keys: 'all' }],
    ['an unknown field', { keys: [{ ...record, admin: true }] }],
  ])('refuses a file with %s, naming the file', async (_, content) => {
    const dir = dataDir();
    const path = join(dir, 'pairing-keys.json');
    writeFileSync(path, JSON.stringify(content));
    await expect(new FilePairingStore(dir).list()).rejects.toThrow(`${path}: not a pairing-key file`);
    // Nothing was rewritten.
    expect(readFileSync(path, 'utf8')).toBe(JSON.stringify(content));
  });
});
