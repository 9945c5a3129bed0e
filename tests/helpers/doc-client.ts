/**
 * A client of the wire protocol written from docs/protocol.md alone (it imports nothing from shared/ or
 * src-main/): the doc's transcripts parsed and matched in the doc's own notation, the binary frame header of
 * section 8 read and written by hand, and the proofs of section 4 computed with node:crypto. Tests drive a real
 * companion with it (tests/integration/companion/protocol-doc.test.ts) to show the doc says what devices do.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';

/** docs/protocol.md. */
export function readProtocolDoc(): string {
  return readFileSync(join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');
}

/** The fenced blocks of a markdown text whose info string is `info`, in order, with the heading above each. */
export function fencedBlocks(markdown: string, info: string): { heading: string; text: string }[] {
  const out: { heading: string; text: string }[] = [];
  let heading = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    if (line.trim() === '```' + info) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
      out.push({ heading, text: body.join('\n') });
    }
  }
  return out;
}

// -------------------------------------------------------------------------------------------------------------
// Transcripts

/** One line of a transcript. */
export type TranscriptStep =
  | { dir: 'send'; message: unknown; source: string }
  | { dir: 'receive'; message: unknown; source: string }
  | { dir: 'binary'; header: Record<string, unknown>; source: string }
  | { dir: 'skip'; source: string };

/** Parses a transcript: `→`/`←` lines, indented continuation lines, `← …` and `← binary {…}`. */
export function parseTranscript(text: string): TranscriptStep[] {
  const entries: string[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    if (/^\s/.test(raw)) {
      if (entries.length === 0) throw new Error(`a continuation line before any message: ${raw}`);
      entries[entries.length - 1] += raw.trim();
    } else entries.push(raw);
  }
  return entries.map((entry): TranscriptStep => {
    const arrow = entry.slice(0, 1);
    const rest = entry.slice(1).trim();
    if (arrow === '→') return { dir: 'send', message: JSON.parse(rest) as unknown, source: entry };
    if (arrow !== '←') throw new Error(`a transcript line starts with → or ←: ${entry}`);
    if (rest === '…') return { dir: 'skip', source: entry };
    if (rest.startsWith('binary ')) {
      const header = JSON.parse(rest.slice('binary '.length)) as Record<string, unknown>;
      return { dir: 'binary', header, source: entry };
    }
    return { dir: 'receive', message: JSON.parse(rest) as unknown, source: entry };
  });
}

const ANY = '…';

/**
 * Whether `actual` matches `pattern` in the doc's notation: `"…"` is any value, a key `"…"` allows further keys,
 * a last array element `"…"` allows further elements, and `"$name"` binds (first time) or must equal `vars[name]`.
 * `computed` gives the expected value of names the client computes (`$deviceMac`). Bindings land in `vars` only
 * when the whole value matches.
 */
export function matches(
  pattern: unknown,
  actual: unknown,
  vars: Map<string, unknown>,
  computed: (name: string) => unknown = () => undefined,
): boolean {
  const trial = new Map(vars);
  if (!matchInto(pattern, actual, trial, computed)) return false;
  for (const [k, v] of trial) vars.set(k, v);
  return true;
}

function matchInto(
  pattern: unknown,
  actual: unknown,
  vars: Map<string, unknown>,
  computed: (name: string) => unknown,
): boolean {
  if (pattern === ANY) return true;
  if (typeof pattern === 'string' && pattern.startsWith('$')) {
    const want = computed(pattern);
    if (want !== undefined) return want === actual;
    if (vars.has(pattern)) return JSON.stringify(vars.get(pattern)) === JSON.stringify(actual);
    vars.set(pattern, actual);
    return true;
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(actual)) return false;
    const open = pattern.length > 0 && pattern[pattern.length - 1] === ANY;
    const fixed = open ? pattern.slice(0, -1) : pattern;
    if (open ? actual.length < fixed.length : actual.length !== fixed.length) return false;
    return fixed.every((p, i) => matchInto(p, actual[i], vars, computed));
  }
  if (pattern !== null && typeof pattern === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const p = pattern as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = Object.keys(p).filter((k) => k !== ANY);
    if (!(ANY in p) && Object.keys(a).length !== keys.length) return false;
    return keys.every((k) => k in a && matchInto(p[k], a[k], vars, computed));
  }
  return pattern === actual;
}

/** `message` with every `"$name"` string replaced by `resolve(name)`. */
export function substitute(message: unknown, resolve: (name: string) => unknown): unknown {
  if (typeof message === 'string' && message.startsWith('$')) return resolve(message);
  if (Array.isArray(message)) return message.map((m) => substitute(m, resolve));
  if (message !== null && typeof message === 'object')
    return Object.fromEntries(Object.entries(message).map(([k, v]) => [k, substitute(v, resolve)]));
  return message;
}

// -------------------------------------------------------------------------------------------------------------
// Section 4: the proofs

/** `mac` / `deviceMac` of section 4: hex(HMAC-SHA256(hexdecode(key), M_role)). */
export function authProof(
  keyHex: string,
  role: 'client' | 'device',
  t: { deviceId: string; keyId: string; deviceNonce: string; clientNonce: string },
): string {
  const m = `odsora-auth-v1 ${role}\n${t.deviceId}\n${t.keyId}\n${t.deviceNonce}\n${t.clientNonce}`;
  return createHmac('sha256', Buffer.from(keyHex, 'hex')).update(m, 'utf8').digest('hex');
}

