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
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { BinaryFrame } from '../../shared/protocol/binary-frame';
import { decodeBinaryFrame } from '../../shared/protocol/binary-frame';
import type { HmacSha256 } from '../../shared/protocol/auth';
import type { DeviceInfo } from '../../shared/protocol/device';
import { MAX_BINARY_FRAME_BYTES, PROTOCOL_VERSION } from '../../shared/protocol/limits';
import type { ClientMessage, DeviceMessage, DeviceMessageOf } from '../../shared/protocol/messages';
import { decodeDeviceText, encodeMessage } from '../../shared/protocol/parse';
import type { ImageFormat, PreviewSettings, RunParams } from '../../shared/protocol/run';
import { pushBlockSet, type PushBlockSetOptions, type PushBlockSetResult } from './blockset-push';
import { CompanionError, DeviceError, DeviceProofError, VersionRejectedError } from './client-errors';
import type { CompanionClientOptions, ConnectResult } from './client-options';
import { FinalFrames } from './final-frames';
import { ChallengeSlot, exchangeAuthProofs, HelloWaiter, waitForOpen } from './handshake';
import { MemoryKeyStore, nodeHmacSha256, type KeyStore, type PairingRecord } from './key-store';
import { PendingRequests, sleep } from './rpc';
import {
  Subscriptions,
  type RunSubscription,
  type SeqEvent,
  type Sub,
  type SubscribeOptions,
} from './subscriptions';

export type { PushBlockSetOptions, PushBlockSetResult, PushProgress } from './blockset-push';
export {
  CompanionError,
  DeviceError,
  DeviceProofError,
  VersionRejectedError,
  type CompanionErrorCode,
} from './client-errors';
export type { CompanionClientOptions, ConnectResult } from './client-options';
export { MemoryKeyStore, nodeHmacSha256, type KeyStore, type PairingRecord } from './key-store';
export type {
  PreviewFrame,
  RunSubscription,
  SeqEvent,
  SubscribeOptions,
  SubscriptionStatus,
} from './subscriptions';

type ConnectionStage = 'idle' | 'connecting' | 'greeted' | 'authenticated' | 'closed';

/** A studio-side client of one companion device. */
export class CompanionClient {
  readonly clientId: string;
  readonly clientName: string;
  readonly keyStore: KeyStore;
  private readonly protocolVersion: number;
  private readonly hmac: HmacSha256;
  private readonly requestTimeoutMs: number;
  private ws: WebSocket | null = null;
  private stage: ConnectionStage = 'idle';
  private readonly rpc: PendingRequests;
  private readonly subs: Subscriptions;
  private readonly frames: FinalFrames;
  private target: { host: string; port: number } | null = null;
  private welcome: DeviceMessageOf<'welcome'> | null = null;
  private readonly hello = new HelloWaiter();
  private readonly challenge = new ChallengeSlot();
  private closedByUser = false;
  private reconnecting: Promise<void> | null = null;
  /** Bumped by every connect(): a reconnect loop started before it gives way instead of opening a second socket. */
  private connectGeneration = 0;
  /** Counters for tests and the bench. */
  readonly stats = { received: 0, violations: 0, reconnects: 0, binaryFrames: 0 };

  constructor(private readonly opts: CompanionClientOptions = {}) {
    this.clientId = opts.clientId ?? randomUUID();
    this.clientName = opts.clientName ?? 'odsora studio';
    this.keyStore = opts.keyStore ?? new MemoryKeyStore();
    this.protocolVersion = opts.protocolVersion ?? PROTOCOL_VERSION;
    this.hmac = opts.hmac ?? nodeHmacSha256;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.rpc = new PendingRequests(this.requestTimeoutMs);
    this.subs = new Subscriptions({
      request: (message, expect) => this.request(message, expect),
      violation: (reason) => this.violation(reason),
      isAuthenticated: () => this.stage === 'authenticated',
    });
    this.frames = new FinalFrames((message, expect) => this.request(message, expect), this.requestTimeoutMs);
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
    this.connectGeneration++;
    this.target = { host, port };
    if (this.ws) this.dropSocket(1000, 'reconnecting');
    return this.open(false);
  }

