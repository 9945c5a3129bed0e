/**
 * The pieces of the connection handshake: waiting for the socket to open, for the device's first message
 * (`welcome`, `hello.reject` or `error`) and for its `auth.challenge`, and the challenge-response exchange that
 * also checks the device's proof.
 */
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { bytesToHex, computeAuthProof, constantTimeEqual, type HmacSha256 } from '../../shared/protocol/auth';
import type { ClientMessage, DeviceMessage, DeviceMessageOf } from '../../shared/protocol/messages';
import { CompanionError } from './client-errors';
import type { PairingRecord } from './key-store';

/** Resolves once `ws` is open; rejects with `connect-failed` if it closes first. */
export function waitForOpen(ws: WebSocket, target: { host: string; port: number }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
}

/** Waits for the device's answer to `hello`. */
export class HelloWaiter {
  private waiter: { resolve: (m: DeviceMessage) => void; reject: (e: Error) => void } | null = null;

  /** Starts waiting (replacing any earlier wait); rejects with `timeout` after `timeoutMs`. */
  start(timeoutMs: number): Promise<DeviceMessage> {
    return new Promise<DeviceMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CompanionError('timeout', 'no welcome within the request timeout')),
        timeoutMs,
      );
      this.waiter = {
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
  }

  get waiting(): boolean {
    return this.waiter !== null;
  }

  /** Hands `m` to the wait; false when none is under way. */
  deliver(m: DeviceMessage): boolean {
    const waiter = this.waiter;
    this.waiter = null;
    if (!waiter) return false;
    waiter.resolve(m);
    return true;
  }

  /** The connection closed: the wait fails with `err`. */
  reject(err: Error): void {
    this.waiter?.reject(err);
    this.waiter = null;
  }
}

/** The nonce of the connection's `auth.challenge`. */
export class ChallengeSlot {
  private challenge: string | null = null;
  private waiter: ((nonce: string) => void) | null = null;

  /** A new connection: the old challenge is void. */
  reset(): void {
    this.challenge = null;
  }

  receive(nonce: string): void {
    this.challenge = nonce;
    const w = this.waiter;
    this.waiter = null;
    w?.(nonce);
  }

  wait(timeoutMs: number): Promise<string> {
    if (this.challenge !== null) return Promise.resolve(this.challenge);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new CompanionError('timeout', 'no auth.challenge after welcome'));
      }, timeoutMs);
      this.waiter = (nonce) => {
        clearTimeout(timer);
        resolve(nonce);
      };
    });
  }
}

/**
 * Answers the challenge `deviceNonce` with the pairing key and checks the device's proof in `auth.ok`; false when
 * the device could not prove it holds the key.
 */
export async function exchangeAuthProofs(
  hmac: HmacSha256,
  record: PairingRecord,
  deviceId: string,
  deviceNonce: string,
  request: (message: ClientMessage, expect: DeviceMessage['type']) => Promise<DeviceMessage>,
): Promise<boolean> {
  const clientNonce = bytesToHex(randomBytes(16));
  const transcript = { deviceId, keyId: record.keyId, deviceNonce, clientNonce };
  const mac = await computeAuthProof(hmac, record.key, 'client', transcript);
  const ok = (await request(
    { type: 'auth.response', keyId: record.keyId, clientNonce, mac },
    'auth.ok',
  )) as DeviceMessageOf<'auth.ok'>;
  const want = await computeAuthProof(hmac, record.key, 'device', transcript);
  return ok.keyId === record.keyId && constantTimeEqual(ok.deviceMac, want);
}
