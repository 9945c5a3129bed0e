/**
 * One connection's state on the companion server (server.ts) — its handshake and auth stage, the client it
 * speaks for, the open challenge, its run subscriptions and a model-sync chunk awaiting its binary frame — and
 * the handshake, pairing and challenge-response handlers that move it through those stages.
 */
import { deviceInfoForVersion, type DeviceInfo } from '../protocol/device';
import type { ErrorMessage } from '../protocol/errors';
import { protocolError } from '../protocol/errors';
import { negotiateHello, SUPPORTED_VERSIONS } from '../protocol/handshake';
import type { ClientMessageOf, DeviceMessage } from '../protocol/messages';
import type { SessionStage } from './access';
import type { Subscription } from './event-log';
import type { PendingChunk } from './model-sync';
import type { PairingManager } from './pairing';
import { ref, refusal } from './replies';
import { CLOSE_CODES, type CompanionServerOptions, type Connection } from './server-ports';

/** One connection's state. */
export interface Session {
  id: string;
  conn: Connection;
  stage: SessionStage;
  /** The version the session speaks (the client's, from `hello`; 0 before it). */
  protocolVersion: number;
  clientId: string | null;
  clientName: string | null;
  /** The pairing key this session paired or authenticated with (forgetting the key closes the session). */
  keyId: string | null;
  nonce: string | null;
  subscriptions: Map<string, Subscription>;
  /** The chunk whose binary frame comes next (`rejected`: its header was refused, drop the frame). */
  chunk: { pending: PendingChunk; id: number | undefined } | { rejected: true } | null;
  closed: boolean;
  chain: Promise<void>;
}

/** A fresh session, before `hello`. */
export function newSession(id: string, conn: Connection): Session {
  return {
    id,
    conn,
    stage: 'connected',
    protocolVersion: 0,
    clientId: null,
    clientName: null,
    keyId: null,
    nonce: null,
    subscriptions: new Map(),
    chunk: null,
    closed: false,
    chain: Promise.resolve(),
  };
}

/** How handlers answer a session and report diagnostics. */
export interface Replier {
  send(session: Session, message: DeviceMessage | ErrorMessage): void;
  log(line: string): void;
}

/** What the handshake and auth handlers need from the server. */
export interface SessionAuthDeps {
  replier: Replier;
  pairing: PairingManager;
  deviceId: string;
  /** Read for `versions` and `onPairingCode`. */
  options: CompanionServerOptions;
  /** The device info for `welcome` (model-sync block sets included). */
  deviceInfo: () => Promise<DeviceInfo>;
  closeSession: (session: Session, code: number, reason: string) => void;
}

/** Handshake (`hello` → `welcome` + `auth.challenge`), pairing and challenge-response for sessions. */
export class SessionAuth {
  constructor(private readonly deps: SessionAuthDeps) {}

  private send(session: Session, message: DeviceMessage | ErrorMessage): void {
    this.deps.replier.send(session, message);
  }

  async onFirstMessage(session: Session, json: unknown): Promise<void> {
    const outcome = negotiateHello(json, this.deps.options.versions ?? SUPPORTED_VERSIONS);
    if (outcome.kind === 'reject') {
      this.send(session, outcome.reject);
      this.deps.closeSession(session, CLOSE_CODES.helloReject, outcome.reject.reason);
      return;
    }
    if (outcome.kind === 'error') {
      this.send(session, outcome.error);
      return;
    }
    // Read the device info first: if that fails the session stays before hello, so the client may send it again.
    const device = deviceInfoForVersion(await this.deps.deviceInfo(), outcome.protocolVersion);
    session.stage = 'greeted';
    session.protocolVersion = outcome.protocolVersion;
    session.clientId = outcome.hello.clientId;
    session.clientName = outcome.hello.clientName;
    session.nonce = this.deps.pairing.newChallenge();
    this.send(session, {
      type: 'welcome',
      protocolVersion: outcome.protocolVersion,
      sessionId: session.id,
      device,
    });
    this.send(session, { type: 'auth.challenge', nonce: session.nonce });
    session.conn.sessionProgress?.('hello');
  }

  onPairStart(session: Session, m: ClientMessageOf<'pair.start'>): void {
    const r = this.deps.pairing.startPairing();
    if (!r.ok) {
      this.send(session, refusal(r, m.id));
      return;
    }
    this.deps.options.onPairingCode?.(r.code, r.expiresInMs);
    this.send(session, { type: 'pair.pending', ...ref(m.id), digits: 6, expiresInMs: r.expiresInMs });
    session.conn.sessionProgress?.('pair-start');
  }

  async onPairRequest(session: Session, m: ClientMessageOf<'pair.request'>): Promise<void> {
    const r = await this.deps.pairing.submitCode(m.code, {
      clientId: session.clientId ?? 'unknown',
      clientName: session.clientName ?? 'unknown',
    });
    if (!r.ok) {
      this.send(session, refusal(r, m.id));
      return;
    }
    session.stage = 'authenticated';
    session.keyId = r.record.keyId;
    session.conn.sessionProgress?.('authenticated');
    this.send(session, {
      type: 'pair.ok',
      ...ref(m.id),
      deviceId: this.deps.deviceId,
      keyId: r.record.keyId,
      key: r.record.key,
    });
  }

  async onAuthResponse(session: Session, m: ClientMessageOf<'auth.response'>): Promise<void> {
    const nonce = session.nonce;
    if (nonce === null) {
      this.send(session, protocolError('auth-failed', 'no challenge is open on this connection', ref(m.id)));
      return;
    }
    const r = await this.deps.pairing.verifyAuth({
      keyId: m.keyId,
      deviceNonce: nonce,
      clientNonce: m.clientNonce,
      mac: m.mac,
      clientId: session.clientId,
    });
    if (!r.ok) {
      this.send(session, refusal(r, m.id));
      return;
    }
    session.stage = 'authenticated';
    session.keyId = r.record.keyId;
    session.nonce = null; // one proof per challenge
    session.conn.sessionProgress?.('authenticated');
    this.send(session, { type: 'auth.ok', ...ref(m.id), keyId: r.record.keyId, deviceMac: r.deviceMac });
  }
}
