// A paired client against the REAL companion process (`odsora companion`, built CLI, the bundled Open-Sora Nano):
// a job that cannot fit the device is refused at run.start with `job-too-large` and the numbers (it used to be
// accepted and grow without bound), and a cancel always wins: a run whose engine is inside a block that computes
// for seconds ends as cancelled within the cancel deadline, the engine process is killed, and the next run works.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompanionClient,
  DeviceError,
  MemoryKeyStore,
  type SeqEvent,
} from '../../../src-main/devices/companion-client';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { REPO_ROOT } from '../../helpers/odsora-cli';
import { orDeath, record, until } from './run-helpers';

const HOST = '127.0.0.1';
const NANO = join(REPO_ROOT, 'models', 'opensora-nano');
/** Short, so that a block of the run below (a second or more even on a fast machine) always outlasts it. */
const DEADLINE_MS = 250;
let proc: CompanionProcess;
let client: CompanionClient;

/** The companion's resident memory, from /proc (Linux). */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

beforeAll(async () => {
  proc = await startCompanion({
    modelDir: NANO,
    profile: 'iphone-15-pro',
    name: 'admission test',
    extraArgs: ['--cancel-deadline', String(DEADLINE_MS)],
  });
  client = new CompanionClient({
    keyStore: new MemoryKeyStore(),
    clientName: 'vitest',
    requestTimeoutMs: 30_000,
  });
  await client.connect(HOST, proc.port);
  await client.pair((proc.ready.pairingCode ?? proc.latestPairingCode()) as string);
}, 120_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await stopCompanion(proc, { keepModels: true }); // the bundled model is the repository's
});

describe('admission control', () => {
  it('refuses a job that cannot fit the device at run.start, with the numbers, and holds no memory for it', async () => {
    const before = rssOf(proc.child.pid!);
    const err = await client
      .startRun({ prompt: 'a red circle', seed: 1, numFrames: 1024, heightPx: 4096, widthPx: 4096 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(DeviceError);
    const e = err as DeviceError;
    expect(e.code).toBe('job-too-large');
    expect(e.retryable).toBe(false);
    expect(e.path).toBe('params');
    expect(e.message).toMatch(
      /needs at least [\d.]+ [KMGT]iB .* in its \w+ stage .* more than the iPhone 15 Pro's per-app limit \(3\.1 GiB/,
    );
    expect(e.message).toMatch(/short by [\d.]+ [KMGT]iB/);
    // Nothing was queued and nothing grew: the refusal is a plan, not an attempt.
    expect(await client.runs()).toHaveLength(0);
    expect(rssOf(proc.child.pid!)).toBeLessThan(before + 64 * 2 ** 20);
  });

  it('still accepts what fits', async () => {
    const { runId } = await client.startRun({ prompt: 'a red circle', seed: 1, steps: 2 });
    const rec = await record(client, runId);
    const done = await orDeath(rec.sub.done, proc);
    expect(done.event.type).toBe('run.finished');
  });
});

describe('cancel always wins', () => {
  it('ends a run stuck inside a long block within the deadline, kills the engine, and the next run works', async () => {
    // 64 frames at 256×256 on Nano: one STDiT3 block pair computes for seconds (3 s on the 2-core CI VM).
    const { runId } = await client.startRun({
      prompt: 'a red circle moving right on a black background',
      seed: 2,
      steps: 4,
      numFrames: 64,
      heightPx: 256,
      widthPx: 256,
    });
    let inBlock = false;
    const rec = await record(client, runId, 1, (e: SeqEvent) => {
      if (e.event.type === 'block.compute.start' && e.event.block.startsWith('denoiser/pair.'))
        inBlock = true;
    });
    await orDeath(
      until(() => inBlock, 120_000, 'a denoiser block to start computing'),
      proc,
    );
    const cancelledAt = Date.now();
    await client.cancel(runId);
    const end = await orDeath(rec.sub.done, proc);
    const tookMs = Date.now() - cancelledAt;
    expect(end.event.type).toBe('run.cancelled');
    expect(tookMs).toBeLessThan(DEADLINE_MS + 1500);
    // The engine was stuck in its block: the deadline, not the block boundary, ended the run.
    const killed = new RegExp(
      `did not stop within ${DEADLINE_MS} ms; the run ends now and the engine is terminated`,
    );
    await until(() => killed.test(proc.stderr()), 5000, 'the deadline log line').catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; companion stderr:\n${proc.stderr().slice(-2000)}`);
    });
    // Nothing follows the terminal event.
    expect(rec.events[rec.events.length - 1]?.event.type).toBe('run.cancelled');

    // A fresh engine serves the next run.
    const next = await client.startRun({ prompt: 'a blue square', seed: 3, steps: 2 });
    const r2 = await record(client, next.runId);
    expect((await orDeath(r2.sub.done, proc)).event.type).toBe('run.finished');
  }, 240_000);
});
