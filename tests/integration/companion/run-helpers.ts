// Shared bits of the companion integration tests (not a test file itself).
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import type {
  CompanionClient,
  PreviewFrame,
  RunSubscription,
  SeqEvent,
} from '../../../src-main/devices/companion-client';
import type { PreviewSettings, RunParams } from '../../../shared/protocol/run';

/** A nano-like job on the fixture model: 64x64, 17 frames, few steps. */
export function nanoParams(steps: number, seed = 7): RunParams {
  return { prompt: 'a red ball rolls on grass', seed, steps };
}

/** Previews every step, small. */
export const PREVIEW_EVERY_STEP: PreviewSettings = { everySteps: 1, maxEdgePx: 32, format: 'image-rgb8' };

/** A subscription that records everything it receives. */
export interface Recorded {
  events: SeqEvent[];
  previews: PreviewFrame[];
  sub: RunSubscription;
}

/** Subscribes from `fromSeq` and records events and previews. */
export async function record(
  client: CompanionClient,
  runId: string,
  fromSeq = 1,
  onEvent?: (e: SeqEvent) => void,
): Promise<Recorded> {
  const events: SeqEvent[] = [];
  const previews: PreviewFrame[] = [];
  const sub = await client.subscribe(
    runId,
    fromSeq,
    (e) => {
      events.push(e);
      onEvent?.(e);
    },
    { onPreview: (p) => previews.push(p) },
  );
  return { events, previews, sub };
}

/** Asserts seqs are exactly from..from+n-1 (gapless, no duplicates) and the log ends with one terminal event. */
export function expectGaplessLog(events: SeqEvent[], from = 1): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => from + i));
  if (from === 1) expect(events[0]?.event.type).toBe('run.queued');
  const terminal = events.filter((e) =>
    ['run.finished', 'run.failed', 'run.cancelled', 'run.interrupted'].includes(e.event.type),
  );
  expect(terminal).toHaveLength(1);
  expect(terminal[0]).toBe(events[events.length - 1]);
}

/** Resolves when `check` holds, polling. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Rejects as soon as the companion process exits, so a device crash fails a test at once instead of hanging. */
export function orDeath<T>(p: Promise<T>, proc: { exited: Promise<unknown>; stderr(): string }): Promise<T> {
  return Promise.race([
    p,
    proc.exited.then(() => {
      throw new Error(`the companion process died; stderr tail:\n${proc.stderr().slice(-1500)}`);
    }),
  ]);
}

/** On the wire, below any client library: a hello from protocol 99 gets `hello.reject` (too new), then close 4001. */
export async function expectWireVersionReject(host: string, port: number): Promise<void> {
  const ws = new WebSocket(`ws://${host}:${port}/`);
  const got: string[] = [];
  ws.on('message', (d) => got.push(String(d)));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'hello', protocolVersion: 99, clientId: 'x', clientName: 'x', future: 1 }));
  const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
  expect(code).toBe(4001);
  expect(JSON.parse(got[0]!)).toMatchObject({
    type: 'hello.reject',
    reason: 'version-too-new',
    clientVersion: 99,
  });
}
