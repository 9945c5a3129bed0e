// FUZZ: at least 10,000 random and mutated frames from raw WebSocket clients at the REAL companion process, in
// each session stage (before hello, greeted, authenticated): bad JSON, wrong types, huge payloads (bounded),
// unknown types, extra keys, non-objects, deep nesting, truncated and corrupted binary headers. Every frame must be
// answered by exactly one typed `error` (or a hello.reject / a clean close), never a crash, while a well-behaved
// client keeps being served (JSON ping/pong interleaved) and the process is still alive at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createHmac } from 'node:crypto';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { bytesToHex, computeAuthProof } from '../../../shared/protocol/auth';
import { decodeBinaryFrame, encodeBinaryFrame } from '../../../shared/protocol/binary-frame';
import { decodeDeviceText, decodeClientText } from '../../../shared/protocol/parse';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';

const HOST = '127.0.0.1';
const TOTAL_FRAMES = 10_200;
const BATCH = 100;
const CLEAN_CLOSE_CODES = new Set([1000, 1001, 1008, 1009, 4001]);

let proc: CompanionProcess;
const keys = new MemoryKeyStore();
let good: CompanionClient;

beforeAll(async () => {
  proc = await startCompanion();
  good = new CompanionClient({ keyStore: keys, clientName: 'well-behaved', requestTimeoutMs: 10_000 });
  await good.connect(HOST, proc.port);
  await good.pair(proc.ready.pairingCode ?? proc.latestPairingCode()!);
});

afterAll(async () => {
  await good?.close().catch(() => undefined);
  await stopCompanion(proc);
});

// ---------------------------------------------------------------------------------------------------------------
// Deterministic generator

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(0x0d50a);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');

const templates = (): Record<string, unknown>[] => [
  { type: 'hello', protocolVersion: 1, clientId: 'fuzzer', clientName: 'fuzzer' },
  { type: 'ping', nonce: 1 },
  { type: 'pong', nonce: 2 },
  { type: 'device.info.get', id: 1 },
  { type: 'pair.start', id: 2 },
  { type: 'pair.request', id: 3, code: '123456' },
  { type: 'auth.response', id: 4, keyId: `k-${hex(16)}`, clientNonce: hex(32), mac: hex(64) },
  {
    type: 'run.start',
    id: 5,
    params: {
      prompt: 'x',
      seed: 1,
      steps: 2,
      lpl: { mode: 'fixed', leapStep: 1 },
      cidl: { budget: { kind: 'fraction', of: 0.5 } },
      timesteps: { ratioTime: 'app' },
    },
    preview: { everySteps: 1, maxEdgePx: 32, format: 'png' },
    label: 'fuzz',
  },
  { type: 'run.cancel', id: 6, runId: 'r-1' },
  { type: 'run.subscribe', id: 7, runId: 'r-1', fromSeq: 1 },
  { type: 'run.unsubscribe', id: 8, runId: 'r-1' },
  { type: 'runs.get', id: 9 },
  { type: 'frames.get', id: 10, runId: 'r-1', from: 0, count: 1, format: 'png' },
  {
    type: 'blockset.offer',
    id: 11,
    transferId: 't-1',
    name: 'bs',
    manifestSha256: hex(64),
    files: [{ path: 'a/b.bin', bytes: 10, sha256: hex(64) }],
  },
  {
    type: 'blockset.chunk',
    id: 12,
    transferId: 't-1',
    path: 'a/b.bin',
    offset: 0,
    bytes: 10,
    sha256: hex(64),
    chunkSeq: 0,
  },
];

const wrongValues = (): unknown[] => [
  null,
  true,
  -1,
  0.5,
  1e300,
  -0,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  'x'.repeat(1 + int(300)),
  '\ud800',
  [],
  [1, 'a', null],
  {},
  { type: 'ping' },
  hex(64).toUpperCase(),
  '../../etc/passwd',
];

/** Every path to a value inside `v`. */
function paths(
  v: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (v !== null && typeof v === 'object') {
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(child, p, out);
    }
  }
  return out;
}

