/**
 * The companion's device side of the wire protocol (docs/protocol.md), transport-agnostic: a host hands it
 * connections, an engine runner, a clock, randomness, HMAC, stores and its device info, and it speaks the
 * protocol on each connection — handshake, access control, pairing and challenge-response, device info, a FIFO
 * run queue (one run at a time), cancel, replay-then-live subscriptions over each run's append-only event log,
 * previews and final frames as binary frames, ping/pong and a typed error for anything invalid.
 *
 * Nothing a client sends can make it throw: every receive path ends in a reply, a typed `error`, or (after
 * `hello.reject`) a close. Messages of one connection are handled in arrival order.
 *
 * Model sync (`blockset.offer` / `blockset.chunk` + its binary frame, paired sessions only) goes to a
 * `ModelSyncReceiver` (model-sync.ts) when the host gives a `ModelStore`; installed sets (and sets being received,
 * `complete: false`) are added to the device info's `blockSets`. Without a store an offer gets `unsupported`.
 */
import type { AbortSignalLike } from '../engine/cidl/abort';
import { LocalAbortController } from '../engine/cidl/abort';
import type { Clock, Sha256 } from '../engine/ports';
import type { EngineEvent } from '../engine/telemetry';
import type { HmacSha256 } from '../protocol/auth';
import { bytesToHex } from '../protocol/auth';
import {
  binaryFrameProtocolError,
  decodeBinaryFrame,
  encodeBinaryFrame,
  type BinaryFrame,
} from '../protocol/binary-frame';
import type { DeviceInfo } from '../protocol/device';
import { protocolError, type ErrorCode, type ErrorMessage } from '../protocol/errors';
import { negotiateHello, SUPPORTED_VERSIONS, type VersionRange } from '../protocol/handshake';
import { MAX_EVENTS_PER_READ } from '../protocol/limits';
import type { ClientMessage, ClientMessageOf, DeviceMessage } from '../protocol/messages';
import { encodeMessage, parseClientMessage, parseJsonText } from '../protocol/parse';
import {
  isTerminalRunEvent,
  runEventSchema,
  runStateAfter,
  type ImageFormat,
  type PreviewSettings,
  type RunEvent,
  type RunParams,
  type RunState,
} from '../protocol/run';
import { checkAccess, type SessionStage } from './access';
import { EventLog, EventLogError, type EventLogStore, type LogEntry, type Subscription } from './event-log';
import {
  ModelSyncError,
  ModelSyncReceiver,
  type InstalledBlockSetRecord,
  type ModelStore,
  type ModelSyncLimits,
  type PendingChunk,
} from './model-sync';
import { PairingManager, type PairingLimits, type PairingStore, type RandomBytes } from './pairing';

// ---------------------------------------------------------------------------------------------------------------
// Ports

/** One client connection, as the transport presents it. Binary messages arrive as Uint8Array, text as string. */
export interface Connection {
  sendText(text: string): void;
  sendBinary(data: Uint8Array): void;
  /** Closes the connection (WebSocket close code and reason). */
  close(code: number, reason: string): void;
  onMessage(handler: (data: string | Uint8Array) => void): void;
  onClose(handler: () => void): void;
}

/** Preview images the engine produced for one step, already in the requested format and size. */
export interface PreviewImages {
  width: number;
  height: number;
  format: ImageFormat;
  /** One payload per frame: `image-rgb8` (height·width·3 bytes) or a PNG file. */
  frames: Uint8Array[];
}

/** What an engine run returns: the final video as 8-bit interleaved RGB frames. */
export interface EngineRunResult {
  width: number;
  height: number;
  fps: number;
  stepsRun: number;
  frames: Uint8Array[];
  timings: { loadMs: number; textMs: number; denoiseMs: number; decodeMs: number; totalMs: number };
}

/** One job handed to the engine runner. */
export interface EngineJob {
  runId: string;
  params: RunParams;
  preview: PreviewSettings | null;
  /** Aborted by `run.cancel` or shutdown: stop as soon as possible and reject. */
  signal: AbortSignalLike;
  /** Engine telemetry, in order. */
  emit(event: EngineEvent): void;
  /** Preview frames for a denoising step (call at the cadence `preview.everySteps`). */
  emitPreview(step: number, images: PreviewImages): void;
}

/** Why a run failed, as its `run.failed` (or, for `engine-crashed`, `run.interrupted`) event says. */
export type RunFailureCode =
  'invalid-params' | 'out-of-memory' | 'engine-error' | 'internal' | 'engine-crashed';

