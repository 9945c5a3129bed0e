/**
 * Protocol fuzzing against a real companion (`odsora bench protocol --fuzz N`, and the 10,200-frame test in
 * tests/integration/companion/fuzz.test.ts): random and mutated frames from raw WebSocket clients in every session
 * stage (before hello, greeted, authenticated), several connections at once — bad JSON, wrong types, huge but
 * bounded payloads, over-1 MiB frames, unknown types, extra keys, non-objects, deep nesting, truncated and
 * corrupted binary headers. Every frame must be answered by exactly one typed `error` (or a `hello.reject`), or
 * the connection closed cleanly (then a new one takes its place); nothing else may come back. Meanwhile a
 * well-behaved paired client pings every 20 ms; its round trips and failures are counted. The generator is
 * deterministic for a seed.
 */
import { percentile } from '../../shared/metrics/percentile';
import { cpus } from 'node:os';
import { WebSocket } from 'ws';
import { CompanionClient, MemoryKeyStore } from '../devices/companion-client';
import { exchangeAuthProofs } from '../devices/handshake';
import { nodeHmacSha256 } from '../devices/key-store';
import type { KeyStore } from '../devices/key-store';
import type { DeviceMessage } from '../../shared/protocol/messages';
import { decodeDeviceText } from '../../shared/protocol/parse';
import { startCompanionChild } from './companion-child';
import { makeFuzzFrame, seedFuzz } from './protocol-fuzz-frames';

// ---------------------------------------------------------------------------------------------------------------
// Raw connections in each session stage

/** How far a raw connection gets before it starts sending fuzz. */
export type FuzzStage = 'connected' | 'greeted' | 'authenticated';
/** Every stage, in the order fuzz connections cycle through them. */
export const FUZZ_STAGES: readonly FuzzStage[] = ['connected', 'greeted', 'authenticated'];
/** Close codes that count as a clean refusal (normal, going away, policy or deadline, too big, connection cap, hello reject; docs/protocol.md). */
export const CLEAN_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1008, 1009, 1013, 4001]);

interface Raw {
  ws: WebSocket;
  replies: number;
  closed: { code: number } | null;
  invalidReplies: number;
  ready: boolean;
}

/** Where raw connections go, and who they are once authenticated (the paired client's id and key). */
export interface FuzzTarget {
  host: string;
  port: number;
  /** The paired client's id: an authenticated raw connection says it, with its key. */
  clientId: string;
  keys: KeyStore;
}

async function openRaw(t: FuzzTarget, stage: FuzzStage, codes: Map<string, number>): Promise<Raw> {
  const ws = new WebSocket(`ws://${t.host}:${t.port}/`, { maxPayload: 64 * 1024 * 1024 });
  const raw: Raw = { ws, replies: 0, closed: null, invalidReplies: 0, ready: false };
  const inbox: Record<string, unknown>[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = String(data);
    if (!decodeDeviceText(text).ok) raw.invalidReplies++;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      raw.invalidReplies++;
      return;
    }
    if (raw.ready) {
      if (m['type'] === 'error' || m['type'] === 'hello.reject') {
        raw.replies++;
        const key = m['type'] === 'error' ? String(m['code']) : 'hello.reject';
        codes.set(key, (codes.get(key) ?? 0) + 1);
      } else if (m['type'] !== 'pong' && m['type'] !== 'ping') raw.invalidReplies++;
    } else {
      inbox.push(m);
      wake?.();
    }
  });
  ws.on('close', (code) => {
    raw.closed = { code };
    wake?.();
  });
  ws.on('error', () => undefined);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', () => reject(new Error('raw connect failed')));
  });
  const next = async (type: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = inbox.findIndex((m) => m['type'] === type);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      if (raw.closed) throw new Error(`closed (${raw.closed.code}) while waiting for ${type}`);
      await new Promise<void>((r) => (wake = r));
    }
  };
  if (stage !== 'connected') {
    ws.send(JSON.stringify({ type: 'hello', protocolVersion: 1, clientId: t.clientId, clientName: 'fuzz' }));
    const welcome = await next('welcome');
    const challenge = await next('auth.challenge');
    if (stage === 'authenticated') {
      const deviceId = (welcome['device'] as { id: string }).id;
      const rec = await t.keys.get(deviceId);
      if (!rec) throw new Error(`no pairing key for ${deviceId}: pair the client first`);
      const proven = await exchangeAuthProofs(
        nodeHmacSha256,
        rec,
        deviceId,
        String(challenge['nonce']),
        async (message, expect) => {
          ws.send(JSON.stringify({ ...message, id: 1 }));
          return (await next(expect)) as unknown as DeviceMessage;
        },
      );
      if (!proven) throw new Error(`${deviceId} did not prove it holds the pairing key`);
    }
  }
  raw.ready = true;
  return raw;
}

