// docs/protocol.md against the REAL companion (`odsora companion`, built CLI, bundled Open-Sora Nano) over
// loopback, through a client written from the doc alone (tests/helpers/doc-client.ts): every transcript in the doc
// is played in order and must match what the device sends; the manifest example matches a fresh conversion; a
// model push built from section 7 installs (and one that leaves out a file the manifest names does not); the
// events of a run with previews keep `atMs` in `seq` order; and on a device that has just started, wrong guesses at
// its start-up code (no pair.start) count toward the lockout section 4 states.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { REPO_ROOT } from '../../helpers/odsora-cli';
import {
  authProof,
  blockSetChunkFrame,
  DocConnection,
  fencedBlocks,
  matches,
  parseTranscript,
  randomHex,
  readProtocolDoc,
  sha256Hex,
  substitute,
  type TranscriptStep,
} from '../../helpers/doc-client';

const doc = readProtocolDoc();
const transcripts = fencedBlocks(doc, 'transcript');
/** The bundled model: `odsora companion` with no --model runs it (the process only reads it). */
const BUNDLED_MODEL = join(REPO_ROOT, 'models', 'opensora-nano');

let proc: CompanionProcess;
let dataDir: string;
/** `$name` values carried from one transcript to the next (a key paired in one authenticates the next). */
const vars = new Map<string, unknown>();
/** Keys the device handed out in `pair.ok`, by keyId. */
const keys = new Map<string, string>();
/** Codes the device was asked for (the start-up one counts): `$code` waits until the process printed that many. */
let codesAsked = 1;
const open: DocConnection[] = [];

