// The push-model tool (ios-companion/tools/push-model.ts, run on the studio's computer) against the app's companion
// on Node: it pairs with the code the phone shows, keeps the key in its file, pushes a converted block set, and a
// second push reuses the key and sends nothing.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileKeyStore, pushModel } from '../../../ios-companion/tools/push-model';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { convertModelDir } from '../../../src-main/convert/model-dir';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';
import { until } from '../companion/run-helpers';
import { phoneDirs, startPhone } from './phone-host';
import type { PhoneCompanion } from '../../../ios-companion/src/host/phone-companion';

const temps: string[] = [];
let phone: PhoneCompanion | undefined;

afterAll(async () => {
  await phone?.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('push-model', () => {
  it('pairs once, pushes the set, and a second push reuses the key and sends nothing', async () => {
    const src = fixtureModelDir();
    temps.push(src);
    const out = mkdtempSync(join(tmpdir(), 'odsora-push-tool-'));
    temps.push(out);
    const setDir = join(out, 'nano-tool'); // the set's name on the phone defaults to the folder's
    await convertModelDir({
      fs: new NodeFileSystem(),
      sha256: nodeSha256,
      modelDir: src,
      outDir: setDir,
      name: 'nano-tool',
    });
    const dirs = phoneDirs();
    temps.push(dirname(dirname(dirs.dataDir)));
    phone = await startPhone(dirs);
    const keysPath = join(out, 'keys', 'push-keys.json');
    const lines: string[] = [];
    let asked = 0;
    const run = (): Promise<void> =>
      pushModel({
        host: '127.0.0.1',
        port: phone!.port,
        setDir,
        keys: new FileKeyStore(keysPath),
        askCode: async () => {
          asked++;
          return phone!.store.get().pairingCode!.code;
        },
        log: (l) => lines.push(l),
      });
    await run();
    expect(asked).toBe(1);
    expect(statSync(keysPath).mode & 0o777).toBe(0o600);
    expect(lines.at(-1)).toBe('the phone lists: nano-tool');
    await until(() => phone!.store.get().models.some((m) => m.active), 10_000, 'the pushed set to open');
    expect(phone.store.get().models).toEqual([expect.objectContaining({ name: 'nano-tool', active: true })]);
    lines.length = 0;
    await run();
    expect(asked).toBe(1); // the stored key authenticated
    expect(lines.some((l) => l.startsWith('installed nano-tool'))).toBe(true);
    expect(lines.some((l) => /^\d+%/.test(l) && !l.startsWith('100%'))).toBe(false); // nothing re-sent

    // A key file from before keys were bound to a clientId: its key is not offered (the phone would refuse it
    // under a new id); the tool pairs again and keeps the new key with its clientId.
    const stored = JSON.parse(readFileSync(keysPath, 'utf8')) as Record<string, unknown>[];
    expect(stored.every((r) => typeof r['clientId'] === 'string')).toBe(true);
    writeFileSync(keysPath, JSON.stringify(stored.map(({ clientId: _, ...r }) => r)));
    await run();
    expect(asked).toBe(2);
    expect(lines.some((l) => l === 'paired')).toBe(true);
  }, 120_000);
});