// ---------------------------------------------------------------------------------------------------------------
// The run

/** Options of {@link runProtocolFuzz}. */
export interface ProtocolFuzzOptions {
  target: FuzzTarget;
  /** The well-behaved client (paired, connected): it pings throughout. */
  client: CompanionClient;
  /** Frames to send in all. */
  frames: number;
  /** Raw connections per stage, fuzzing at once (default 2). */
  connectionsPerStage?: number;
  /** Generator seed (default 0x0d50a). */
  seed?: number;
  /** Frames a connection sends before it waits for their answers (default 100). */
  batch?: number;
  /** Whether the device process still runs (checked after every batch). */
  alive?: () => boolean;
  /** The device's resident bytes now (sampled every 100 ms), when the caller can read them. */
  rssBytes?: () => number | null;
  /** Called every 10,000 frames. */
  onProgress?: (sent: number) => void;
}

/** What a fuzz run saw. */
export interface ProtocolFuzzSummary {
  sent: number;
  answeredByError: number;
  answeredByClose: number;
  /** Frames neither answered nor explained by a close within 30 s (must be 0). */
  unanswered: number;
  /** Close codes outside {@link CLEAN_CLOSE_CODES} (must be empty). */
  badCloses: number[];
  /** Device messages that failed validation or were not an error/hello.reject/ping/pong (must be 0). */
  invalidReplies: number;
  reconnects: number;
  /** The device process died (must be false). */
  crashed: boolean;
  codes: Record<string, number>;
  kinds: Record<string, number>;
  ping: { count: number; failures: number; p50Ms: number; p95Ms: number; maxMs: number };
  rss: { startBytes: number | null; peakBytes: number | null; endBytes: number | null };
  seconds: number;
}

