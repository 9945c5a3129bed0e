/**
 * Request/response by id over the companion connection: each request gets an id, the device's answer carries it
 * as `ref`, and a request that is not answered in time fails with `timeout`. JSON pings are matched by nonce.
 */
import type { ClientMessage, DeviceMessage } from '../../shared/protocol/messages';
import { CompanionError, type DeviceError } from './client-errors';

interface Pending {
  expect: DeviceMessage['type'];
  resolve: (m: DeviceMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Sends a client message (throws `not-connected` when the connection is not open). */
export type SendMessage = (message: ClientMessage) => void;

/** The requests and pings of one client that wait for an answer. */
export class PendingRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pongWaiters = new Map<number, () => void>();
  private nextNonce = 1;

  constructor(private readonly timeoutMs: number) {}

  /** Sends `message` with a fresh id; resolves with the answer of type `expect`. */
  request(send: SendMessage, message: ClientMessage, expect: DeviceMessage['type']): Promise<DeviceMessage> {
    const id = this.nextId++;
    (message as { id?: number }).id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CompanionError('timeout', `no answer to ${message.type} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { expect, resolve, reject, timer });
      try {
        send(message);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  /** Rejects the request `ref` with the device's error; false when no such request waits. */
  failWith(ref: number | undefined, error: DeviceError): boolean {
    if (ref === undefined || !this.pending.has(ref)) return false;
    const p = this.pending.get(ref)!;
    this.pending.delete(ref);
    clearTimeout(p.timer);
    p.reject(error);
    return true;
  }

  /** Settles the request `m` answers; false when it answers no pending request. */
  answer(m: DeviceMessage): boolean {
    const ref = (m as { ref?: number }).ref;
    const p = ref === undefined ? undefined : this.pending.get(ref);
    if (!p || ref === undefined) return false;
    this.pending.delete(ref);
    clearTimeout(p.timer);
    if (m.type !== p.expect) {
      p.reject(new CompanionError('invalid-device-message', `expected ${p.expect}, got ${m.type}`));
      return true;
    }
    p.resolve(m);
    return true;
  }

  /** Sends a JSON ping; resolves when its pong arrives. */
  ping(send: SendMessage): Promise<void> {
    const nonce = this.nextNonce++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pongWaiters.delete(nonce);
        reject(new CompanionError('timeout', `no pong ${nonce}`));
      }, this.timeoutMs);
      this.pongWaiters.set(nonce, () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        send({ type: 'ping', nonce });
      } catch (e) {
        clearTimeout(timer);
        this.pongWaiters.delete(nonce);
        reject(e as Error);
      }
    });
  }

  /** A pong arrived. */
  pong(nonce: number): void {
    const w = this.pongWaiters.get(nonce);
    this.pongWaiters.delete(nonce);
    w?.();
  }

  /** The connection closed: every pending request fails with `err`; pings are forgotten. */
  failAll(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.pongWaiters.clear();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
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
