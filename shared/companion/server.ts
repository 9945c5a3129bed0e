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
 *
 * This file wires the parts together: ports and options (server-ports.ts), per-connection state, handshake and
 * auth (session.ts), the run queue and run lifecycle (run-queue.ts), subscriptions (subscriptions.ts), binary
 * frames (frames.ts) and model sync (blockset-transfer.ts).
 */
import { bytesToHex } from '../protocol/auth';
import { binaryFrameProtocolError, decodeBinaryFrame } from '../protocol/binary-frame';
import { deviceInfoForVersion, type DeviceInfo } from '../protocol/device';
import { protocolError, type ErrorMessage } from '../protocol/errors';
import type { ClientMessage, ClientMessageOf, DeviceMessage } from '../protocol/messages';
import { encodeMessage, parseClientMessage, parseJsonText, requestIdOf } from '../protocol/parse';
import { checkAccess } from './access';
import { BlockSetTransfers } from './blockset-transfer';
import { sendFinalFrames } from './frames';
import { ModelSyncReceiver } from './model-sync';
import { PairingManager, type PairedKeyRecord } from './pairing';
import { describe, ref } from './replies';
import { RunQueue } from './run-queue';
import {
  CLOSE_CODES,
  DEFAULT_RUN_LIMITS,
  type CompanionServerOptions,
  type Connection,
  type RunVerdict,
} from './server-ports';
import { newSession, SessionAuth, type Replier, type Session } from './session';
import { subscribeToRun, unsubscribe } from './subscriptions';

export * from './server-ports';

/** The device side of the protocol. Create with {@link CompanionServer.create}, then `accept` each connection. */
export class CompanionServer {
  private readonly sessions = new Set<Session>();
  private shuttingDown = false;
  private readonly replier: Replier = {
    send: (session, message) => this.send(session, message),
    log: (line) => this.log(line),
  };
  private readonly runs: RunQueue;
  private readonly blockSets: BlockSetTransfers;
  private readonly auth: SessionAuth;

  private constructor(
    private readonly options: CompanionServerOptions,
    private readonly pairing: PairingManager,
    deviceId: string,
    modelSync: ModelSyncReceiver | null,
  ) {
    this.runs = new RunQueue(options, this.replier.log);
    this.blockSets = new BlockSetTransfers(modelSync, this.replier);
    this.auth = new SessionAuth({
      replier: this.replier,
      pairing,
      deviceId,
      options,
      deviceInfo: () => this.deviceInfo(),
      closeSession: (session, code, reason) => this.closeSession(session, code, reason),
    });
  }

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
      log: options.log,
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
    await server.runs.restore();
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

  /** The paired studios, without their keys (what a device's screen lists). */
  pairedClients(): Omit<PairedKeyRecord, 'key'>[] {
    return this.pairing.keyRecords().map(({ key: _key, ...rest }) => rest);
  }

  /**
   * Forgets a paired studio (a device's "forget" button): its key stops working and the sessions that paired or
   * authenticated with that key are closed (1000); it must pair again. False when no such key is paired.
   */
  async forgetClient(keyId: string): Promise<boolean> {
    if (!this.pairing.keyRecords().some((r) => r.keyId === keyId)) return false;
    await this.pairing.revoke(keyId);
    for (const s of [...this.sessions])
      if (s.keyId === keyId)
        this.closeSession(s, CLOSE_CODES.normal, 'the device forgot this studio: pair again');
    return true;
  }

  /** Deletes a block set pushed to this device (a device's delete button); false when none of that name. */
  deleteBlockSet(name: string): Promise<boolean> {
    return this.blockSets.removeInstalled(name);
  }

