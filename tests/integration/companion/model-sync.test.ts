// Model sync against the REAL companion process (`odsora companion`, built CLI) over loopback: the studio-side
// client pushes a converted fixture block set, the connection drops mid-transfer, the client reconnects and
// resumes from the device's offsets, and the device installs the set under <data>/blocksets with the same hashes
// and lists it in device info.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlockSet } from '../../../shared/engine/blockset/load';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { SYNC_RECORD_FILE } from '../../../src-main/companion/model-store';
import { convertModelDir } from '../../../src-main/convert/model-dir';
import {
  CompanionClient,
  MemoryKeyStore,
  type PushProgress,
} from '../../../src-main/devices/companion-client';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';

const HOST = '127.0.0.1';
const temps: string[] = [];
let proc: CompanionProcess | undefined;
let client: CompanionClient | undefined;
let setDir: string;

beforeAll(async () => {
  const fs = new NodeFileSystem();
  const src = fixtureModelDir();
  temps.push(src);
  const out = mkdtempSync(join(tmpdir(), 'odsora-push-'));
  temps.push(out);
  setDir = join(out, 'fixture-set');
  await convertModelDir({ fs, sha256: nodeSha256, modelDir: src, outDir: setDir, name: 'fixture-pushed' });
  proc = await startCompanion({ name: 'Sync target' });
}, 120_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await stopCompanion(proc);
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('model sync over loopback', () => {
  it('pushes a block set, survives a dropped connection by resuming, and the device lists it', async () => {
    client = new CompanionClient({
      keyStore: new MemoryKeyStore(),
      requestTimeoutMs: 30_000,
      reconnectDelayMs: { initial: 20, max: 200 },
    });
    await client.connect(HOST, proc!.port);
    await client.pair(proc!.ready.pairingCode ?? proc!.latestPairingCode()!);

    const chunkBytes = 16 * 1024;
    const progress: PushProgress[] = [];
    let dropped = false;
    let disconnects = 0;
    const result = await client.pushBlockSet(setDir, {
      name: 'fixture-pushed',
      chunkBytes,
      onProgress: (p) => {
        progress.push(p);
        if (!dropped && p.deviceBytes > p.totalBytes * 0.4) {
          dropped = true;
          disconnects++;
          client!.simulateNetworkDrop();
        }
      },
    });

    expect(dropped).toBe(true);
    expect(disconnects).toBe(1);
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(result.offers).toBeGreaterThanOrEqual(2);
    // The second offer's ack resumed from what the device held: nothing before the drop was sent twice (at most
    // the chunk in flight at the drop).
    expect(result.resumedBytes).toBeGreaterThan(result.totalBytes * 0.4);
    expect(result.sentBytes).toBeLessThanOrEqual(result.totalBytes + chunkBytes);
    expect(progress.at(-1)!.deviceBytes).toBe(result.totalBytes);
    expect(result.files.length).toBeGreaterThan(3);

    // Device info lists the set, complete, with the manifest's hash.
    const info = await client.deviceInfo();
    const listed = info.blockSets.find((b) => b.name === 'fixture-pushed');
    expect(listed).toEqual({
      name: 'fixture-pushed',
      model: 'fixture-pushed',
      bytes: result.totalBytes,
      manifestSha256: result.manifestSha256,
      complete: true,
    });

    // The installed files on the device have the same hashes, and the set opens as a block set.
    const installedDir = join(proc!.dataDir, 'blocksets', 'fixture-pushed');
    for (const f of result.files) {
      const got = createHash('sha256')
        .update(readFileSync(join(installedDir, ...f.path.split('/'))))
        .digest('hex');
      expect(got, f.path).toBe(f.sha256);
    }
    const record = JSON.parse(readFileSync(join(installedDir, SYNC_RECORD_FILE), 'utf8')) as {
      files: unknown;
      manifestSha256: string;
    };
    expect(record.manifestSha256).toBe(result.manifestSha256);
    expect(record.files).toEqual(result.files);
    const set = await openBlockSet(new NodeFileSystem(), nodeSha256, installedDir);
    expect(set.manifest.model.name).toBe('fixture-pushed');

    // Pushing it again sends nothing: the device says installed at the offer.
    const again = await client.pushBlockSet(setDir, { name: 'fixture-pushed' });
    expect(again).toMatchObject({ offers: 1, sentBytes: 0 });
    expect(proc!.alive()).toBe(true);
  }, 120_000);
});
