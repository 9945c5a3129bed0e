// The studio's pairing keys on disk: `<studio data>/pairing-keys.json`, read and written through the host kit's
// file stores (validated read; secret write: mode 0600 in a 0700 folder, replaced through `.tmp` so a crash never
// leaves half a key file). Changes are serialised in process, so two at once never lose one.
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, replaceText } from '../../../shared/companion/host-kit/file-stores';
import { deviceIdSchema } from '../../../shared/protocol/device';
import { NodeFileSystem } from '../../adapters/node-fs';
import type { KeyStore, PairingRecord } from '../../devices/companion-client';

/** The key file's name under the studio's data directory. */
export const KEY_FILE = 'pairing-keys.json';

const keyFileSchema = z.object({
  format: z.literal('odsora-studio-keys'),
  version: z.literal(1),
  keys: z.array(
    z.object({
      deviceId: deviceIdSchema,
      keyId: z.string().min(1).max(128),
      key: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

/** Pairing keys, one per device, in a 0600 JSON file. */
export class FileKeyStore implements KeyStore {
  readonly path: string;
  private readonly fs = new NodeFileSystem();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.path = join(dataDir, KEY_FILE);
  }

  /**
   * Every stored record (a missing file is empty). A file that is not JSON (torn) or not a studio key file (edited)
   * is an error naming it and why, never keys taken on trust or silently dropped.
   */
  async list(): Promise<PairingRecord[]> {
    const file = await readJsonFile(this.fs, this.path, keyFileSchema, 'not a studio key file');
    return file === null ? [] : file.keys;
  }

  async get(deviceId: string): Promise<PairingRecord | null> {
    await this.queue;
    return (await this.list()).find((r) => r.deviceId === deviceId) ?? null;
  }

  set(record: PairingRecord): Promise<void> {
    return this.update((keys) => [...keys.filter((r) => r.deviceId !== record.deviceId), { ...record }]);
  }

  delete(deviceId: string): Promise<void> {
    return this.update((keys) => keys.filter((r) => r.deviceId !== deviceId));
  }

  private update(change: (keys: PairingRecord[]) => PairingRecord[]): Promise<void> {
    const job = this.queue.then(async () => {
      const keys = change(await this.list());
      const file = { format: 'odsora-studio-keys', version: 1, keys };
      await replaceText(this.fs, this.path, `${JSON.stringify(file)}\n`, { secret: true });
    });
    this.queue = job.catch(() => undefined);
    return job;
  }
}