function printedCodes(): string[] {
  const out: string[] = [];
  for (const line of proc.stdoutLines) {
    try {
      const code = (JSON.parse(line) as { pairingCode?: unknown }).pairingCode;
      if (typeof code === 'string') out.push(code);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

async function shownCode(): Promise<string> {
  const end = Date.now() + 10_000;
  while (printedCodes().length < codesAsked) {
    if (Date.now() > end)
      throw new Error(`the device printed ${printedCodes().length} of ${codesAsked} codes`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return printedCodes().at(-1)!;
}

async function connect(): Promise<DocConnection> {
  const c = await DocConnection.open(proc.port);
  open.push(c);
  return c;
}

/** Plays one transcript on a new connection; throws naming the line that did not happen. */
async function play(steps: TranscriptStep[]): Promise<void> {
  const c = await connect();
  let clientNonce: string | null = null;
  let authKeyId: string | null = null;
  const proofOf = (role: 'client' | 'device'): string => {
    const keyId = authKeyId ?? String(vars.get('$keyId'));
    const key = keys.get(keyId);
    if (key === undefined || c.challenge === null || clientNonce === null)
      throw new Error(`no key, challenge or client nonce for the ${role} proof`);
    return authProof(key, role, {
      deviceId: String(vars.get('$deviceId')),
      keyId,
      deviceNonce: c.challenge,
      clientNonce,
    });
  };
  const computed = (name: string): unknown => (name === '$deviceMac' ? proofOf('device') : undefined);
  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.dir === 'send') {
        const raw = step.message as Record<string, unknown>;
        const values = new Map<string, unknown>();
        const resolve = (name: string): unknown => {
          if (values.has(name)) return values.get(name);
          if (name === '$clientNonce') clientNonce = randomHex(16);
          const v =
            name === '$clientNonce'
              ? clientNonce
              : name === '$mac'
                ? proofOf('client')
                : name === '$code' || name === '$wrongCode'
                  ? undefined
                  : vars.get(name);
          if (v === undefined) throw new Error(`${name} has no value at: ${step.source}`);
          values.set(name, v);
          return v;
        };
        if (raw['type'] === 'auth.response') {
          authKeyId = String(substitute(raw['keyId'], resolve));
          resolve('$clientNonce');
        }
        if (raw['code'] === '$code' || raw['code'] === '$wrongCode') {
          const code = await shownCode();
          values.set('$code', code);
          values.set('$wrongCode', String((Number(code) + 1) % 1_000_000).padStart(6, '0'));
        }
        if (raw['type'] === 'pair.start') codesAsked += 1;
        c.send(substitute(raw, resolve));
        continue;
      }
      if (step.dir === 'skip') {
        const next = steps[i + 1];
        if (next === undefined || next.dir === 'send' || next.dir === 'skip')
          throw new Error(`"← …" must be followed by an expected message: ${step.source}`);
        let skipped = 0;
        for (;;) {
          const got = await c.next(30_000).catch((e: unknown) => {
            throw new Error(
              `${(e as Error).message} after ${skipped} skipped messages, expected\n  ${next.source}`,
            );
          });
          if (fits(next, got)) break;
          skipped += 1;
        }
        i += 1;
        continue;
      }
      const got = await c.next();
      if (!fits(step, got))
        throw new Error(`expected\n  ${step.source}\ngot\n  ${JSON.stringify(shown(got))}`);
    }
    // Nothing the transcript does not show arrived in the meantime.
    await new Promise((r) => setTimeout(r, 100));
    expect(c.pending, 'messages the transcript does not show').toBe(0);
  } finally {
    c.close();
  }

  function fits(step: TranscriptStep, got: Awaited<ReturnType<DocConnection['next']>>): boolean {
    if (step.dir === 'binary')
      return 'binary' in got && matches({ ...step.header, '…': '…' }, shown(got), vars, computed);
    if (step.dir !== 'receive' || !('json' in got)) return false;
    if (!matches(step.message, got.json, vars, computed)) return false;
    if (got.json['type'] === 'pair.ok') keys.set(String(got.json['keyId']), String(got.json['key']));
    return true;
  }
}

function shown(got: Awaited<ReturnType<DocConnection['next']>>): unknown {
  if ('json' in got) return got.json;
  const { payload: _payload, ...header } = got.binary;
  return header;
}

/** An authenticated connection with the key the transcripts paired. */
async function authenticated(): Promise<DocConnection> {
  const c = await connect();
  c.send({ type: 'hello', protocolVersion: 3, clientId: 'doc-client', clientName: 'Doc client' });
  const welcome = await c.nextJson();
  expect(welcome['type']).toBe('welcome');
  await c.nextJson(); // auth.challenge
  const keyId = String(vars.get('$keyId'));
  const clientNonce = randomHex(16);
  const t = { deviceId: String(vars.get('$deviceId')), keyId, deviceNonce: c.challenge!, clientNonce };
  c.send({ type: 'auth.response', id: 1, keyId, clientNonce, mac: authProof(keys.get(keyId)!, 'client', t) });
  expect(await c.nextJson()).toMatchObject({ type: 'auth.ok', ref: 1 });
  return c;
}

/** The block set the companion converted the bundled model into (its cache). */
function convertedBlockSet(): string {
  const root = join(dataDir, 'cache', 'blocksets');
  const dirs = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory());
  expect(dirs).toHaveLength(1);
  return join(root, dirs[0]!);
}

/** Section 7: `manifest.json` and every file it names (block files, the text stage's tokenizer). */
function filesToOffer(dir: string, opts: { leaveOut?: string } = {}): { path: string; data: Buffer }[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    stages: Record<
      string,
      { blocks: { file: string; bytes: number; sha256: string }[]; tokenizer?: unknown }
    >;
  };
  const paths = ['manifest.json'];
  for (const stage of Object.values(manifest.stages)) {
    for (const b of stage.blocks) {
      const data = readFileSync(join(dir, b.file));
      expect({ bytes: data.length, sha256: sha256Hex(data) }).toEqual({ bytes: b.bytes, sha256: b.sha256 });
      paths.push(b.file);
    }
    if (typeof stage.tokenizer === 'string') paths.push(stage.tokenizer);
  }
  return paths
    .filter((p) => p !== opts.leaveOut)
    .map((path) => ({ path, data: readFileSync(join(dir, path)) }));
}