/** An engine failure with its wire code (a runner may throw any error; others count as `engine-error`). */
export class RunFailure extends Error {
  override readonly name = 'RunFailure';
  constructor(
    readonly code: RunFailureCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Runs engine jobs, one at a time (the server never calls `run` while another is in flight). */
export interface EngineRunner {
  /** Checks parameters before a run is accepted (`field` names the bad one, dotted, relative to `params`). */
  validate?(params: RunParams): { ok: true } | { ok: false; field: string; message: string };
  run(job: EngineJob): Promise<EngineRunResult>;
}

/** A run's metadata, kept beside its event log. */
export interface StoredRunMeta {
  runId: string;
  clientId: string;
  label?: string;
}

/** Persistence of runs: their event logs (one line per entry) and metadata. */
export interface RunStore extends EventLogStore {
  /** Every stored run (for restore after a restart). */
  listRuns(): Promise<StoredRunMeta[]>;
  /** Records a new run (before its first event is appended). */
  saveRun(meta: StoredRunMeta): Promise<void>;
}

/** Everything a host injects. */
export interface CompanionServerOptions {
  /** The device info sent in `welcome` and `device.info` (read each time: memory changes). */
  deviceInfo: () => DeviceInfo | Promise<DeviceInfo>;
  runner: EngineRunner;
  /** Monotonic clock: event `atMs`, pairing expiry. */
  clock: Clock;
  /** Wall clock for pairing records (default: none, 0). */
  epochMs?: () => number;
  random: RandomBytes;
  hmac: HmacSha256;
  runStore?: RunStore;
  pairingStore?: PairingStore;
  pairingLimits?: Partial<PairingLimits>;
  /** Called with each new pairing code: the host shows it on its screen. */
  onPairingCode?: (code: string, expiresInMs: number) => void;
  /** Diagnostics (never client-controlled text without a prefix). */
  log?: (line: string) => void;
  /** Most runs waiting behind the running one (default 16). */
  maxQueuedRuns?: number;
  /** Finished runs whose final frames stay in memory for `frames.get` (default 4). */
  keepFramesOfRuns?: number;
  /** Previews per run whose binary frames are kept for replays (default 8). */
  keepPreviewsPerRun?: number;
  /** Encodes an RGB frame as PNG (for `frames.get` with format `png`; without it png requests are refused). */
  encodePng?: (rgb: Uint8Array, width: number, height: number) => Uint8Array;
  versions?: VersionRange;
  /** Model sync: where pushed block sets are staged and installed (without it, `blockset.offer` is unsupported). */
  modelStore?: ModelStore;
  /** Hashes chunks and manifests for model sync (required with `modelStore`). */
  sha256?: Sha256;
  modelSyncLimits?: Partial<ModelSyncLimits>;
  /** A pushed block set was installed. */
  onBlockSetInstalled?: (record: InstalledBlockSetRecord) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// State

interface RunRecord {
  runId: string;
  clientId: string;
  label?: string;
  log: EventLog<RunEvent>;
  state: RunState;
  params: RunParams | null;
  preview: PreviewSettings | null;
  abort: LocalAbortController | null;
  cancelledBy: string | null;
  interruptReason: 'shutdown' | null;
  result: EngineRunResult | null;
  previews: Map<number, Uint8Array[]>;
}

interface Session {
  id: string;
  conn: Connection;
  stage: SessionStage;
  clientId: string | null;
  clientName: string | null;
  nonce: string | null;
  subscriptions: Map<string, Subscription>;
  /** The chunk whose binary frame comes next (`rejected`: its header was refused, drop the frame). */
  chunk: { pending: PendingChunk; id: number | undefined } | { rejected: true } | null;
  closed: boolean;
  chain: Promise<void>;
}

/** Close codes the server uses. */
export const CLOSE_CODES = { normal: 1000, goingAway: 1001, tooBig: 1009, helloReject: 4001 } as const;

/** The device side of the protocol. Create with {@link CompanionServer.create}, then `accept` each connection. */
export class CompanionServer {
  private readonly runs = new Map<string, RunRecord>();
  private readonly queue: RunRecord[] = [];
  private active: RunRecord | null = null;
  private activeDone: Promise<void> | null = null;
  private readonly sessions = new Set<Session>();
  private readonly framesKept: string[] = [];
  private shuttingDown = false;

  private constructor(
    private readonly options: CompanionServerOptions,
    private readonly pairing: PairingManager,
    private readonly deviceId: string,
    private readonly modelSync: ModelSyncReceiver | null,
  ) {}

  /**
   * Loads pairing keys and restores stored run logs: a run whose log has no terminal event (the device stopped
   * mid-run) gets `run.interrupted` (`device-restarted`) with the next seq.
   */
  static async create(options: CompanionServerOptions): Promise<CompanionServer> {
    const info = await options.deviceInfo();
    const pairing = await PairingManager.create({
      deviceId: info.id,
      random: options.random,
      hmac: options.hmac,
      clock: options.clock,
      epochMs: options.epochMs,
      store: options.pairingStore,
      limits: options.pairingLimits,
    });
    let modelSync: ModelSyncReceiver | null = null;
    if (options.modelStore !== undefined) {
      if (options.sha256 === undefined) throw new Error('CompanionServer: modelStore needs a sha256 port');
      modelSync = await ModelSyncReceiver.create({
        store: options.modelStore,
        sha256: options.sha256,
        limits: options.modelSyncLimits,
        onInstalled: options.onBlockSetInstalled,
        log: options.log,
      });
    }
    const server = new CompanionServer(options, pairing, info.id, modelSync);
    await server.restoreRuns();
    return server;
  }

  /** The code shown now (null: none). */
  shownPairingCode(): string | null {
    return this.pairing.shownCode();
  }

  /** Shows a fresh pairing code without a client asking (a host may show one at start-up). */
  startPairing(): { code: string; expiresInMs: number } | null {
    const r = this.pairing.startPairing();
    if (!r.ok) return null;
    this.options.onPairingCode?.(r.code, r.expiresInMs);
    return { code: r.code, expiresInMs: r.expiresInMs };
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** The running run's id (null when the engine is idle). */
  get activeRunId(): string | null {
    return this.active?.runId ?? null;
  }

  /** Run ids waiting, in order. */
  get queuedRunIds(): string[] {
    return this.queue.map((r) => r.runId);
  }

  /** Takes a new connection. */
  accept(conn: Connection): void {
    const session: Session = {
      id: `s-${bytesToHex(this.options.random(8))}`,
      conn,
      stage: 'connected',
      clientId: null,
      clientName: null,
      nonce: null,
      subscriptions: new Map(),
      chunk: null,
      closed: false,
      chain: Promise.resolve(),
    };
    this.sessions.add(session);
    conn.onClose(() => this.dropSession(session));
    conn.onMessage((data) => {
      if (session.closed) return;
      session.chain = session.chain
        .then(() => (typeof data === 'string' ? this.onText(session, data) : this.onBinary(session, data)))
        .catch((error: unknown) => {
          this.log(`session ${session.id}: internal error: ${describe(error)}`);
          this.send(session, protocolError('internal', 'the device hit an internal error; it keeps serving'));
        });
    });
    if (this.shuttingDown) this.closeSession(session, CLOSE_CODES.goingAway, 'shutting down');
  }

  /**
   * Stops: the running and queued runs end with `run.interrupted` (`shutdown`), logs are flushed, connections
   * are closed with 1001.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const rec of this.queue.splice(0)) this.appendTerminal(rec, this.interrupted('shutdown'));
    const active = this.active;
    if (active !== null) {
      active.interruptReason = 'shutdown';
      active.abort?.abort(new Error('shutdown'));
      await this.activeDone;
    }
    await Promise.all([...this.runs.values()].map((r) => r.log.flush().catch(() => undefined)));
    for (const s of [...this.sessions]) this.closeSession(s, CLOSE_CODES.goingAway, 'device shutting down');
  }

  // -------------------------------------------------------------------------------------------------------------
  // Receive paths

  private async onText(session: Session, text: string): Promise<void> {
    const json = parseJsonText(text);
    if (!json.ok) {
      this.send(session, json.error);
      return;
    }
    if (session.stage === 'connected') {
      await this.onFirstMessage(session, json.json);
      return;
    }
    const parsed = parseClientMessage(json.json);
    if (!parsed.ok) {
      this.send(session, parsed.error);
      return;
    }
    const denied = checkAccess(session.stage, parsed.message);
    if (denied) {
      this.send(session, denied);
      return;
    }
    await this.dispatch(session, parsed.message);
  }

  private async onFirstMessage(session: Session, json: unknown): Promise<void> {
    const outcome = negotiateHello(json, this.options.versions ?? SUPPORTED_VERSIONS);
    if (outcome.kind === 'reject') {
      this.send(session, outcome.reject);
      this.closeSession(session, CLOSE_CODES.helloReject, outcome.reject.reason);
      return;
    }
    if (outcome.kind === 'error') {
      this.send(session, outcome.error);
      return;
    }
    session.stage = 'greeted';
    session.clientId = outcome.hello.clientId;
    session.clientName = outcome.hello.clientName;
    session.nonce = this.pairing.newChallenge();
    this.send(session, {
      type: 'welcome',
      protocolVersion: outcome.protocolVersion,
      sessionId: session.id,
      device: await this.deviceInfo(),
    });
    this.send(session, { type: 'auth.challenge', nonce: session.nonce });
  }

  private async onBinary(session: Session, data: Uint8Array): Promise<void> {
    if (session.stage === 'connected') {
      this.send(session, protocolError('handshake-required', 'send hello before any binary frame'));
      return;
    }
    const decoded = decodeBinaryFrame(data);
    if (!decoded.ok) {
      this.send(session, binaryFrameProtocolError(decoded.error));
      return;
    }
    if (session.stage !== 'authenticated') {
      this.send(session, protocolError('unauthorized', 'binary frames need a paired client'));
      return;
    }
    if (decoded.frame.purpose === 'blockset-chunk') {
      await this.onChunkFrame(session, decoded.frame);
      return;
    }
    this.send(
      session,
      protocolError('bad-binary-frame', `a device does not accept ${decoded.frame.purpose} frames`),
    );
  }

  private async dispatch(session: Session, m: ClientMessage): Promise<void> {
    switch (m.type) {
      case 'hello':
        // checkAccess answers a second hello; unreachable.
        return;
      case 'ping':
        this.send(session, { type: 'pong', nonce: m.nonce });
        return;
      case 'pong':
        return;
      case 'device.info.get':
        this.send(session, {
          type: 'device.info',
          ...ref(m.id),
          device: await this.deviceInfo(),
        });
        return;
      case 'pair.start':
        return this.onPairStart(session, m);
      case 'pair.request':
        return this.onPairRequest(session, m);
      case 'auth.response':
        return this.onAuthResponse(session, m);
      case 'run.start':
        return this.onRunStart(session, m);
      case 'run.cancel':
        return this.onRunCancel(session, m);
      case 'run.subscribe':
        return this.onRunSubscribe(session, m);
      case 'run.unsubscribe': {
        session.subscriptions.get(m.runId)?.close();
        session.subscriptions.delete(m.runId);
        this.send(session, { type: 'ack', ...ref(m.id) });
        return;
      }
      case 'runs.get':
        this.send(session, {
          type: 'runs',
          ...ref(m.id),
          runs: [...this.runs.values()].slice(-10_000).map((r) => ({
            runId: r.runId,
            state: r.state,
            headSeq: r.log.visibleSeq,
            clientId: r.clientId,
            ...(r.label === undefined ? {} : { label: r.label }),
          })),
        });
        return;
      case 'frames.get':
        return this.onFramesGet(session, m);
      case 'blockset.offer':
        return this.onBlockSetOffer(session, m);
      case 'blockset.chunk':
        return this.onBlockSetChunk(session, m);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Model sync

  private async onBlockSetOffer(session: Session, m: ClientMessageOf<'blockset.offer'>): Promise<void> {
    session.chunk = null;
    if (this.modelSync === null) {
      this.send(
        session,
        protocolError('unsupported', 'this device does not accept model sync (blockset.offer)', ref(m.id)),
      );
      return;
    }
    try {
      const ack = await this.modelSync.offer(session, m);
      this.send(session, { type: 'blockset.ack', ...ref(m.id), ...ack });
    } catch (error) {
      this.send(session, this.syncError(error, m.id));
    }
  }

  private async onBlockSetChunk(session: Session, m: ClientMessageOf<'blockset.chunk'>): Promise<void> {
    // The binary frame follows immediately; until it arrives, the chunk (or its refusal) waits here.
    session.chunk = { rejected: true };
    if (this.modelSync === null) {
      this.send(
        session,
        protocolError('unknown-transfer', `no model transfer ${m.transferId} on this connection`, ref(m.id)),
      );
      return;
    }
    try {
      session.chunk = { pending: await this.modelSync.checkChunk(session, m), id: m.id };
    } catch (error) {
      this.send(session, this.syncError(error, m.id));
    }
  }

  private async onChunkFrame(session: Session, frame: BinaryFrame): Promise<void> {
    const announced = session.chunk;
    session.chunk = null;
    if (announced === null || this.modelSync === null) {
      this.send(
        session,
        protocolError('unknown-transfer', `no model transfer ${frame.streamId} on this connection`),
      );
      return;
    }
    if ('rejected' in announced) return; // its blockset.chunk was already answered with an error
    const { pending, id } = announced;
    if (frame.streamId !== pending.transferId || frame.seq !== pending.chunkSeq) {
      this.send(
        session,
        protocolError(
          'bad-binary-frame',
          `expected the frame of chunk ${pending.chunkSeq} of transfer ${pending.transferId}, got chunk ${frame.seq} of ${frame.streamId}`,
          ref(id),
        ),
      );
      return;
    }
    try {
      const ack = await this.modelSync.receiveChunk(session, pending, frame.payload);
      this.send(session, { type: 'blockset.ack', ...ref(id), ...ack });
    } catch (error) {
      this.send(session, this.syncError(error, id));
    }
  }

  private syncError(error: unknown, id: number | undefined): ErrorMessage {
    if (error instanceof ModelSyncError)
      return protocolError(error.code, error.message, {
        ...ref(id),
        ...(error.extra.path === undefined ? {} : { path: error.extra.path }),
      });
    this.log(`model sync: ${describe(error)}`);
    return protocolError('internal', `model sync failed on the device: ${describe(error)}`, ref(id));
  }

  private async deviceInfo(): Promise<DeviceInfo> {
    const info = await this.options.deviceInfo();
    if (this.modelSync === null) return info;
    const synced = this.modelSync.blockSets();
    const names = new Set(synced.map((b) => b.name));
    const blockSets = [...info.blockSets.filter((b) => !names.has(b.name)), ...synced].slice(0, 256);
    return { ...info, blockSets };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pairing and authentication

  private onPairStart(session: Session, m: ClientMessageOf<'pair.start'>): void {
    const r = this.pairing.startPairing();
    if (!r.ok) {
      this.send(session, refusal(r, m.id));
      return;
    }
    this.options.onPairingCode?.(r.code, r.expiresInMs);
    this.send(session, { type: 'pair.pending', ...ref(m.id), digits: 6, expiresInMs: r.expiresInMs });
  }

  private async onPairRequest(session: Session, m: ClientMessageOf<'pair.request'>): Promise<void> {
    const r = await this.pairing.submitCode(m.code, {
      clientId: session.clientId ?? 'unknown',
      clientName: session.clientName ?? 'unknown',
    });
    if (!r.ok) {
      this.send(session, refusal(r, m.id));
      return;
    }
    session.stage = 'authenticated';
    this.send(session, {
      type: 'pair.ok',
      ...ref(m.id),
      deviceId: this.deviceId,
      keyId: r.record.keyId,
      key: r.record.key,
    });
  }

  private async onAuthResponse(session: Session, m: ClientMessageOf<'auth.response'>): Promise<void> {
    const nonce = session.nonce;
    if (nonce === null) {
      this.send(session, protocolError('auth-failed', 'no challenge is open on this connection', ref(m.id)));
      return;
    }
    const r = await this.pairing.verifyAuth({
      keyId: m.keyId,
      deviceNonce: nonce,
      clientNonce: m.clientNonce,
      mac: m.mac,
    });
    if (!r.ok) {
      this.send(session, refusal(r, m.id));
      return;
    }
    session.stage = 'authenticated';
    session.nonce = null; // one proof per challenge
    this.send(session, { type: 'auth.ok', ...ref(m.id), keyId: r.record.keyId, deviceMac: r.deviceMac });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Runs

  private async onRunStart(session: Session, m: ClientMessageOf<'run.start'>): Promise<void> {
    if (this.shuttingDown) {
      this.send(session, protocolError('queue-full', 'the device is shutting down', ref(m.id)));
      return;
    }
    const maxQueued = this.options.maxQueuedRuns ?? 16;
    if (this.queue.length >= maxQueued) {
      this.send(
        session,
        protocolError('queue-full', `${this.queue.length} runs are already waiting`, {
          ...ref(m.id),
          retryAfterMs: 1000,
        }),
      );
      return;
    }
    let verdict: ReturnType<NonNullable<EngineRunner['validate']>> = { ok: true };
    try {
      verdict = this.options.runner.validate?.(m.params) ?? { ok: true };
    } catch (error) {
      verdict = { ok: false, field: '', message: describe(error) };
    }
    if (!verdict.ok) {
      this.send(
        session,
        protocolError('invalid-params', `params: ${verdict.message}`, {
          ...ref(m.id),
          path: verdict.field === '' ? 'params' : `params.${verdict.field}`,
        }),
      );
      return;
    }
    const runId = this.newRunId();
    const clientId = session.clientId ?? 'unknown';
    const meta: StoredRunMeta = { runId, clientId, ...(m.label === undefined ? {} : { label: m.label }) };
    await this.options.runStore?.saveRun(meta);
    const rec: RunRecord = {
      ...meta,
      log: this.newLog(runId),
      state: 'queued',
      params: m.params,
      preview: m.preview,
      abort: null,
      cancelledBy: null,
      interruptReason: null,
      result: null,
      previews: new Map(),
    };
    this.runs.set(runId, rec);
    const position = this.queue.length + (this.active === null ? 0 : 1);
    this.append(rec, { type: 'run.queued', atMs: this.now(), position });
    this.queue.push(rec);
    this.send(session, { type: 'run.accepted', ...ref(m.id), runId, queuePosition: position });
    this.pump();
  }

  private onRunCancel(session: Session, m: ClientMessageOf<'run.cancel'>): void {
    const rec = this.runs.get(m.runId);
    if (rec === undefined) {
      this.send(session, protocolError('unknown-run', `no run ${m.runId}`, ref(m.id)));
      return;
    }
    if (rec.log.sealed) {
      this.send(
        session,
        protocolError('run-finished', `run ${m.runId} already ended (${rec.state})`, ref(m.id)),
      );
      return;
    }
    const index = this.queue.indexOf(rec);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.appendTerminal(rec, { type: 'run.cancelled', atMs: this.now(), byClientId: session.clientId });
    } else if (rec === this.active) {
      rec.cancelledBy ??= session.clientId;
      rec.abort?.abort(new Error('cancelled'));
    }
    this.send(session, { type: 'ack', ...ref(m.id) });
  }

  private onRunSubscribe(session: Session, m: ClientMessageOf<'run.subscribe'>): void {
    const rec = this.runs.get(m.runId);
    if (rec === undefined) {
      this.send(session, protocolError('unknown-run', `no run ${m.runId}`, ref(m.id)));
      return;
    }
    const head = rec.log.visibleSeq;
    if (m.fromSeq > head + 1) {
      this.send(
        session,
        protocolError('seq-ahead', `fromSeq ${m.fromSeq} is past the log's last event (${head})`, {
          ...ref(m.id),
          path: 'fromSeq',
        }),
      );
      return;
    }
    session.subscriptions.get(m.runId)?.close();
    session.subscriptions.delete(m.runId);
    this.send(session, {
      type: 'run.subscribed',
      ...ref(m.id),
      runId: rec.runId,
      fromSeq: m.fromSeq,
      headSeq: head,
      state: rec.state,
    });
    try {
      const sub = rec.log.subscribe(m.fromSeq, (entry) => this.deliver(session, rec, entry));
      if (!rec.log.sealed || sub.lastDeliveredSeq < rec.log.headSeq)
        session.subscriptions.set(rec.runId, sub);
      else sub.close();
    } catch (error) {
      const code: ErrorCode =
        error instanceof EventLogError && error.code === 'seq-ahead' ? 'seq-ahead' : 'internal';
      this.send(session, protocolError(code, describe(error), ref(m.id)));
    }
  }

  private deliver(session: Session, rec: RunRecord, entry: LogEntry<RunEvent>): void {
    if (session.closed) return;
    this.send(session, { type: 'run.event', runId: rec.runId, seq: entry.seq, event: entry.event });
    if (entry.event.type === 'preview.ready') {
      for (const frame of rec.previews.get(entry.seq) ?? []) session.conn.sendBinary(frame);
    }
    if (isTerminalRunEvent(entry.event)) {
      session.subscriptions.get(rec.runId)?.close();
      session.subscriptions.delete(rec.runId);
    }
  }

  private onFramesGet(session: Session, m: ClientMessageOf<'frames.get'>): void {
    const rec = this.runs.get(m.runId);
    if (rec === undefined) {
      this.send(session, protocolError('unknown-run', `no run ${m.runId}`, ref(m.id)));
      return;
    }
    const result = rec.result;
    if (result === null) {
      this.send(
        session,
        protocolError(
          'frames-unavailable',
          rec.state === 'finished'
            ? `run ${m.runId}'s frames were discarded`
            : `run ${m.runId} has not finished (${rec.state})`,
          ref(m.id),
        ),
      );
      return;
    }
    const encodePng = this.options.encodePng;
    if (m.format === 'png' && encodePng === undefined) {
      this.send(
        session,
        protocolError('frames-unavailable', 'this device cannot encode png: ask for image-rgb8', ref(m.id)),
      );
      return;
    }
    const total = result.frames.length;
    const from = Math.min(m.from, total);
    const count = Math.max(0, Math.min(m.count, total - from));
    this.send(session, {
      type: 'frames',
      ...ref(m.id),
      runId: rec.runId,
      from: m.from,
      count,
      totalFrames: total,
      width: result.width,
      height: result.height,
      format: m.format,
    });
    for (let i = from; i < from + count; i++) {
      const rgb = result.frames[i]!;
      const frame: BinaryFrame =
        m.format === 'png'
          ? {
              kind: 'png',
              purpose: 'frame',
              streamId: rec.runId,
              seq: 0,
              index: i,
              dims: [result.height, result.width],
              payload: encodePng!(rgb, result.width, result.height),
            }
          : {
              kind: 'image-rgb8',
              purpose: 'frame',
              streamId: rec.runId,
              seq: 0,
              index: i,
              dims: [result.height, result.width, 3],
              payload: rgb,
            };
      session.conn.sendBinary(encodeBinaryFrame(frame));
    }
  }

  private pump(): void {
    if (this.active !== null || this.shuttingDown) return;
    const rec = this.queue.shift();
    if (rec === undefined) return;
    this.active = rec;
    this.activeDone = this.execute(rec)
      .catch((error: unknown) => this.log(`run ${rec.runId}: ${describe(error)}`))
      .finally(() => {
        rec.abort = null;
        rec.params = null;
        this.active = null;
        this.activeDone = null;
        this.pump();
      });
  }

  private async execute(rec: RunRecord): Promise<void> {
    const abort = new LocalAbortController();
    rec.abort = abort;
    this.append(rec, { type: 'run.started', atMs: this.now() });
    let settled = false;
    const job: EngineJob = {
      runId: rec.runId,
      params: rec.params!,
      preview: rec.preview,
      signal: abort.signal,
      emit: (event) => {
        if (!settled && !rec.log.sealed) this.append(rec, event as RunEvent);
      },
      emitPreview: (step, images) => {
        if (!settled && !rec.log.sealed) this.appendPreview(rec, step, images);
      },
    };
    let terminal: RunEvent;
    try {
      const result = await this.options.runner.run(job);
      settled = true;
      if (abort.signal.aborted) terminal = this.abortedEvent(rec);
      else {
        rec.result = result;
        this.keepFrames(rec);
        terminal = {
          type: 'run.finished',
          atMs: this.now(),
          frames: Math.max(1, result.frames.length),
          width: result.width,
          height: result.height,
          fps: result.fps,
          stepsRun: result.stepsRun,
          timings: result.timings,
        };
      }
    } catch (error) {
      settled = true;
      if (abort.signal.aborted) terminal = this.abortedEvent(rec);
      else if (error instanceof RunFailure && error.code === 'engine-crashed')
        terminal = { type: 'run.interrupted', atMs: this.now(), reason: 'engine-crashed' };
      else {
        const failure = error instanceof RunFailure ? error : null;
        terminal = {
          type: 'run.failed',
          atMs: this.now(),
          code: failure === null || failure.code === 'engine-crashed' ? 'engine-error' : failure.code,
          message: describe(error).slice(0, 4096),
          ...(failure?.field === undefined ? {} : { field: failure.field.slice(0, 256) }),
        };
      }
    }
    this.appendTerminal(rec, terminal);
    await rec.log.flush().catch((error: unknown) => this.log(`run ${rec.runId}: ${describe(error)}`));
    // Preview frames stay for replays as long as the run's final frames do (keepFrames evicts both).
    if (rec.result === null) rec.previews.clear();
  }

  private abortedEvent(rec: RunRecord): RunEvent {
    return rec.interruptReason === 'shutdown'
      ? this.interrupted('shutdown')
      : { type: 'run.cancelled', atMs: this.now(), byClientId: rec.cancelledBy };
  }

  private interrupted(reason: 'shutdown' | 'device-restarted'): RunEvent {
    return { type: 'run.interrupted', atMs: this.now(), reason };
  }

  private appendPreview(rec: RunRecord, step: number, images: PreviewImages): void {
    const count = images.frames.length;
    if (count < 1 || count > 1024) return;
    const seq = rec.log.headSeq + 1;
    let encoded: Uint8Array[];
    try {
      encoded = images.frames.map((payload, index) =>
        encodeBinaryFrame({
          kind: images.format === 'png' ? 'png' : 'image-rgb8',
          purpose: 'preview',
          streamId: rec.runId,
          seq,
          index,
          dims: images.format === 'png' ? [images.height, images.width] : [images.height, images.width, 3],
          payload,
        }),
      );
    } catch (error) {
      this.log(`run ${rec.runId}: preview at step ${step} dropped: ${describe(error)}`);
      return;
    }
    rec.previews.set(seq, encoded);
    const keep = this.options.keepPreviewsPerRun ?? 8;
    for (const key of rec.previews.keys()) {
      if (rec.previews.size <= keep) break;
      rec.previews.delete(key);
    }
    this.append(rec, {
      type: 'preview.ready',
      atMs: this.now(),
      step,
      frames: count,
      width: images.width,
      height: images.height,
      format: images.format,
    });
  }

  private keepFrames(rec: RunRecord): void {
    this.framesKept.push(rec.runId);
    const keep = this.options.keepFramesOfRuns ?? 4;
    while (this.framesKept.length > keep) {
      const old = this.runs.get(this.framesKept.shift()!);
      if (old) {
        old.result = null;
        old.previews.clear();
      }
    }
  }

  private append(rec: RunRecord, event: RunEvent): void {
    if (rec.log.sealed) return;
    rec.log.append(event);
    const state = runStateAfter(event);
    if (state !== null) rec.state = state;
  }

  private appendTerminal(rec: RunRecord, event: RunEvent): void {
    this.append(rec, event);
  }

  private newLog(runId: string): EventLog<RunEvent> {
    return new EventLog<RunEvent>(runId, {
      store: this.options.runStore,
      isTerminal: isTerminalRunEvent,
      onError: (error) => this.log(`run ${runId}: event log: ${describe(error)}`),
    });
  }

  private async restoreRuns(): Promise<void> {
    const store = this.options.runStore;
    if (store === undefined) return;
    for (const meta of await store.listRuns()) {
      const { log, report } = await EventLog.restore<RunEvent>(
        meta.runId,
        {
          store,
          isTerminal: isTerminalRunEvent,
          onError: (error) => this.log(`run ${meta.runId}: event log: ${describe(error)}`),
        },
        (json) => {
          const r = runEventSchema.safeParse(json);
          return r.success ? r.data : null;
        },
      );
      if (report.skippedLines > 0 || report.gap)
        this.log(
          `run ${meta.runId}: restore skipped ${report.skippedLines} lines${report.gap ? ', stopped at a gap' : ''}`,
        );
      if (log.headSeq === 0) continue;
      const rec: RunRecord = {
        ...meta,
        log,
        state: 'queued',
        params: null,
        preview: null,
        abort: null,
        cancelledBy: null,
        interruptReason: null,
        result: null,
        previews: new Map(),
      };
      for (let from = 1; from <= log.visibleSeq; from += MAX_EVENTS_PER_READ)
        for (const e of log.read(from, MAX_EVENTS_PER_READ)) rec.state = runStateAfter(e.event) ?? rec.state;
      this.runs.set(meta.runId, rec);
      if (!log.sealed) {
        this.append(rec, this.interrupted('device-restarted'));
        await log.flush().catch((error: unknown) => this.log(`run ${meta.runId}: ${describe(error)}`));
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers

  private newRunId(): string {
    for (;;) {
      const id = `r-${bytesToHex(this.options.random(6))}`;
      if (!this.runs.has(id)) return id;
    }
  }

  private now(): number {
    return this.options.clock.nowMs();
  }

  private send(session: Session, message: DeviceMessage | ErrorMessage): void {
    if (session.closed) return;
    try {
      session.conn.sendText(encodeMessage(message));
    } catch (error) {
      this.log(`session ${session.id}: send failed: ${describe(error)}`);
    }
  }

  private closeSession(session: Session, code: number, reason: string): void {
    if (session.closed) return;
    this.dropSession(session);
    try {
      session.conn.close(code, reason);
    } catch {
      // already gone
    }
  }

  private dropSession(session: Session): void {
    session.closed = true;
    session.chunk = null;
    this.modelSync?.release(session);
    for (const sub of session.subscriptions.values()) sub.close();
    session.subscriptions.clear();
    this.sessions.delete(session);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

function ref(id: number | undefined): { ref?: number } {
  return id === undefined ? {} : { ref: id };
}

function refusal(
  r: { code: ErrorCode; message: string; retryAfterMs?: number },
  id: number | undefined,
): ErrorMessage {
  return protocolError(r.code, r.message, {
    ...ref(id),
    ...(r.retryAfterMs === undefined ? {} : { retryAfterMs: r.retryAfterMs }),
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
