/**
 * `npm run push-model -w ios-companion -- --host <phone ip> --set <block set dir> [--port 47820] [--name N]
 * [--code 123456] [--keys FILE]`: pushes a converted block set to the phone over model sync (the studio-side client
 * of src-main/devices, resumable), pairing first when this computer holds no key for the phone. Runs on the
 * studio's computer (Node), never in the app. Keys are kept in `~/.config/odsora/push-keys.json` (mode 0600).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readJsonFile, replaceText } from '../../shared/companion/host-kit/file-stores';
import { NodeFileSystem } from '../../src-main/adapters/node-fs';
import { CompanionClient } from '../../src-main/devices/companion-client';
import type { KeyStore, PairingRecord } from '../../src-main/devices/key-store';

const recordSchema = z.object({
  deviceId: z.string(),
  keyId: z.string(),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  /** The clientId the key was paired under (a device accepts the key only from a session that said hello with it). */
  clientId: z.string().optional(),
});
type StoredRecord = z.infer<typeof recordSchema>;
const keyFileSchema = z.array(recordSchema);

/**
 * Pairing keys in a JSON file, one per device, each with the clientId it was paired under: one clientId for the
 * whole file, made when the first key is stored. A key stored without one (an older file) is never offered: it
 * would be refused, so the tool pairs again. Read and written through the host kit's file stores: a file that is
 * not a key file is an error naming it (never overwritten), and it is written secret (0600 in a 0700 folder)
 * through `.tmp`.
 */
export class FileKeyStore implements KeyStore {
  private id: string | null = null;
  private readonly fs = new NodeFileSystem();

  constructor(private readonly path: string) {}

  /** The clientId this file's keys are paired under (a new one while it holds none). */
  async clientId(): Promise<string> {
    if (this.id === null) {
      const stored = (await this.all()).find((r) => r.clientId !== undefined)?.clientId;
      this.id = stored ?? `push-model-${randomUUID()}`;
    }
    return this.id;
  }

  private async all(): Promise<StoredRecord[]> {
    return (await readJsonFile(this.fs, this.path, keyFileSchema, 'not a key file')) ?? [];
  }

  async get(deviceId: string): Promise<PairingRecord | null> {
    const clientId = await this.clientId();
    return (await this.all()).find((r) => r.deviceId === deviceId && r.clientId === clientId) ?? null;
  }

  async set(record: PairingRecord): Promise<void> {
    const clientId = await this.clientId();
    await this.write([
      ...(await this.all()).filter((r) => r.deviceId !== record.deviceId),
      { ...record, clientId },
    ]);
  }

  async delete(deviceId: string): Promise<void> {
    await this.write((await this.all()).filter((r) => r.deviceId !== deviceId));
  }

  private async write(records: StoredRecord[]): Promise<void> {
    await replaceText(this.fs, this.path, JSON.stringify(records), { secret: true });
  }
}

/** Options of {@link pushModel}. */
export interface PushModelOptions {
  host: string;
  port: number;
  setDir: string;
  name?: string;
  /** Where the keys are kept, with the clientId they were paired under (hello says it). */
  keys: KeyStore & { clientId(): Promise<string> };
  /** Asks for the code the phone shows (after `pair.start`). */
  askCode: () => Promise<string>;
  log: (line: string) => void;
}

/** Connects, pairs if needed, pushes the set and reports what the phone lists. */
export async function pushModel(o: PushModelOptions): Promise<void> {
  const client = new CompanionClient({
    keyStore: o.keys,
    clientId: await o.keys.clientId(),
    clientName: 'odsora push-model',
    requestTimeoutMs: 60_000,
  });
  try {
    const r = await client.connect(o.host, o.port);
    o.log(`connected to ${r.device.name} (${r.device.model}, ${r.device.id})`);
    if (!r.authenticated) {
      await client.startPairing();
      await client.pair((await o.askCode()).trim());
      o.log('paired');
    }
    let lastPct = -1;
    const result = await client.pushBlockSet(o.setDir, {
      ...(o.name ? { name: o.name } : {}),
      chunkBytes: 4 * 1024 * 1024,
      onProgress: (p) => {
        const pct = Math.floor((100 * p.deviceBytes) / Math.max(1, p.totalBytes));
        if (pct >= lastPct + 5) {
          lastPct = pct;
          o.log(`${pct}% (${p.deviceBytes} of ${p.totalBytes} bytes)`);
        }
      },
    });
    o.log(`installed ${result.name}: ${result.totalBytes} bytes, manifest sha256 ${result.manifestSha256}`);
    const listed = (await client.deviceInfo()).blockSets.map(
      (b) => `${b.name}${b.complete ? '' : ' (partial)'}`,
    );
    o.log(`the phone lists: ${listed.join(', ') || 'nothing'}`);
  } finally {
    await client.close();
  }
}

/** The command line (tools/run-push-model.mjs calls it). */
export async function runPushModelCli(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string', default: '47820' },
      set: { type: 'string' },
      name: { type: 'string' },
      code: { type: 'string' },
      keys: { type: 'string', default: join(homedir(), '.config', 'odsora', 'push-keys.json') },
    },
  });
  const port = Number(values.port);
  if (!values.host || !values.set || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(
      'usage: push-model --host <phone ip> --set <block set dir> [--port 47820] [--name N] [--code C]',
    );
  if (!existsSync(join(values.set, 'manifest.json')))
    throw new Error(
      `${values.set}: no manifest.json — convert the model first (npm run odsora -- convert ...)`,
    );
  await pushModel({
    host: values.host,
    port,
    setDir: resolve(values.set),
    ...(values.name ? { name: values.name } : {}),
    keys: new FileKeyStore(values.keys),
    askCode: async () => {
      if (values.code) return values.code;
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question('Pairing code shown on the phone: ');
      } finally {
        rl.close();
      }
    },
    log: (line) => console.log(line),
  });
}