/** Pushes `files` as section 7 says, one acked chunk at a time; returns the last reply. */
async function push(
  c: DocConnection,
  name: string,
  files: { path: string; data: Buffer }[],
): Promise<Record<string, unknown>> {
  const transferId = `t-${randomHex(4)}`;
  const manifest = files.find((f) => f.path === 'manifest.json')!;
  let id = 100;
  c.send({
    type: 'blockset.offer',
    id,
    transferId,
    name,
    manifestSha256: sha256Hex(manifest.data),
    files: files.map((f) => ({ path: f.path, bytes: f.data.length, sha256: sha256Hex(f.data) })),
  });
  const offered = await c.nextJson();
  expect(offered).toMatchObject({ type: 'blockset.ack', ref: id, transferId, installed: false });
  expect(offered['files']).toEqual(files.map((f) => ({ path: f.path, receivedBytes: 0, complete: false })));
  let last: Record<string, unknown> = offered;
  let chunkSeq = 0;
  const CHUNK = 1024 * 1024;
  for (const f of files) {
    for (let offset = 0; offset < f.data.length; offset += CHUNK) {
      const bytes = f.data.subarray(offset, offset + CHUNK);
      id += 1;
      chunkSeq += 1;
      c.send({
        type: 'blockset.chunk',
        id,
        transferId,
        path: f.path,
        offset,
        bytes: bytes.length,
        sha256: sha256Hex(bytes),
        chunkSeq,
      });
      c.sendBinary(blockSetChunkFrame(transferId, chunkSeq, bytes));
      last = await c.nextJson();
      expect(last['ref']).toBe(id);
      if (last['type'] === 'error') return last;
      expect(last['files']).toEqual([
        {
          path: f.path,
          receivedBytes: offset + bytes.length,
          complete: offset + bytes.length === f.data.length,
        },
      ]);
    }
  }
  return last;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-protocol-doc-'));
  proc = await startCompanion({ modelDir: BUNDLED_MODEL, dataDir, profile: 'desktop', name: 'Doc device' });
}, 180_000);

afterAll(async () => {
  for (const c of open) c.close();
  if (proc !== undefined && !proc.alive())
    console.error(`companion died; stderr:\n${proc.stderr().slice(-4000)}`);
  await proc?.kill('SIGTERM');
  // Only the data directory: the model directory is the repository's bundled model.
  rmSync(dataDir, { recursive: true, force: true });
});

describe('docs/protocol.md against a real companion', () => {
  it('has transcripts to play', () => {
    expect(transcripts.length).toBeGreaterThanOrEqual(6);
  });

  for (const [n, t] of transcripts.entries()) {
    it(`transcript ${n + 1} (${t.heading}) is what the device does`, async () => {
      await play(parseTranscript(t.text));
    }, 120_000);
  }

  it("the manifest example of section 7 matches the bundled model's fresh conversion", () => {
    const [example] = fencedBlocks(doc, 'transcript-json');
    expect(example, 'section 7 has an example manifest').toBeDefined();
    const real = JSON.parse(readFileSync(join(convertedBlockSet(), 'manifest.json'), 'utf8')) as unknown;
    expect(matches(JSON.parse(example!.text), real, new Map())).toBe(true);
  });

  it('a model push built from section 7 installs, and the device lists it', async () => {
    const c = await authenticated();
    const dir = convertedBlockSet();
    const last = await push(c, 'doc-push', filesToOffer(dir));
    expect(last).toMatchObject({ type: 'blockset.ack', installed: true });
    c.send({ type: 'device.info.get', id: 2 });
    const info = (await c.nextJson())['device'] as { blockSets: unknown[] };
    expect(info.blockSets).toContainEqual({
      name: 'doc-push',
      model: 'opensora-nano',
      bytes: filesToOffer(dir).reduce((s, f) => s + f.data.length, 0),
      manifestSha256: sha256Hex(readFileSync(join(dir, 'manifest.json'))),
      complete: true,
    });
  }, 120_000);

  it('a push that leaves out the tokenizer the manifest names is refused at install, not installed', async () => {
    const c = await authenticated();
    const last = await push(
      c,
      'doc-push-no-tokenizer',
      filesToOffer(convertedBlockSet(), { leaveOut: 'text/tokenizer.json' }),
    );
    expect(last).toMatchObject({ type: 'error', code: 'bad-message', path: 'files' });
    expect(String(last['message'])).toMatch(/tokenizer/);
    c.send({ type: 'device.info.get', id: 2 });
    const info = (await c.nextJson())['device'] as { blockSets: { name: string; complete: boolean }[] };
    expect(info.blockSets.filter((b) => b.name === 'doc-push-no-tokenizer' && b.complete)).toEqual([]);
  }, 120_000);

  it("a run's event times follow its seq: each preview.ready lies after its step's end and before what follows", async () => {
    const c = await authenticated();
    c.send({
      type: 'run.start',
      id: 2,
      params: { prompt: 'a red ball', seed: 3, steps: 4 },
      preview: { everySteps: 1, maxEdgePx: 16, format: 'image-rgb8' },
    });
    const accepted = await c.nextJson();
    expect(accepted).toMatchObject({ type: 'run.accepted', ref: 2 });
    c.send({ type: 'run.subscribe', id: 3, runId: accepted['runId'], fromSeq: 1 });
    const events: { seq: number; type: string; atMs: number; step?: number }[] = [];
    for (;;) {
      const got = await c.next();
      if (!('json' in got) || got.json['type'] !== 'run.event') continue;
      const e = got.json['event'] as { type: string; atMs: number; step?: number };
      events.push({ seq: got.json['seq'] as number, ...e });
      if (e.type.startsWith('run.') && e.type !== 'run.queued' && e.type !== 'run.started') break;
    }
    expect(events.at(-1)!.type).toBe('run.finished');
    const previews = events.filter((e) => e.type === 'preview.ready');
    expect(previews.map((p) => p.step)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.atMs, `atMs of seq ${events[i]!.seq} (${events[i]!.type})`).toBeGreaterThanOrEqual(
        events[i - 1]!.atMs,
      );
  }, 120_000);
});