// -------------------------------------------------------------------------------------------------------------
// Section 8: binary frames

const KINDS = ['', 'image-rgb8', 'image-rgba8', 'png', 'tensor-f32', 'bytes'];
const PURPOSES = ['', 'preview', 'frame', 'tensor', 'blockset-chunk'];

/** A binary frame's header fields and payload, read as section 8 says (throws on a frame that breaks it). */
export interface DocBinaryFrame {
  kind: string;
  purpose: string;
  seq: number;
  index: number;
  dims: number[];
  streamId: string;
  payloadLength: number;
  payload: Buffer;
}

/** Reads a binary frame per section 8. */
export function readBinaryFrame(data: Buffer): DocBinaryFrame {
  if (data.subarray(0, 4).toString('latin1') !== 'OSF1') throw new Error('bad magic');
  const headerLength = data.readUInt16LE(4);
  const rank = data.readUInt8(20);
  const streamIdLength = data.readUInt8(21);
  const want = Math.ceil((24 + 4 * rank + streamIdLength) / 8) * 8;
  if (headerLength !== want) throw new Error(`headerLength ${headerLength}, want ${want}`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(data.readUInt32LE(24 + 4 * i));
  const payloadLength = data.readUInt32LE(16);
  if (data.length !== headerLength + payloadLength)
    throw new Error(`message is ${data.length} bytes, header says ${headerLength} + ${payloadLength}`);
  const kind = KINDS[data.readUInt8(6)] ?? `kind ${data.readUInt8(6)}`;
  const payload = data.subarray(headerLength);
  if (kind === 'image-rgb8' && payloadLength !== dims.reduce((a, b) => a * b, 1))
    throw new Error('an image-rgb8 payload is height·width·3 bytes');
  if (kind === 'png' && payload.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a')
    throw new Error('a png payload starts with the PNG signature');
  return {
    kind,
    purpose: PURPOSES[data.readUInt8(7)] ?? `purpose ${data.readUInt8(7)}`,
    seq: data.readUInt32LE(8),
    index: data.readUInt32LE(12),
    dims,
    streamId: data.subarray(24 + 4 * rank, 24 + 4 * rank + streamIdLength).toString('latin1'),
    payloadLength,
    payload,
  };
}

/** A `bytes` frame (kind 5, rank 0) of a block-set chunk, per section 8. */
export function blockSetChunkFrame(transferId: string, chunkSeq: number, payload: Buffer): Buffer {
  const headerLength = Math.ceil((24 + transferId.length) / 8) * 8;
  const header = Buffer.alloc(headerLength);
  header.write('OSF1', 0, 'latin1');
  header.writeUInt16LE(headerLength, 4);
  header.writeUInt8(KINDS.indexOf('bytes'), 6);
  header.writeUInt8(PURPOSES.indexOf('blockset-chunk'), 7);
  header.writeUInt32LE(chunkSeq, 8);
  header.writeUInt32LE(0, 12);
  header.writeUInt32LE(payload.length, 16);
  header.writeUInt8(0, 20);
  header.writeUInt8(transferId.length, 21);
  header.write(transferId, 24, 'latin1');
  return Buffer.concat([header, payload]);
}

/** SHA-256 of some bytes, lowercase hex. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// -------------------------------------------------------------------------------------------------------------
// A connection

/** What arrives on a connection: a JSON message or a binary frame. */
export type Received = { json: Record<string, unknown> } | { binary: DocBinaryFrame };

/** One WebSocket connection to a device, with a queue of what it received. */
export class DocConnection {
  private readonly queue: Received[] = [];
  private waiter: (() => void) | null = null;
  private closedWith: string | null = null;
  /** The nonce of this connection's `auth.challenge`. */
  challenge: string | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const item: Received = isBinary
        ? { binary: readBinaryFrame(data) }
        : { json: JSON.parse(data.toString('utf8')) as Record<string, unknown> };
      if ('json' in item && item.json['type'] === 'auth.challenge')
        this.challenge = String(item.json['nonce']);
      this.queue.push(item);
      this.waiter?.();
    });
    ws.on('close', (code) => {
      this.closedWith = `closed (${code})`;
      this.waiter?.();
    });
  }

  static async open(port: number): Promise<DocConnection> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new DocConnection(ws);
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendBinary(data: Buffer): void {
    this.ws.send(data, { binary: true });
  }

  /** The next thing received (waits up to `timeoutMs`). */
  async next(timeoutMs = 60_000): Promise<Received> {
    const end = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closedWith !== null) throw new Error(`the connection ${this.closedWith}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`nothing received within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift()!;
  }

  /** The next JSON message (a binary frame here is an error). */
  async nextJson(timeoutMs?: number): Promise<Record<string, unknown>> {
    const r = await this.next(timeoutMs);
    if (!('json' in r)) throw new Error(`expected a JSON message, got a ${r.binary.purpose} binary frame`);
    return r.json;
  }

  /** Messages already received and not yet read. */
  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.ws.close();
  }
}

/** A fresh random nonce of `bytes` bytes, lowercase hex. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