function setPath(
  root: Record<string, unknown>,
  path: (string | number)[],
  value: unknown,
  remove = false,
): void {
  let o = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete o[last];
  else o[last] = value;
}

type Frame = { kind: string; data: string | Uint8Array };

function mutatedText(): Frame {
  const base = pick(templates());
  switch (int(12)) {
    case 0:
    case 1:
    case 2: {
      const ps = paths(base);
      const p = pick(ps);
      setPath(base, p, pick(wrongValues()));
      return { kind: 'wrong-type', data: JSON.stringify(base) };
    }
    case 3: {
      const ps = paths(base).filter((p) => p.length > 0);
      setPath(base, pick(ps), undefined, true);
      return { kind: 'missing-field', data: JSON.stringify(base) };
    }
    case 4: {
      // The top level or any nested object gets a key the schema does not have (objects are strict).
      const objects: Record<string, unknown>[] = [base];
      const walk = (v: unknown): void => {
        if (v === null || typeof v !== 'object') return;
        if (!Array.isArray(v)) objects.push(v as Record<string, unknown>);
        for (const c of Object.values(v as Record<string, unknown>)) walk(c);
      };
      for (const c of Object.values(base)) walk(c);
      pick(objects)[`extra${int(100)}`] = pick(wrongValues());
      return { kind: 'extra-key', data: JSON.stringify(base) };
    }
    case 5:
      base['type'] = pick([
        '',
        'hello2',
        'run.start ',
        'RUN.START',
        'ping.pong',
        'x'.repeat(500),
        `t${int(1e9)}`,
      ]);
      return { kind: 'unknown-type', data: JSON.stringify(base) };
    case 6: {
      const s = JSON.stringify(base);
      return { kind: 'truncated-json', data: s.slice(0, int(s.length)) };
    }
    case 7: {
      const s = JSON.stringify(base).split('');
      for (let i = 0; i < 1 + int(4); i++) s[int(s.length)] = String.fromCharCode(int(0x250));
      return { kind: 'flipped-json', data: s.join('') };
    }
    case 8:
      return {
        kind: 'garbage',
        data: Array.from({ length: int(200) }, () => String.fromCharCode(int(0xffff))).join(''),
      };
    case 9:
      return {
        kind: 'non-object',
        data: pick([
          '1',
          '"hello"',
          'null',
          'true',
          '[]',
          '[{"type":"ping","nonce":1}]',
          '{}',
          '-0',
          '1e999',
        ]),
      };
    case 10: {
      const depth = 100 + int(3000);
      return { kind: 'deep-nesting', data: '['.repeat(depth) + ']'.repeat(depth) };
    }
    default: {
      // Large but bounded: over the schema's limits, below the 1 MiB frame limit.
      const which = int(4);
      if (which === 0)
        return {
          kind: 'huge-field',
          data: JSON.stringify({
            ...templates()[7],
            params: { prompt: 'p'.repeat(4001 + int(200_000)), seed: 1 },
          }),
        };
      if (which === 1)
        return {
          kind: 'huge-field',
          data: JSON.stringify({ ...templates()[0], clientName: 'n'.repeat(129 + int(100_000)) }),
        };
      if (which === 2) {
        const files = Array.from({ length: 4097 }, (_, i) => ({
          path: `f${i}`,
          bytes: 1,
          sha256: 'a'.repeat(64),
        }));
        return { kind: 'huge-array', data: JSON.stringify({ ...templates()[13], files }) };
      }
      return {
        kind: 'huge-field',
        data: JSON.stringify({ type: 'ping', nonce: 1, pad: 'z'.repeat(int(500_000)) }),
      };
    }
  }
}

function oversizeText(): Frame {
  return {
    kind: 'over-1MiB',
    data: JSON.stringify({ type: 'ping', nonce: 1, pad: 'x'.repeat(1024 * 1024 + int(4096)) }),
  };
}