  /**
   * Removes the staging of abandoned model pushes (`modelSyncLimits.abandonedPushMs`); a long-running host calls it
   * every `SWEEP_ABANDONED_PUSHES_EVERY_MS`. Resolves with how many were removed.
   */
  sweepAbandonedPushes(): Promise<number> {
    return this.blockSets.sweepAbandoned();
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** The running run's id (null when the engine is idle). */
  get activeRunId(): string | null {
    return this.runs.activeRunId;
  }

  /** Run ids waiting, in order. */
  get queuedRunIds(): string[] {
    return this.runs.queuedRunIds;
  }

  /** Takes a new connection. */
  accept(conn: Connection): void {
    const session = newSession(`s-${bytesToHex(this.options.random(8))}`, conn);
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
    await this.runs.shutdown();
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
    try {
      await this.onJson(session, json.json);
    } catch (error) {
      // Every error to a request carries its ref, this one too.
      this.log(`session ${session.id}: internal error: ${describe(error)}`);
      this.send(
        session,
        protocolError(
          'internal',
          'the device hit an internal error; it keeps serving',
          ref(requestIdOf(json.json)),
        ),
      );
    }
  }

  private async onJson(session: Session, json: unknown): Promise<void> {
    if (session.stage === 'connected') {
      await this.auth.onFirstMessage(session, json);
      return;
    }
    const parsed = parseClientMessage(json);
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
      await this.blockSets.onChunkFrame(session, decoded.frame);
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
          device: deviceInfoForVersion(await this.deviceInfo(), session.protocolVersion),
        });
        return;
      case 'pair.start':
        return this.auth.onPairStart(session, m);
      case 'pair.request':
        return this.auth.onPairRequest(session, m);
      case 'auth.response':
        return this.auth.onAuthResponse(session, m);
      case 'run.start':
        return this.onRunStart(session, m);
      case 'run.cancel':
        return this.onRunCancel(session, m);
      case 'run.subscribe':
        return subscribeToRun(this.replier, session, this.runs.get(m.runId), m);
      case 'run.unsubscribe': {
        unsubscribe(session, m.runId);
        this.send(session, { type: 'ack', ...ref(m.id) });
        return;
      }
      case 'runs.get':
        this.send(session, {
          type: 'runs',
          ...ref(m.id),
          runs: this.runs.summaries(),
        });
        return;
      case 'frames.get':
        return sendFinalFrames(this.replier, session, this.runs.get(m.runId), m, this.options.encodePng);
      case 'blockset.offer':
        return this.blockSets.onBlockSetOffer(session, m);
      case 'blockset.chunk':
        return this.blockSets.onBlockSetChunk(session, m);
    }
  }

  private async deviceInfo(): Promise<DeviceInfo> {
    return this.blockSets.withBlockSets(await this.options.deviceInfo());
  }

  // -------------------------------------------------------------------------------------------------------------
  // Runs

  private async onRunStart(session: Session, m: ClientMessageOf<'run.start'>): Promise<void> {
    if (this.refuseRunStart(session, m)) return;
    let verdict: RunVerdict = { ok: true };
    try {
      verdict = (await this.options.runner.validate?.(m.params)) ?? { ok: true };
    } catch (error) {
      verdict = { ok: false, field: '', message: describe(error) };
    }
    if (!verdict.ok) {
      this.send(
        session,
        protocolError(verdict.code ?? 'invalid-params', `params: ${verdict.message}`, {
          ...ref(m.id),
          path: verdict.field === '' ? 'params' : `params.${verdict.field}`,
        }),
      );
      return;
    }
    // The check may have awaited (a memory probe): the queue can have filled or the device begun to stop meanwhile.
    if (this.refuseRunStart(session, m)) return;
    const { runId, position } = await this.runs.enqueue(
      session.clientId ?? 'unknown',
      m.params,
      m.preview,
      m.label,
    );
    this.send(session, { type: 'run.accepted', ...ref(m.id), runId, queuePosition: position });
    this.runs.pump();
  }

  /** Refuses a run.start when the device is stopping or the queue is full (true: refused). */
  private refuseRunStart(session: Session, m: ClientMessageOf<'run.start'>): boolean {
    if (this.shuttingDown) {
      this.send(session, protocolError('queue-full', 'the device is shutting down', ref(m.id)));
      return true;
    }
    const maxQueued = this.options.maxQueuedRuns ?? DEFAULT_RUN_LIMITS.maxQueuedRuns;
    if (this.runs.queuedCount >= maxQueued) {
      this.send(
        session,
        protocolError('queue-full', `${this.runs.queuedCount} runs are already waiting`, {
          ...ref(m.id),
          retryAfterMs: 1000,
        }),
      );
      return true;
    }
    return false;
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
    this.runs.cancel(rec, session.clientId);
    this.send(session, { type: 'ack', ...ref(m.id) });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Sessions

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
    this.blockSets.release(session);
    for (const sub of session.subscriptions.values()) sub.close();
    session.subscriptions.clear();
    this.sessions.delete(session);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}