  private async open(reconnect: boolean): Promise<ConnectResult> {
    const target = this.target;
    if (!target) throw new CompanionError('not-connected', 'connect(host, port) first');
    const previousDeviceId = this.welcome?.device.id ?? null;
    this.stage = 'connecting';
    this.challenge.reset();
    const ws = new WebSocket(`ws://${target.host}:${target.port}/`, {
      maxPayload: MAX_BINARY_FRAME_BYTES + 1024,
      perMessageDeflate: false,
    });
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    const first = this.hello.start(this.requestTimeoutMs);
    first.catch(() => undefined); // awaited below once the socket opens; a failed open must not leave it unhandled
    ws.on('message', (data, isBinary) => this.onMessage(ws, data as Buffer, isBinary));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
    ws.on('error', () => undefined); // 'close' follows and carries the outcome
    await waitForOpen(ws, target);
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
    if (authenticated) await this.subs.resubscribeAll();
    this.opts.onConnect?.({ device: reply.device, authenticated, reconnect });
    return result;
  }

  private async authenticateWith(record: PairingRecord): Promise<void> {
    const deviceId = this.welcome?.device.id ?? record.deviceId;
    const deviceNonce = await this.challenge.wait(this.requestTimeoutMs);
    const proven = await exchangeAuthProofs(this.hmac, record, deviceId, deviceNonce, (message, expect) =>
      this.request(message, expect),
    );
    if (!proven) {
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
    await this.subs.resubscribeAll();
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
    const t0 = performance.now();
    await this.rpc.ping((m) => this.sendRaw(m));
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
    return this.subs.subscribe(runId, fromSeq, onEvent, opts);
  }

  /** @internal */
  closeSubscription(sub: Sub): Promise<void> {
    return this.subs.close(sub);
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
    return this.frames.get(runId, from, count, format);
  }

  /**
   * Pushes a block set folder (manifest.json + block files) to the device (model sync, docs/protocol.md section
   * 7): offers it, then sends every missing byte in hash-checked chunks (a JSON `blockset.chunk` and its binary
   * frame), one at a time, each acked with the device's offset. After a disconnect it waits for the automatic
   * reconnect and offers again: the device's ack says how much of each file it holds, and the push resumes there.
   * Resolves once the device says `installed`.
   */
  async pushBlockSet(dir: string, opts: PushBlockSetOptions = {}): Promise<PushBlockSetResult> {
    return pushBlockSet(
      {
        request: (message, expect) => this.request(message, expect),
        sendBinary: (frame) => {
          if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame, { binary: true });
        },
        nextChunkSeq: () => this.nextChunkSeq++ >>> 0,
        waitAuthenticated: () => this.waitAuthenticated(),
        needsPairing: () => this.stage === 'greeted' && this.reconnecting === null,
        isClosedByUser: () => this.closedByUser,
      },
      dir,
      opts,
    );
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
    this.subs.closeAll();
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
    return this.rpc.request((m) => this.sendRaw(m), message, expect);
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
      case 'hello.reject':
        if (!this.hello.deliver(m)) this.violation(`unexpected ${m.type}`);
        return;
      case 'auth.challenge':
        this.challenge.receive(m.nonce);
        return;
      case 'ping':
        try {
          this.sendRaw({ type: 'pong', nonce: m.nonce });
        } catch {
          /* closing */
        }
        return;
      case 'pong':
        this.rpc.pong(m.nonce);
        return;
      case 'run.event':
        this.subs.onRunEvent(m);
        return;
      case 'error': {
        if (m.ref !== undefined && this.rpc.failWith(m.ref, new DeviceError(m))) return;
        if (this.hello.waiting && this.stage === 'connecting') {
          this.hello.deliver(m);
          return;
        }
        this.opts.onUnsolicitedError?.(m);
        return;
      }
      default:
        if (!this.rpc.answer(m))
          this.violation(`${m.type} answers no pending request (ref ${String((m as { ref?: number }).ref)})`);
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
      this.subs.onPreview(frame);
      return;
    }
    if (frame.purpose === 'frame') {
      if (!this.frames.accept(frame)) this.violation(`unexpected frame of ${frame.streamId}`);
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
    this.hello.reject(err);
    this.rpc.failAll(err);
    this.frames.reset();
    this.subs.disconnected();
    this.opts.onDisconnect?.({ code, reason });
    if (wasConnected && !this.closedByUser && (this.opts.autoReconnect ?? true)) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnecting) return;
    const { initial, max } = this.opts.reconnectDelayMs ?? { initial: 100, max: 2000 };
    const giveUpAt = Date.now() + (this.opts.reconnectGiveUpMs ?? 60_000);
    const generation = this.connectGeneration;
    this.reconnecting = (async () => {
      let delay = initial;
      while (!this.closedByUser && Date.now() < giveUpAt) {
        await sleep(delay);
        // A connect() since (a new address, say) owns the connection now.
        if (this.closedByUser || this.connected || generation !== this.connectGeneration) break;
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