function mutatedBinary(): Frame {
  const valid = encodeBinaryFrame({
    kind: 'image-rgb8',
    purpose: 'preview',
    streamId: 'r-1',
    seq: 1,
    index: 0,
    dims: [2, 3, 3],
    payload: new Uint8Array(18),
  });
  switch (int(7)) {
    case 0:
      return { kind: 'bin-truncated-header', data: valid.slice(0, int(40)) };
    case 1:
      return { kind: 'bin-truncated-payload', data: valid.slice(0, 40 + int(valid.length - 40)) };
    case 2: {
      const b = new Uint8Array(valid);
      for (let i = 0; i < 1 + int(3); i++) b[int(40)] = int(256);
      return { kind: 'bin-flipped-header', data: b };
    }
    case 3: {
      const b = new Uint8Array(valid);
      const k = int(4);
      b[k] = (b[k] ?? 0) ^ 0xff;
      return { kind: 'bin-bad-magic', data: b };
    }
    case 4:
      return { kind: 'bin-random', data: Uint8Array.from({ length: int(256) }, () => int(256)) };
    case 5: {
      const b = new Uint8Array(valid);
      new DataView(b.buffer).setUint32(16, 0xffffffff, true); // a payload far past the frame
      return { kind: 'bin-huge-length', data: b };
    }
    default: {
      const b = new Uint8Array(valid.length + 1 + int(16));
      b.set(valid);
      return { kind: 'bin-trailing', data: b };
    }
  }
}

function makeFrame(i: number): Frame {
  if (i % 997 === 0) return oversizeText();
  for (;;) {
    const f = int(4) === 0 ? mutatedBinary() : mutatedText();
    // Only frames the protocol's own parsers reject: each must get exactly one error.
    if (typeof f.data === 'string' && decodeClientText(f.data).ok) continue;
    if (typeof f.data !== 'string' && decodeBinaryFrame(f.data).ok) continue;
    return f;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Raw connections in each stage

type Stage = 'connected' | 'greeted' | 'authenticated';

interface Raw {
  stage: Stage;
  ws: WebSocket;
  replies: number;
  closed: { code: number } | null;
  codes: Map<string, number>;
  invalidReplies: number;
  ready: boolean;
}

async function openRaw(stage: Stage, codes: Map<string, number>): Promise<Raw> {
  const ws = new WebSocket(`ws://${HOST}:${proc.port}/`, { maxPayload: 64 * 1024 * 1024 });
  const raw: Raw = { stage, ws, replies: 0, closed: null, codes, invalidReplies: 0, ready: false };
  const inbox: Record<string, unknown>[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = String(data);
    const parsed = decodeDeviceText(text);
    if (!parsed.ok) raw.invalidReplies++;
    const m = JSON.parse(text) as Record<string, unknown>;
    if (raw.ready) {
      if (m['type'] === 'error' || m['type'] === 'hello.reject') {
        raw.replies++;
        const key = m['type'] === 'error' ? String(m['code']) : 'hello.reject';
        codes.set(key, (codes.get(key) ?? 0) + 1);
      } else if (m['type'] !== 'pong') raw.invalidReplies++;
    } else {
      inbox.push(m);
      wake?.();
    }
  });
  ws.on('close', (code) => {
    raw.closed = { code };
  });
  ws.on('error', () => undefined);
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('close', () => j(new Error('raw connect failed')));
  });
  const next = async (type: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = inbox.findIndex((m) => m['type'] === type);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      await new Promise<void>((r) => (wake = r));
    }
  };
  if (stage !== 'connected') {
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocolVersion: 1,
        // The key is bound to the clientId it was paired under (the well-behaved client's).
        clientId: stage === 'authenticated' ? good.clientId : `fuzz-${stage}`,
        clientName: 'fuzz',
      }),
    );
    const welcome = await next('welcome');
    const challenge = await next('auth.challenge');
    if (stage === 'authenticated') {
      const deviceId = (welcome['device'] as { id: string }).id;
      const rec = keys.get(deviceId)!;
      const clientNonce = bytesToHex(Uint8Array.from({ length: 16 }, () => int(256)));
      const transcript = { deviceId, keyId: rec.keyId, deviceNonce: String(challenge['nonce']), clientNonce };
      const hmac = (k: Uint8Array, m: Uint8Array) =>
        Promise.resolve(new Uint8Array(createHmac('sha256', k).update(m).digest()));
      const mac = await computeAuthProof(hmac, rec.key, 'client', transcript);
      ws.send(JSON.stringify({ type: 'auth.response', id: 1, keyId: rec.keyId, clientNonce, mac }));
      await next('auth.ok');
    }
  }
  raw.ready = true;
  return raw;
}

