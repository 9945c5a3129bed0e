/**
 * The studio's side of the wire protocol (docs/protocol.md), over `ws`: connect, hello/welcome with explicit
 * version rejects, pairing, challenge-response authentication that also checks the device's proof, device info,
 * runs, subscriptions that resume from `lastSeq + 1` after a disconnect (deduplicated by seq: no loss, no
 * duplicates), previews and final frames over binary frames, cancel, ping, and model sync (`pushBlockSet`: a block
 * set folder pushed in hash-checked chunks that resumes from the device's offsets after a reconnect).
 *
 * Every received text frame goes through `decodeDeviceText` and every binary frame through `decodeBinaryFrame`;
 * anything that fails is reported (`onProtocolViolation`) and dropped, never trusted.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import WebSocket from 'ws';
import type { BinaryFrame } from '../../shared/protocol/binary-frame';
import { decodeBinaryFrame, encodeBinaryFrame } from '../../shared/protocol/binary-frame';
import { bytesToHex, computeAuthProof, constantTimeEqual, type HmacSha256 } from '../../shared/protocol/auth';
import type { DeviceInfo } from '../../shared/protocol/device';
import type { ErrorCode, ErrorMessage } from '../../shared/protocol/errors';
import {
  MAX_BINARY_FRAME_BYTES,
  MAX_BLOCKSET_CHUNK_BYTES,
  PROTOCOL_VERSION,
} from '../../shared/protocol/limits';
import type { ClientMessage, DeviceMessage, DeviceMessageOf } from '../../shared/protocol/messages';
import { decodeDeviceText, encodeMessage } from '../../shared/protocol/parse';
import {
  isTerminalRunEvent,
  runStateAfter,
  type ImageFormat,
  type PreviewSettings,
  type RunEvent,
  type RunParams,
  type RunState,
} from '../../shared/protocol/run';

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** Every way a client call can fail. */
export type CompanionErrorCode =
  | ErrorCode
  | 'version-too-old'
  | 'version-too-new'
  | 'device-proof-invalid'
  | 'device-mismatch'
  | 'not-connected'
  | 'connection-closed'
  | 'connect-failed'
  | 'timeout'
  | 'not-paired'
  | 'already-subscribed'
  | 'invalid-device-message';

