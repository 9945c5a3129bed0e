// FUZZ: 10,200 random and mutated frames (src-main/bench/protocol-fuzz.ts, the generator `odsora bench protocol
// --fuzz` runs at any size) from raw WebSocket clients at the REAL companion process, two connections in each
// session stage at once (before hello, greeted, authenticated). Every frame must be answered by exactly one typed
// `error` (or a hello.reject / a clean close), never a crash, while a well-behaved client keeps being served (JSON
// ping/pong every 20 ms) and the process is still alive at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { runProtocolFuzz } from '../../../src-main/bench/protocol-fuzz';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';

const HOST = '127.0.0.1';
const TOTAL_FRAMES = 10_200;
const CLIENT_ID = 'fuzz-well-behaved';

let proc: CompanionProcess;
const keys = new MemoryKeyStore();
let good: CompanionClient;

beforeAll(async () => {
  proc = await startCompanion();
  good = new CompanionClient({
    keyStore: keys,
    clientId: CLIENT_ID,
    clientName: 'well-behaved',
    requestTimeoutMs: 10_000,
  });
  await good.connect(HOST, proc.port);
  await good.pair(proc.ready.pairingCode ?? proc.latestPairingCode()!);
});

afterAll(async () => {
  await good?.close().catch(() => undefined);
  await stopCompanion(proc);
});

describe('companion fuzzing', () => {
  it(`answers ${TOTAL_FRAMES} bad frames with typed errors or clean closes and keeps serving`, async () => {
    const s = await runProtocolFuzz({
      target: { host: HOST, port: proc.port, clientId: CLIENT_ID, keys },
      client: good,
      frames: TOTAL_FRAMES,
      alive: () => proc.alive(),
    });
    console.log(`fuzz summary: ${JSON.stringify({ ...s, kinds: undefined })}`);
    expect(s.crashed).toBe(false);
    expect(s.sent).toBe(TOTAL_FRAMES);
    expect(s.unanswered).toBe(0);
    expect(s.answeredByError + s.answeredByClose).toBe(s.sent);
    expect(s.badCloses).toEqual([]);
    expect(s.invalidReplies).toBe(0);
    expect(s.ping.failures).toBe(0);
    expect(s.ping.count).toBeGreaterThan(10);
    // Every error is a known, typed code; frames from every stage reached the device.
    for (const code of Object.keys(s.codes)) expect(code).toMatch(/^[a-z-.]+$/);
    expect(s.codes['handshake-required']).toBeGreaterThan(0);
    expect(s.codes['bad-message']).toBeGreaterThan(0);

    // The well-behaved client is still served, the device still alive.
    expect(await good.ping()).toBeGreaterThanOrEqual(0);
    expect((await good.deviceInfo()).id).toBe(proc.ready.id);
    await good.runs();
    expect(proc.alive()).toBe(true);
  });
});