describe('companion fuzzing', () => {
  it(`answers ${TOTAL_FRAMES} bad frames with typed errors or clean closes and keeps serving`, async () => {
    const codes = new Map<string, number>();
    const kinds = new Map<string, number>();
    const stages: Stage[] = ['connected', 'greeted', 'authenticated'];
    const conns = new Map<Stage, Raw>();
    for (const s of stages) conns.set(s, await openRaw(s, codes));

    // The well-behaved client pings throughout.
    let pings = 0;
    let pingFailures = 0;
    let maxRtt = 0;
    let stopPinging = false;
    const pinger = (async () => {
      while (!stopPinging) {
        try {
          maxRtt = Math.max(maxRtt, await good.ping());
          pings++;
        } catch {
          pingFailures++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    let sent = 0;
    let answeredByError = 0;
    let answeredByClose = 0;
    const badCloses: number[] = [];
    let invalidReplies = 0;
    for (let b = 0; sent < TOTAL_FRAMES; b++) {
      const stage = stages[b % stages.length]!;
      let raw = conns.get(stage)!;
      const before = raw.replies;
      let batchSent = 0;
      for (let i = 0; i < BATCH && sent < TOTAL_FRAMES; i++) {
        const f = makeFrame(sent);
        kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
        if (raw.closed || raw.ws.readyState !== WebSocket.OPEN) break;
        raw.ws.send(f.data, { binary: typeof f.data !== 'string' });
        sent++;
        batchSent++;
      }
      // Wait for one reply per frame, or a close.
      const end = Date.now() + 30_000;
      while (raw.replies - before < batchSent && !raw.closed && Date.now() < end)
        await new Promise((r) => setTimeout(r, 5));
      const answered = raw.replies - before;
      answeredByError += Math.min(answered, batchSent);
      if (answered < batchSent) {
        // Not answered in time: only a clean close may explain it.
        await new Promise((r) => setTimeout(r, 200));
        expect(
          raw.closed,
          `stage ${stage}: ${batchSent - answered} frames unanswered and the connection open`,
        ).not.toBeNull();
        if (!CLEAN_CLOSE_CODES.has(raw.closed!.code)) badCloses.push(raw.closed!.code);
        answeredByClose += batchSent - answered;
      }
      if (raw.closed) {
        invalidReplies += raw.invalidReplies;
        raw = await openRaw(stage, codes);
        conns.set(stage, raw);
      }
      expect(proc.alive(), 'the companion process is alive').toBe(true);
    }
    for (const raw of conns.values()) {
      invalidReplies += raw.invalidReplies;
      raw.ws.close();
    }
    stopPinging = true;
    await pinger;

    // The well-behaved client is still served, the device still alive.
    expect(await good.ping()).toBeGreaterThanOrEqual(0);
    const info = await good.deviceInfo();
    expect(info.id).toBe(proc.ready.id);
    await good.runs();
    expect(proc.alive()).toBe(true);

    const summary = {
      sent,
      answeredByError,
      answeredByClose,
      pings,
      pingFailures,
      maxRttMs: Math.round(maxRtt),
      codes: Object.fromEntries(codes),
      kinds: Object.fromEntries(kinds),
    };
    console.log(`fuzz summary: ${JSON.stringify(summary)}`);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(answeredByError + answeredByClose).toBe(sent);
    expect(badCloses).toEqual([]);
    expect(invalidReplies).toBe(0);
    expect(pingFailures).toBe(0);
    expect(pings).toBeGreaterThan(10);
    // Every error is a known, typed code.
    for (const code of codes.keys()) expect(code).toMatch(/^[a-z-.]+$/);
  });
});
