// The pairing lockout survives a restart of the REAL companion process (`odsora companion`, same --data): five
// wrong codes lock pairing, the process is killed (SIGKILL) and started again, and it still refuses pair.start and
// pair.request with `pairing-locked` and the time left, instead of offering a fresh code to keep guessing.
import { afterAll, describe, expect, it } from 'vitest';
import { CompanionClient, DeviceError, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';

const HOST = '127.0.0.1';
const LOCKOUT_MS = 30_000;
const procs: CompanionProcess[] = [];
const clients: CompanionClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const [i, p] of procs.entries()) await stopCompanion(p, { keepData: i === 0, keepModels: i === 0 });
});

async function connect(proc: CompanionProcess): Promise<CompanionClient> {
  const client = new CompanionClient({ keyStore: new MemoryKeyStore(), requestTimeoutMs: 30_000 });
  clients.push(client);
  await client.connect(HOST, proc.port);
  return client;
}

async function refusal(p: Promise<unknown>): Promise<DeviceError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DeviceError);
  return e as DeviceError;
}

describe('pairing lockout across a companion restart', () => {
  it('stays locked after the process is killed and started again', async () => {
    const first = await startCompanion();
    procs.push(first);
    const code = first.ready.pairingCode ?? first.latestPairingCode()!;
    const wrong = code === '000000' ? '000001' : '000000';
    const guesser = await connect(first);
    for (let i = 1; i < 5; i++)
      expect((await refusal(guesser.pair(wrong))).code).toBe('pairing-code-invalid');
    const locked = await refusal(guesser.pair(wrong));
    expect(locked.code).toBe('pairing-locked');
    const lockedAt = Date.now();

    await first.kill('SIGKILL');
    const second = await startCompanion({ dataDir: first.dataDir, modelDir: first.modelDir });
    procs.push(second);
    expect(second.ready.pairingCode ?? '').toBe(''); // no code shown while locked
    const again = await connect(second);
    for (const attempt of [again.startPairing(), again.pair(wrong)]) {
      const e = await refusal(attempt);
      expect(e.code).toBe('pairing-locked');
      expect(e.retryable).toBe(true);
      expect(e.retryAfterMs).toBeGreaterThan(0);
      expect(e.retryAfterMs).toBeLessThanOrEqual(LOCKOUT_MS - (Date.now() - lockedAt) + 1000);
    }
  });
});