/** Runs the fuzz (see the module comment) and returns what it saw; it asserts nothing. */
export async function runProtocolFuzz(o: ProtocolFuzzOptions): Promise<ProtocolFuzzSummary> {
  seedFuzz(o.seed ?? 0x0d50a);
  const t0 = performance.now();
  const batch = o.batch ?? 100;
  const codes = new Map<string, number>();
  const kinds = new Map<string, number>();
  const rssStart = o.rssBytes?.() ?? null;
  let rssPeak = rssStart;
  const sampler = setInterval(() => {
    const r = o.rssBytes?.() ?? null;
    if (r !== null) rssPeak = Math.max(rssPeak ?? 0, r);
  }, 100);

  const rtts: number[] = [];
  let pingFailures = 0;
  let stopPinging = false;
  const pinger = (async () => {
    while (!stopPinging) {
      try {
        rtts.push(await o.client.ping());
      } catch {
        pingFailures++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  let next = 0;
  let answeredByError = 0;
  let answeredByClose = 0;
  let unanswered = 0;
  let invalidReplies = 0;
  let reconnects = 0;
  let crashed = false;
  const badCloses: number[] = [];
  const worker = async (stage: FuzzStage): Promise<void> => {
    let raw = await openRaw(o.target, stage, codes);
    while (next < o.frames && !crashed) {
      const before = raw.replies;
      let sent = 0;
      for (let i = 0; i < batch && next < o.frames; i++) {
        if (raw.closed || raw.ws.readyState !== WebSocket.OPEN) break;
        const f = makeFuzzFrame(next++);
        kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
        raw.ws.send(f.data, { binary: typeof f.data !== 'string' });
        sent++;
        if (next % 10_000 === 0) o.onProgress?.(next);
      }
      // One answer per frame, or a close.
      const end = Date.now() + 30_000;
      while (raw.replies - before < sent && !raw.closed && Date.now() < end)
        await new Promise((r) => setTimeout(r, 5));
      const answered = Math.min(raw.replies - before, sent);
      answeredByError += answered;
      if (answered < sent) {
        await new Promise((r) => setTimeout(r, 200));
        if (raw.closed) {
          if (!CLEAN_CLOSE_CODES.has(raw.closed.code)) badCloses.push(raw.closed.code);
          answeredByClose += sent - answered;
        } else unanswered += sent - answered;
      }
      if (raw.closed || answered < sent) {
        invalidReplies += raw.invalidReplies;
        raw.ws.terminate();
        if (o.alive && !o.alive()) {
          crashed = true;
          break;
        }
        raw = await openRaw(o.target, stage, codes);
        reconnects++;
      }
      if (o.alive && !o.alive()) crashed = true;
    }
    invalidReplies += raw.invalidReplies;
    raw.ws.close();
  };
  const per = o.connectionsPerStage ?? 2;
  try {
    await Promise.all(FUZZ_STAGES.flatMap((s) => Array.from({ length: per }, () => worker(s))));
  } finally {
    stopPinging = true;
    await pinger;
    clearInterval(sampler);
  }
  rtts.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    sent: next,
    answeredByError,
    answeredByClose,
    unanswered,
    badCloses,
    invalidReplies,
    reconnects,
    crashed,
    codes: Object.fromEntries(codes),
    kinds: Object.fromEntries(kinds),
    ping: {
      count: rtts.length,
      failures: pingFailures,
      p50Ms: round(percentile(rtts, 50, 'nearest-rank')),
      p95Ms: round(percentile(rtts, 95, 'nearest-rank')),
      maxMs: round(rtts[rtts.length - 1] ?? Number.NaN),
    },
    rss: { startBytes: rssStart, peakBytes: rssPeak, endBytes: o.rssBytes?.() ?? null },
    seconds: round((performance.now() - t0) / 1000),
  };
}

/** Whether a summary passes: every frame answered or cleanly closed, no crash, the good client never failed. */
function fuzzPassed(s: ProtocolFuzzSummary): boolean {
  return (
    !s.crashed &&
    s.unanswered === 0 &&
    s.answeredByError + s.answeredByClose === s.sent &&
    s.badCloses.length === 0 &&
    s.invalidReplies === 0 &&
    s.ping.failures === 0
  );
}

// ---------------------------------------------------------------------------------------------------------------
// `odsora bench protocol --fuzz N`

/** Options of {@link runProtocolFuzzBench}. */
export interface ProtocolFuzzBenchOptions {
  frames: number;
  models: string;
  cliPath?: string;
  profile?: 'iphone-15-pro' | 'desktop' | 'gpu';
  connectionsPerStage?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** Starts a companion process, pairs a well-behaved client, fuzzes it, and reports (JSON-able). */
export async function runProtocolFuzzBench(o: ProtocolFuzzBenchOptions): Promise<Record<string, unknown>> {
  const companion = await startCompanionChild({
    models: o.models,
    ...(o.cliPath === undefined ? {} : { cliPath: o.cliPath }),
    profile: o.profile ?? 'desktop',
  });
  const keys = new MemoryKeyStore();
  const clientId = 'fuzz-bench-client';
  const client = new CompanionClient({
    keyStore: keys,
    clientId,
    clientName: 'fuzz bench',
    requestTimeoutMs: 10_000,
  });
  try {
    await client.connect('127.0.0.1', companion.port);
    await client.pair(companion.pairingCode);
    const summary = await runProtocolFuzz({
      target: { host: '127.0.0.1', port: companion.port, clientId, keys },
      client,
      frames: o.frames,
      ...(o.connectionsPerStage === undefined ? {} : { connectionsPerStage: o.connectionsPerStage }),
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      alive: () => companion.alive(),
      rssBytes: () => companion.rssBytes(),
      onProgress: (sent) => o.log?.(`${sent} frames sent`),
    });
    // After the storm: the device still answers the good client.
    let servedAfter = false;
    try {
      await client.ping();
      await client.deviceInfo();
      servedAfter = true;
    } catch {
      servedAfter = false;
    }
    return {
      format: 'odsora-bench-protocol-fuzz',
      version: 1,
      createdAt: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, node: process.version },
      profile: o.profile ?? 'desktop',
      connections: FUZZ_STAGES.length * (o.connectionsPerStage ?? 2),
      seed: o.seed ?? 0x0d50a,
      passed: fuzzPassed(summary) && servedAfter && companion.alive(),
      servedAfter,
      ...summary,
      ...(fuzzPassed(summary) ? {} : { companionStderrTail: companion.stderr().slice(-2000) }),
    };
  } finally {
    await client.close().catch(() => undefined);
    await companion.stop();
  }
}