/** Base class of the client's typed errors. */
export class CompanionError extends Error {
  override name = 'CompanionError';
  constructor(
    readonly code: CompanionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The device answered a request with an `error` message. */
export class DeviceError extends CompanionError {
  override name = 'DeviceError';
  readonly retryable: boolean;
  readonly path: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(readonly error: ErrorMessage) {
    super(error.code, `device error ${error.code}: ${error.message}`);
    this.retryable = error.retryable;
    this.path = error.path;
    this.retryAfterMs = error.retryAfterMs;
  }
}

/** The device refused our protocol version (`hello.reject`). */
export class VersionRejectedError extends CompanionError {
  override name = 'VersionRejectedError';
  readonly reason: 'version-too-old' | 'version-too-new';
  readonly clientVersion: number;
  readonly deviceVersion: number;
  readonly minVersion: number;
  constructor(readonly reject: DeviceMessageOf<'hello.reject'>) {
    super(
      reject.reason,
      reject.reason === 'version-too-old'
        ? `protocol ${reject.clientVersion} is too old for this device (it serves ${reject.minVersion}..${reject.deviceVersion}): update the studio. ${reject.message}`
        : `protocol ${reject.clientVersion} is too new for this device (it serves ${reject.minVersion}..${reject.deviceVersion}): update the device. ${reject.message}`,
    );
    this.reason = reject.reason;
    this.clientVersion = reject.clientVersion;
    this.deviceVersion = reject.deviceVersion;
    this.minVersion = reject.minVersion;
  }
}

/** The device could not prove it holds the pairing key (`auth.ok.deviceMac` wrong): an impostor. */
export class DeviceProofError extends CompanionError {
  override name = 'DeviceProofError';
  constructor(readonly deviceId: string) {
    super('device-proof-invalid', `device ${deviceId} did not prove it holds the pairing key: not trusted`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key storage

/** What pairing leaves the studio with (the key is secret). */
export interface PairingRecord {
  deviceId: string;
  keyId: string;
  /** 64 lowercase hex digits. */
  key: string;
}

/** Where the studio keeps long-term keys, one per device. */
export interface KeyStore {
  get(deviceId: string): Promise<PairingRecord | null> | PairingRecord | null;
  set(record: PairingRecord): Promise<void> | void;
  delete(deviceId: string): Promise<void> | void;
}

/** A key store in memory. */
export class MemoryKeyStore implements KeyStore {
  readonly records = new Map<string, PairingRecord>();
  get(deviceId: string): PairingRecord | null {
    return this.records.get(deviceId) ?? null;
  }
  set(record: PairingRecord): void {
    this.records.set(record.deviceId, { ...record });
  }
  delete(deviceId: string): void {
    this.records.delete(deviceId);
  }
}

/** Node's HMAC-SHA256. */
export const nodeHmacSha256: HmacSha256 = (key, message) =>
  Promise.resolve(new Uint8Array(createHmac('sha256', key).update(message).digest()));

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions

/** A run event with its seq. */
export interface SeqEvent {
  runId: string;
  seq: number;
  event: RunEvent;
}

/** A preview image that followed a `preview.ready` event. */
export interface PreviewFrame {
  runId: string;
  /** The `preview.ready` event's seq. */
  seq: number;
  index: number;
  frame: BinaryFrame;
}

/** Where a subscription stands. */
export type SubscriptionStatus = 'subscribing' | 'live' | 'disconnected' | 'ended' | 'closed';

/** Options of {@link CompanionClient.subscribe}. */
export interface SubscribeOptions {
  onPreview?: (preview: PreviewFrame) => void;
  /** The subscription's status changed (`disconnected`: show the run as interrupted until it resumes). */
  onStatus?: (status: SubscriptionStatus) => void;
}

/** A subscription that survives reconnects: events arrive exactly once each, in seq order. */
export interface RunSubscription {
  readonly runId: string;
  /** The last seq delivered (fromSeq - 1 before the first). */
  readonly lastSeq: number;
  /** The run's state as far as the delivered events tell. */
  readonly state: RunState | null;
  readonly status: SubscriptionStatus;
  /** How many times the subscription was (re)opened on a connection. */
  readonly subscribeCount: number;
  /** Duplicates dropped (seq already delivered). */
  readonly duplicatesDropped: number;
  /** Resolves with the terminal event once it is delivered; rejects if the subscription is closed first. */
  readonly done: Promise<SeqEvent>;
  /** Stops delivery (and tells the device when connected). */
  close(): Promise<void>;
}

class Sub implements RunSubscription {
  lastSeq: number;
  state: RunState | null = null;
  status: SubscriptionStatus = 'subscribing';
  subscribeCount = 0;
  duplicatesDropped = 0;
  readonly done: Promise<SeqEvent>;
  resolveDone!: (e: SeqEvent) => void;
  rejectDone!: (e: Error) => void;
  /** Seq of the last preview.ready delivered (binary previews with this seq are accepted). */
  previewSeq = 0;
  /** Previews delivered (seq * 4096 + index), so a replay never delivers one twice. */
  readonly previewsSeen = new Set<number>();
  /** Set while a subscribe request on the current connection is outstanding or active. */
  active = false;

  constructor(
    readonly client: CompanionClient,
    readonly runId: string,
    fromSeq: number,
    readonly onEvent: (e: SeqEvent) => void,
    readonly opts: SubscribeOptions,
  ) {
    this.lastSeq = fromSeq - 1;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  setStatus(status: SubscriptionStatus): void {
    if (this.status === status || this.status === 'closed') return;
    this.status = status;
    this.opts.onStatus?.(status);
  }

  close(): Promise<void> {
    return this.client.closeSubscription(this);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Model sync

/** Progress of {@link CompanionClient.pushBlockSet}. */
export interface PushProgress {
  /** Bytes the device holds, all files together. */
  deviceBytes: number;
  totalBytes: number;
  /** Bytes this push sent (resumed bytes are not sent again). */
  sentBytes: number;
  /** The file of the last acked chunk (null for an offer's ack). */
  file: string | null;
  /** Offers made so far (1 + resumes after a disconnect or a refused chunk). */
  offers: number;
}

/** Options of {@link CompanionClient.pushBlockSet}. */
export interface PushBlockSetOptions {
  /** Set name on the device (default: the folder's name). */
  name?: string;
  /** Chunk payload size (default 1 MiB, at most 4 MiB). */
  chunkBytes?: number;
  /** Transfer id (default a fresh one; a resume may use any id). */
  transferId?: string;
  onProgress?: (p: PushProgress) => void;
  /** Offers after a refused chunk before giving up (default 5; disconnects do not count). */
  maxRetries?: number;
}

/** What {@link CompanionClient.pushBlockSet} did. */
export interface PushBlockSetResult {
  name: string;
  manifestSha256: string;
  files: { path: string; bytes: number; sha256: string }[];
  totalBytes: number;
  sentBytes: number;
  /** Bytes the device already held when an offer was answered (summed over offers after the first). */
  resumedBytes: number;
  offers: number;
}

async function filesOf(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await filesOf(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A block-set name from a folder name: `[A-Za-z0-9._-]`, first a letter or digit. */
function setNameOf(dir: string): string {
  const n = basename(dir)
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return (n || 'blockset').slice(0, 128);
}

// ---------------------------------------------------------------------------------------------------------------
// The client

/** Options of {@link CompanionClient}. */
export interface CompanionClientOptions {
  /** Stable id of this studio (1-64 of [A-Za-z0-9._-]); default a fresh UUID. */
  clientId?: string;
  clientName?: string;
  keyStore?: KeyStore;
  /** The version sent in `hello` (default PROTOCOL_VERSION; tests use others). */
  protocolVersion?: number;
  hmac?: HmacSha256;
  /** Per-request timeout (default 15 s). */
  requestTimeoutMs?: number;
  /** Reconnect automatically after an unexpected disconnect (default true). */
  autoReconnect?: boolean;
  /** Backoff of automatic reconnects: first delay, doubling up to the max (default 100 ms .. 2 s). */
  reconnectDelayMs?: { initial: number; max: number };
  /** Give up reconnecting after this long without success (default 60 s). */
  reconnectGiveUpMs?: number;
  /** A device message failed validation (it is dropped). */
  onProtocolViolation?: (reason: string) => void;
  /** An `error` from the device that answers no request (e.g. to a bad binary frame). */
  onUnsolicitedError?: (error: ErrorMessage) => void;
  /** The connection dropped (before any reconnect). */
  onDisconnect?: (info: { code: number; reason: string }) => void;
  /** A (re)connection finished its handshake. */
  onConnect?: (info: { device: DeviceInfo; authenticated: boolean; reconnect: boolean }) => void;
}

/** What `connect` tells. */
export interface ConnectResult {
  device: DeviceInfo;
  sessionId: string;
  protocolVersion: number;
  /** True when a stored key authenticated the session (false: only device info and pairing are allowed). */
  authenticated: boolean;
}

interface Pending {
  expect: DeviceMessage['type'];
  resolve: (m: DeviceMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface FrameCollector {
  runId: string;
  expected: number;
  frames: BinaryFrame[];
  resolve: () => void;
}

type Stage = 'idle' | 'connecting' | 'greeted' | 'authenticated' | 'closed';

/** A studio-side client of one companion device. */
export class CompanionClient {
  readonly clientId: string;
  readonly clientName: string;
  readonly keyStore: KeyStore;
  private readonly protocolVersion: number;
  private readonly hmac: HmacSha256;
  private readonly requestTimeoutMs: number;
  private ws: WebSocket | null = null;
  private stage: Stage = 'idle';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pongWaiters = new Map<number, () => void>();
  private nextNonce = 1;
  private readonly subs = new Map<string, Set<Sub>>();
  private collector: FrameCollector | null = null;
  private framesQueue: Promise<unknown> = Promise.resolve();
  private target: { host: string; port: number } | null = null;
  private welcome: DeviceMessageOf<'welcome'> | null = null;
  private challenge: string | null = null;
  private challengeWaiter: ((nonce: string) => void) | null = null;
  private closedByUser = false;
  private reconnecting: Promise<void> | null = null;
  /** Counters for tests and the bench. */
  readonly stats = { received: 0, violations: 0, reconnects: 0, binaryFrames: 0 };

  constructor(private readonly opts: CompanionClientOptions = {}) {
    this.clientId = opts.clientId ?? randomUUID();
    this.clientName = opts.clientName ?? 'odsora studio';
    this.keyStore = opts.keyStore ?? new MemoryKeyStore();
    this.protocolVersion = opts.protocolVersion ?? PROTOCOL_VERSION;
    this.hmac = opts.hmac ?? nodeHmacSha256;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
  }

  /** The device as it described itself in the last `welcome`. */
  get device(): DeviceInfo | null {
    return this.welcome?.device ?? null;
  }

  /** True once the session is paired or authenticated. */
  get authenticated(): boolean {
    return this.stage === 'authenticated';
  }

  /** True while a connection is open and greeted. */
  get connected(): boolean {
    return this.stage === 'greeted' || this.stage === 'authenticated';
  }

  /**
   * Connects, says hello, and authenticates with the stored key for this device if there is one. Active
   * subscriptions resume from their `lastSeq + 1`. Connecting to another address (a restarted device on a new
   * port) is allowed; a different device id than before is refused (`device-mismatch`).
   */
  async connect(host: string, port: number): Promise<ConnectResult> {
    this.closedByUser = false;
    this.target = { host, port };
    if (this.ws) this.dropSocket(1000, 'reconnecting');
    return this.open(false);
  }

  private async open(reconnect: boolean): Promise<ConnectResult> {
    const target = this.target;
    if (!target) throw new CompanionError('not-connected', 'connect(host, port) first');
    const previousDeviceId = this.welcome?.device.id ?? null;
    this.stage = 'connecting';
    this.challenge = null;
    const ws = new WebSocket(`ws://${target.host}:${target.port}/`, {
      maxPayload: MAX_BINARY_FRAME_BYTES + 1024,
      perMessageDeflate: false,
    });
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    const first = new Promise<DeviceMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CompanionError('timeout', 'no welcome within the request timeout')),
        this.requestTimeoutMs,
      );
      this.pendingHello = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
    first.catch(() => undefined); // awaited below once the socket opens; a failed open must not leave it unhandled
    ws.on('message', (data, isBinary) => this.onMessage(ws, data as Buffer, isBinary));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
    ws.on('error', () => undefined); // 'close' follows and carries the outcome
    await new Promise<void>((resolve, reject) => {
      const onOpen = () => {
        ws.off('close', onEarlyClose);
        resolve();
      };
      const onEarlyClose = () => {
        ws.off('open', onOpen);
        reject(new CompanionError('connect-failed', `cannot connect to ws://${target.host}:${target.port}/`));
      };
      ws.once('open', onOpen);
      ws.once('close', onEarlyClose);
    });
    this.sendRaw({
      type: 'hello',
      protocolVersion: this.protocolVersion,
      clientId: this.clientId,
      clientName: this.clientName,
    });
    const reply = await first;
    if (reply.type === 'hello.reject') {
      this.closedByUser = true; // a version mismatch is final: no reconnect loop
      this.dropSocket(1000, 'version rejected');
      throw new VersionRejectedError(reply);
    }
    if (reply.type === 'error') {
      this.dropSocket(1000, 'hello refused');
      throw new DeviceError(reply);
    }
    if (reply.type !== 'welcome') {
      this.dropSocket(1002, 'expected welcome');
      throw new CompanionError('invalid-device-message', `expected welcome, got ${reply.type}`);
    }
    if (previousDeviceId !== null && reply.device.id !== previousDeviceId && this.subs.size > 0) {
      this.closedByUser = true;
      this.dropSocket(1000, 'another device');
      throw new CompanionError(
        'device-mismatch',
        `expected device ${previousDeviceId}, ${target.host}:${target.port} is ${reply.device.id}`,
      );
    }
    this.welcome = reply;
    this.stage = 'greeted';
    const record = await this.keyStore.get(reply.device.id);
    let authenticated = false;
    if (record) {
      await this.authenticateWith(record);
      authenticated = true;
    }
    const result: ConnectResult = {
      device: reply.device,
      sessionId: reply.sessionId,
      protocolVersion: reply.protocolVersion,
      authenticated,
    };
    if (authenticated) await this.resubscribeAll();
    this.opts.onConnect?.({ device: reply.device, authenticated, reconnect });
    return result;
  }

  private pendingHello: { resolve: (m: DeviceMessage) => void; reject: (e: Error) => void } | null = null;

  private waitChallenge(): Promise<string> {
    if (this.challenge !== null) return Promise.resolve(this.challenge);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.challengeWaiter = null;
        reject(new CompanionError('timeout', 'no auth.challenge after welcome'));
      }, this.requestTimeoutMs);
      this.challengeWaiter = (nonce) => {
        clearTimeout(timer);
        resolve(nonce);
      };
    });
  }

  private async authenticateWith(record: PairingRecord): Promise<void> {
    const deviceId = this.welcome?.device.id ?? record.deviceId;
    const deviceNonce = await this.waitChallenge();
    const clientNonce = bytesToHex(randomBytes(16));
    const transcript = { deviceId, keyId: record.keyId, deviceNonce, clientNonce };
    const mac = await computeAuthProof(this.hmac, record.key, 'client', transcript);
    const ok = (await this.request(
      { type: 'auth.response', keyId: record.keyId, clientNonce, mac },
      'auth.ok',
    )) as DeviceMessageOf<'auth.ok'>;
    const want = await computeAuthProof(this.hmac, record.key, 'device', transcript);
    if (ok.keyId !== record.keyId || !constantTimeEqual(ok.deviceMac, want)) {
      this.closedByUser = true;
      this.dropSocket(1000, 'device proof invalid');
      throw new DeviceProofError(deviceId);
    }
    this.stage = 'authenticated';
  }

  /** Asks the device to show a pairing code (`pair.pending`). */
  async startPairing(): Promise<{ digits: number; expiresInMs: number }> {
    const m = (await this.request({ type: 'pair.start' }, 'pair.pending')) as DeviceMessageOf<'pair.pending'>;
    return { digits: m.digits, expiresInMs: m.expiresInMs };
  }

  /** Sends the code the user read off the device once; stores the key. The session is then authenticated. */
  async pair(code: string): Promise<PairingRecord> {
    const m = (await this.request({ type: 'pair.request', code }, 'pair.ok')) as DeviceMessageOf<'pair.ok'>;
    const record: PairingRecord = { deviceId: m.deviceId, keyId: m.keyId, key: m.key };
    await this.keyStore.set(record);
    this.stage = 'authenticated';
    await this.resubscribeAll();
    return record;
  }

  /** Answers the current challenge with the stored key (connect does this on its own when a key is stored). */
  async authenticate(): Promise<void> {
    const deviceId = this.welcome?.device.id;
    if (!deviceId) throw new CompanionError('not-connected', 'not connected');
    const record = await this.keyStore.get(deviceId);
    if (!record) throw new CompanionError('not-paired', `no key stored for ${deviceId}: pair first`);
    await this.authenticateWith(record);
  }

  /** `device.info.get` (allowed before pairing). */
  async deviceInfo(): Promise<DeviceInfo> {
    const m = (await this.request(
      { type: 'device.info.get' },
      'device.info',
    )) as DeviceMessageOf<'device.info'>;
    return m.device;
  }

  /** JSON ping; resolves with the round trip in ms. */
  async ping(): Promise<number> {
    const nonce = this.nextNonce++;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pongWaiters.delete(nonce);
        reject(new CompanionError('timeout', `no pong ${nonce}`));
      }, this.requestTimeoutMs);
      this.pongWaiters.set(nonce, () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.sendRaw({ type: 'ping', nonce });
      } catch (e) {
        clearTimeout(timer);
        this.pongWaiters.delete(nonce);
        reject(e as Error);
      }
    });
    return performance.now() - t0;
  }

  /** Starts (queues) a run; resolves with its id. */
  async startRun(
    params: RunParams,
    opts: { preview?: PreviewSettings | null; label?: string } = {},
  ): Promise<{ runId: string; queuePosition: number }> {
    const message: ClientMessage = { type: 'run.start', params, preview: opts.preview ?? null };
    if (opts.label !== undefined) message.label = opts.label;
    const m = (await this.request(message, 'run.accepted')) as DeviceMessageOf<'run.accepted'>;
    return { runId: m.runId, queuePosition: m.queuePosition };
  }

  /** Cancels a queued or running run. */
  async cancel(runId: string): Promise<void> {
    await this.request({ type: 'run.cancel', runId }, 'ack');
  }

  /** The runs the device keeps. */
  async runs(): Promise<DeviceMessageOf<'runs'>['runs']> {
    const m = (await this.request({ type: 'runs.get' }, 'runs')) as DeviceMessageOf<'runs'>;
    return m.runs;
  }

  /**
   * Streams a run from `fromSeq`: replay, then live, each seq exactly once across reconnects. Resolves once
   * the device confirmed the first subscription.
   */
  async subscribe(
    runId: string,
    fromSeq: number,
    onEvent: (e: SeqEvent) => void,
    opts: SubscribeOptions = {},
  ): Promise<RunSubscription> {
    if (this.subs.get(runId)?.size)
      throw new CompanionError(
        'already-subscribed',
        `run ${runId} already has a subscription on this client (use a second client to mirror)`,
      );
    const sub = new Sub(this, runId, fromSeq, onEvent, opts);
    let set = this.subs.get(runId);
    if (!set) this.subs.set(runId, (set = new Set()));
    set.add(sub);
    try {
      await this.openSubscription(sub);
    } catch (e) {
      set.delete(sub);
      if (set.size === 0) this.subs.delete(runId);
      throw e;
    }
    return sub;
  }

  private async openSubscription(sub: Sub): Promise<void> {
    sub.setStatus('subscribing');
    sub.active = true;
    sub.subscribeCount++;
    try {
      const m = (await this.request(
        { type: 'run.subscribe', runId: sub.runId, fromSeq: sub.lastSeq + 1 },
        'run.subscribed',
      )) as DeviceMessageOf<'run.subscribed'>;
      if (sub.status === 'subscribing')
        sub.setStatus(sub.state !== null && isTerminal(sub.state) ? 'ended' : 'live');
      if (sub.state === null) sub.state = m.state;
    } catch (e) {
      sub.active = false;
      throw e;
    }
  }

  /** Reopens a subscription on the same connection from `lastSeq + 1` (after a gap). */
  private async resync(sub: Sub): Promise<void> {
    try {
      await this.request({ type: 'run.unsubscribe', runId: sub.runId }, 'ack');
      if (sub.status !== 'closed') await this.openSubscription(sub);
    } catch {
      /* a disconnect resubscribes anyway */
    }
  }

  /** @internal */
  async closeSubscription(sub: Sub): Promise<void> {
    const set = this.subs.get(sub.runId);
    set?.delete(sub);
    if (set && set.size === 0) this.subs.delete(sub.runId);
    sub.setStatus('closed');
    sub.rejectDone(new CompanionError('connection-closed', 'subscription closed'));
    const others = this.subs.get(sub.runId);
    if ((!others || others.size === 0) && this.stage === 'authenticated') {
      await this.request({ type: 'run.unsubscribe', runId: sub.runId }, 'ack').catch(() => undefined);
    }
  }

  /**
   * Fetches final frames `[from, from + count)` of a finished run. Requests are serialised per connection (the
   * binary frames that follow a `frames` reply carry no request id).
   */
  getFrames(
    runId: string,
    from: number,
    count: number,
    format: ImageFormat = 'image-rgb8',
  ): Promise<{ info: DeviceMessageOf<'frames'>; frames: BinaryFrame[] }> {
    const job = this.framesQueue.then(async () => {
      let done!: () => void;
      const arrived = new Promise<void>((resolve) => (done = resolve));
      const collector: FrameCollector = { runId, expected: -1, frames: [], resolve: done };
      this.collector = collector;
      try {
        const info = (await this.request(
          { type: 'frames.get', runId, from, count, format },
          'frames',
        )) as DeviceMessageOf<'frames'>;
        collector.expected = info.count;
        if (collector.frames.length >= info.count) done();
        await withTimeout(arrived, this.requestTimeoutMs, `frames of ${runId}`);
        return { info, frames: collector.frames.slice(0, info.count) };
      } finally {
        if (this.collector === collector) this.collector = null;
      }
    });
    this.framesQueue = job.catch(() => undefined);
    return job;
  }

  /**
   * Pushes a block set folder (manifest.json + block files) to the device (model sync, docs/protocol.md section
   * 7): offers it, then sends every missing byte in hash-checked chunks (a JSON `blockset.chunk` and its binary
   * frame), one at a time, each acked with the device's offset. After a disconnect it waits for the automatic
   * reconnect and offers again: the device's ack says how much of each file it holds, and the push resumes there.
   * Resolves once the device says `installed`.
   */
  async pushBlockSet(dir: string, opts: PushBlockSetOptions = {}): Promise<PushBlockSetResult> {
    const chunkBytes = Math.max(1, Math.min(opts.chunkBytes ?? 1024 * 1024, MAX_BLOCKSET_CHUNK_BYTES));
    const paths = await filesOf(dir);
    if (!paths.includes('manifest.json'))
      throw new CompanionError('invalid-device-message', `${dir} has no manifest.json: not a block set`);
    const files: { path: string; bytes: number; sha256: string }[] = [];
    for (const path of paths) {
      const full = join(dir, ...path.split('/'));
      files.push({ path, bytes: (await stat(full)).size, sha256: await sha256File(full) });
    }
    const manifestSha256 = files.find((f) => f.path === 'manifest.json')!.sha256;
    const name = opts.name ?? setNameOf(dir);
    const transferId = opts.transferId ?? `t-${bytesToHex(randomBytes(8))}`;
    const totalBytes = files.reduce((a, f) => a + f.bytes, 0);
    const held = new Map<string, number>();
    const complete = new Set<string>();
    const result: PushBlockSetResult = {
      name,
      manifestSha256,
      files,
      totalBytes,
      sentBytes: 0,
      resumedBytes: 0,
      offers: 0,
    };
    const progress = (file: string | null): void => {
      let deviceBytes = 0;
      for (const v of held.values()) deviceBytes += v;
      opts.onProgress?.({
        deviceBytes,
        totalBytes,
        sentBytes: result.sentBytes,
        file,
        offers: result.offers,
      });
    };
    const applyAck = (ack: DeviceMessageOf<'blockset.ack'>): void => {
      for (const f of ack.files) {
        held.set(f.path, f.receivedBytes);
        if (f.complete) complete.add(f.path);
        else complete.delete(f.path);
      }
    };
    let retries = 0;
    if (this.stage === 'greeted' && this.reconnecting === null)
      throw new CompanionError('not-paired', 'model sync needs a paired session: pair first');
    for (;;) {
      await this.waitAuthenticated();
      try {
        const ack = (await this.request(
          { type: 'blockset.offer', transferId, name, manifestSha256, files },
          'blockset.ack',
        )) as DeviceMessageOf<'blockset.ack'>;
        result.offers++;
        applyAck(ack);
        if (result.offers > 1) for (const f of ack.files) result.resumedBytes += f.receivedBytes;
        progress(null);
        if (ack.installed) return result;
        for (const f of files) {
          if (complete.has(f.path)) continue;
          const fh = await openFile(join(dir, ...f.path.split('/')), 'r');
          try {
            while (!complete.has(f.path)) {
              const offset = held.get(f.path) ?? 0;
              const length = Math.min(chunkBytes, f.bytes - offset);
              if (length <= 0) break; // complete only after the device verified it; a re-offer tells
              const payload = new Uint8Array(length);
              const { bytesRead } = await fh.read(payload, 0, length, offset);
              if (bytesRead !== length) throw new Error(`${f.path} changed while it was being pushed`);
              const chunkSeq = this.nextChunkSeq++ >>> 0;
              const frame = encodeBinaryFrame({
                kind: 'bytes',
                purpose: 'blockset-chunk',
                streamId: transferId,
                seq: chunkSeq,
                index: 0,
                dims: [],
                payload,
              });
              const sha256 = createHash('sha256').update(payload).digest('hex');
              const acked = this.request(
                { type: 'blockset.chunk', transferId, path: f.path, offset, bytes: length, sha256, chunkSeq },
                'blockset.ack',
              );
              // The binary frame must follow its announcement immediately (request sent it synchronously).
              if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame, { binary: true });
              const a = (await acked) as DeviceMessageOf<'blockset.ack'>;
              result.sentBytes += length;
              applyAck(a);
              progress(f.path);
              if (a.installed) return result;
            }
          } finally {
            await fh.close();
          }
        }
        // Every file sent without `installed`: offer again to find out why (bounded by maxRetries).
        if (++retries > (opts.maxRetries ?? 5))
          throw new CompanionError(
            'timeout',
            `${name}: every file was sent but the device did not install it`,
          );
      } catch (e) {
        if (e instanceof DeviceError) {
          const code = e.code;
          const resumable =
            code === 'blockset-offset-mismatch' ||
            code === 'blockset-hash-mismatch' ||
            code === 'unknown-transfer';
          if (!resumable || ++retries > (opts.maxRetries ?? 5)) throw e;
          continue; // offer again: the ack gives the device's offsets
        }
        if (e instanceof CompanionError && !this.closedByUser) {
          if (e.code === 'connection-closed' || e.code === 'not-connected') continue;
          if (e.code === 'timeout' && ++retries <= (opts.maxRetries ?? 5)) continue;
        }
        throw e;
      }
    }
  }

  private nextChunkSeq = 0;

  /** Waits until the session is authenticated again (after an automatic reconnect). */
  private async waitAuthenticated(): Promise<void> {
    const giveUpAt = Date.now() + (this.opts.reconnectGiveUpMs ?? 60_000);
    while (this.stage !== 'authenticated') {
      if (this.closedByUser || this.stage === 'closed')
        throw new CompanionError('connection-closed', 'the client was closed');
      if ((this.opts.autoReconnect ?? true) === false && this.stage === 'idle')
        throw new CompanionError('not-connected', 'disconnected (automatic reconnect is off)');
      if (Date.now() > giveUpAt) throw new CompanionError('timeout', 'the device did not come back');
      await sleep(25);
    }
  }

  /** Closes the connection for good (no reconnect); subscriptions end. */
  async close(): Promise<void> {
    this.closedByUser = true;
    for (const set of this.subs.values())
      for (const sub of set) {
        sub.setStatus('closed');
        sub.rejectDone(new CompanionError('connection-closed', 'client closed'));
      }
    this.subs.clear();
    const ws = this.ws;
    this.dropSocket(1000, 'bye');
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.stage = 'closed';
  }

  /** Drops the socket abruptly, as a network failure would (tests; automatic resume follows). */
  simulateNetworkDrop(): void {
    this.ws?.terminate();
  }

  // -------------------------------------------------------------------------------------------------------------

  private sendRaw(message: ClientMessage): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN)
      throw new CompanionError('not-connected', 'the connection is not open');
    ws.send(encodeMessage(message));
  }

  private request(message: ClientMessage, expect: DeviceMessage['type']): Promise<DeviceMessage> {
    const id = this.nextId++;
    (message as { id?: number }).id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new CompanionError('timeout', `no answer to ${message.type} within ${this.requestTimeoutMs} ms`),
        );
      }, this.requestTimeoutMs);
      this.pending.set(id, { expect, resolve, reject, timer });
      try {
        this.sendRaw(message);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  private violation(reason: string): void {
    this.stats.violations++;
    this.opts.onProtocolViolation?.(reason);
  }

  private onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.ws) return;
    if (isBinary) {
      this.onBinary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return;
    }
    const parsed = decodeDeviceText(data.toString('utf8'));
    if (!parsed.ok) {
      this.violation(`device message rejected: ${parsed.error.code} ${parsed.error.message}`);
      return;
    }
    this.stats.received++;
    const m = parsed.message;
    switch (m.type) {
      case 'welcome':
      case 'hello.reject': {
        const waiter = this.pendingHello;
        this.pendingHello = null;
        if (waiter) waiter.resolve(m);
        else this.violation(`unexpected ${m.type}`);
        return;
      }
      case 'auth.challenge': {
        this.challenge = m.nonce;
        const w = this.challengeWaiter;
        this.challengeWaiter = null;
        w?.(m.nonce);
        return;
      }
      case 'ping':
        try {
          this.sendRaw({ type: 'pong', nonce: m.nonce });
        } catch {
          /* closing */
        }
        return;
      case 'pong': {
        const w = this.pongWaiters.get(m.nonce);
        this.pongWaiters.delete(m.nonce);
        w?.();
        return;
      }
      case 'run.event':
        this.onRunEvent(m);
        return;
      case 'error': {
        if (m.ref !== undefined && this.pending.has(m.ref)) {
          const p = this.pending.get(m.ref)!;
          this.pending.delete(m.ref);
          clearTimeout(p.timer);
          p.reject(new DeviceError(m));
          return;
        }
        if (this.pendingHello && this.stage === 'connecting') {
          const waiter = this.pendingHello;
          this.pendingHello = null;
          waiter.resolve(m);
          return;
        }
        this.opts.onUnsolicitedError?.(m);
        return;
      }
      default: {
        const ref = (m as { ref?: number }).ref;
        const p = ref === undefined ? undefined : this.pending.get(ref);
        if (!p || ref === undefined) {
          this.violation(`${m.type} answers no pending request (ref ${String(ref)})`);
          return;
        }
        this.pending.delete(ref);
        clearTimeout(p.timer);
        if (m.type !== p.expect) {
          p.reject(new CompanionError('invalid-device-message', `expected ${p.expect}, got ${m.type}`));
          return;
        }
        p.resolve(m);
      }
    }
  }

  private onRunEvent(m: DeviceMessageOf<'run.event'>): void {
    const set = this.subs.get(m.runId);
    if (!set || set.size === 0) return; // a late event of an unsubscribed run
    for (const sub of [...set]) {
      if (!sub.active) continue;
      if (m.seq <= sub.lastSeq) {
        sub.duplicatesDropped++;
        continue;
      }
      if (m.seq !== sub.lastSeq + 1) {
        // A gap breaks the log's contract; resubscribe from what we hold rather than deliver out of order.
        this.violation(`run ${m.runId}: got seq ${m.seq} after ${sub.lastSeq}`);
        sub.active = false;
        void this.resync(sub);
        continue;
      }
      sub.lastSeq = m.seq;
      const state = runStateAfter(m.event);
      if (state !== null) sub.state = state;
      if (m.event.type === 'preview.ready') sub.previewSeq = m.seq;
      const e: SeqEvent = { runId: m.runId, seq: m.seq, event: m.event };
      try {
        sub.onEvent(e);
      } catch (error) {
        this.violation(`subscriber threw: ${String(error)}`);
      }
      if (isTerminalRunEvent(m.event)) {
        // The device ends the subscription after the terminal event; so does the client.
        sub.active = false;
        set.delete(sub);
        if (set.size === 0) this.subs.delete(m.runId);
        sub.setStatus('ended');
        sub.resolveDone(e);
      }
    }
  }

  private onBinary(bytes: Uint8Array): void {
    const decoded = decodeBinaryFrame(bytes);
    if (!decoded.ok) {
      this.violation(`binary frame rejected: ${decoded.error.code} ${decoded.error.message}`);
      return;
    }
    this.stats.binaryFrames++;
    const frame = decoded.frame;
    if (frame.purpose === 'preview') {
      const set = this.subs.get(frame.streamId);
      if (!set) return;
      // Copy: the payload is a view into ws's receive buffer.
      const kept: BinaryFrame = { ...frame, payload: new Uint8Array(frame.payload) };
      for (const sub of set) {
        if (!sub.active || frame.seq > sub.lastSeq) continue;
        const key = frame.seq * 4096 + frame.index;
        if (sub.previewsSeen.has(key)) continue;
        if (sub.previewsSeen.size > 10_000) sub.previewsSeen.clear();
        sub.previewsSeen.add(key);
        sub.opts.onPreview?.({ runId: frame.streamId, seq: frame.seq, index: frame.index, frame: kept });
      }
      return;
    }
    if (frame.purpose === 'frame') {
      const c = this.collector;
      if (!c || c.runId !== frame.streamId) {
        this.violation(`unexpected frame of ${frame.streamId}`);
        return;
      }
      c.frames.push({ ...frame, payload: new Uint8Array(frame.payload) });
      if (c.expected >= 0 && c.frames.length >= c.expected) c.resolve();
      return;
    }
    this.violation(`unexpected binary frame purpose ${frame.purpose}`);
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    const wasConnected = this.stage === 'greeted' || this.stage === 'authenticated';
    this.stage = this.closedByUser ? 'closed' : 'idle';
    const err = new CompanionError(
      'connection-closed',
      `connection closed (${code}${reason ? ` ${reason}` : ''})`,
    );
    this.pendingHello?.reject(err);
    this.pendingHello = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.pongWaiters.clear();
    this.collector = null;
    for (const set of this.subs.values())
      for (const sub of set) {
        sub.active = false;
        if (sub.status !== 'ended') sub.setStatus('disconnected');
      }
    this.opts.onDisconnect?.({ code, reason });
    if (wasConnected && !this.closedByUser && (this.opts.autoReconnect ?? true)) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnecting) return;
    const { initial, max } = this.opts.reconnectDelayMs ?? { initial: 100, max: 2000 };
    const giveUpAt = Date.now() + (this.opts.reconnectGiveUpMs ?? 60_000);
    this.reconnecting = (async () => {
      let delay = initial;
      while (!this.closedByUser && Date.now() < giveUpAt) {
        await sleep(delay);
        if (this.closedByUser || this.connected) break;
        try {
          await this.open(true);
          this.stats.reconnects++;
          break;
        } catch (e) {
          if (e instanceof VersionRejectedError || e instanceof DeviceProofError) break;
          if (e instanceof CompanionError && e.code === 'device-mismatch') break;
          delay = Math.min(max, delay * 2);
        }
      }
    })().finally(() => {
      this.reconnecting = null;
    });
  }

  private async resubscribeAll(): Promise<void> {
    const subs = [...this.subs.values()].flatMap((s) => [...s]);
    await Promise.all(
      subs
        .filter((s) => !s.active && s.status !== 'ended' && s.status !== 'closed')
        .map((s) => this.openSubscription(s).catch(() => undefined)),
    );
  }

  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    try {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    } catch {
      ws.terminate();
    }
  }
}

function isTerminal(state: RunState): boolean {
  return state === 'finished' || state === 'failed' || state === 'cancelled' || state === 'interrupted';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new CompanionError('timeout', `timed out waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}