describe('pairing a device that has just started (section 4)', () => {
  it('a wrong guess at the start-up code, with no pair.start, counts toward the lockout the doc states', async () => {
    const rule = /\*\*(\d+) wrong codes\*\* lock pairing for\s+(\d+) s/.exec(doc);
    expect(rule, 'section 4 states the rate limit').not.toBeNull();
    const [maxAttempts, lockoutS] = [Number(rule![1]), Number(rule![2])];
    const freshData = mkdtempSync(join(tmpdir(), 'odsora-protocol-doc-fresh-'));
    const fresh = await startCompanion({
      modelDir: BUNDLED_MODEL,
      dataDir: freshData,
      profile: 'desktop',
      name: 'Doc fresh device',
    });
    try {
      const code = fresh.ready.pairingCode ?? fresh.latestPairingCode();
      expect(code, 'the device shows a code at start-up').toMatch(/^[0-9]{6}$/);
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      const c = await DocConnection.open(fresh.port);
      open.push(c);
      c.send({ type: 'hello', protocolVersion: 3, clientId: 'doc-guesser', clientName: 'Guesser' });
      expect(await c.nextJson()).toMatchObject({ type: 'welcome' });
      expect(await c.nextJson()).toMatchObject({ type: 'auth.challenge' });
      for (let id = 1; id < maxAttempts; id++) {
        c.send({ type: 'pair.request', id, code: wrong });
        expect(await c.nextJson()).toMatchObject({ type: 'error', code: 'pairing-code-invalid', ref: id });
      }
      c.send({ type: 'pair.request', id: maxAttempts, code: wrong });
      expect(await c.nextJson()).toMatchObject({
        type: 'error',
        code: 'pairing-locked',
        ref: maxAttempts,
        retryable: true,
        retryAfterMs: lockoutS * 1000,
      });
      // Locked: the start-up code no longer pairs, and no new one can be asked for.
      c.send({ type: 'pair.request', id: 100, code });
      expect(await c.nextJson()).toMatchObject({ type: 'error', code: 'pairing-locked', ref: 100 });
      c.send({ type: 'pair.start', id: 101 });
      expect(await c.nextJson()).toMatchObject({ type: 'error', code: 'pairing-locked', ref: 101 });
    } finally {
      await fresh.kill('SIGTERM');
      rmSync(freshData, { recursive: true, force: true });
    }
  }, 180_000);
});
