/** The options of the companion client and what its `connect` tells. */
import type { HmacSha256 } from '../../shared/protocol/auth';
import type { DeviceInfo } from '../../shared/protocol/device';
import type { ErrorMessage } from '../../shared/protocol/errors';
import type { KeyStore } from './key-store';

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
