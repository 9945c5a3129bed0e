/**
 * Pairing and authentication on the device (docs/protocol.md, "Pairing" and "Authentication"). The device shows
 * a 6-digit code; a client that sends it gets a long-term key; later connections prove the key by
 * challenge-response. Wrong codes are rate-limited per device (not per connection: reconnecting does not reset
 * the count). Randomness, HMAC, the clock and the key records' persistence are injected.
 */
import { clientIdSchema, clientNameSchema, keyIdSchema } from '../protocol/messages';
import { z } from 'zod';
import type { Clock } from '../engine/ports';
import {
  bytesToHex,
  computeAuthProof,
  constantTimeEqual,
  NONCE_BYTES,
  PAIRING_KEY_BYTES,
  type HmacSha256,
} from '../protocol/auth';
import type { ErrorCode } from '../protocol/errors';
import { PAIRING_CODE_DIGITS } from '../protocol/limits';

/** Cryptographically secure random bytes (Node: crypto.randomBytes; iOS: SecRandomCopyBytes). */
export type RandomBytes = (length: number) => Uint8Array;

/** A paired client's long-term key, as the device keeps it. `key` is secret. */
export interface PairedKeyRecord {
  keyId: string;
  /** 32 bytes, lowercase hex. */
  key: string;
  clientId: string;
  clientName: string;
  /** Wall-clock milliseconds since the epoch when paired (for display only). */
  pairedAtEpochMs: number;
}

/** A host's stored paired keys (`{keys: [...]}`), checked when a host reads them back: the keys are secrets. */
export const pairedKeyFileSchema = z.strictObject({
  keys: z.array(
    z.strictObject({
      keyId: keyIdSchema,
      key: z.string().regex(/^[0-9a-f]{64}$/),
      clientId: clientIdSchema,
      clientName: clientNameSchema,
      pairedAtEpochMs: z.number().nonnegative(),
    }),
  ),
}) satisfies z.ZodType<{ keys: PairedKeyRecord[] }>;

/** The stored wrong-code state ({@link PairingLockoutRecord}), checked when a host reads it back. */
export const pairingLockoutSchema = z.strictObject({
  failures: z.number().int().nonnegative(),
  lockouts: z.number().int().nonnegative(),
  lockedUntilEpochMs: z.number().nonnegative(),
});

/**
 * The wrong-code state, kept across restarts so that restarting the device does not lift a lockout: `failures`
 * (wrong codes since the last lockout or success), `lockouts` (since the last success; each doubles the next) and
 * `lockedUntilEpochMs` (wall clock when the current lockout ends; 0: none).
 */
export type PairingLockoutRecord = z.infer<typeof pairingLockoutSchema>;

/** Persistence port for key records (hosts keep them in a file only the app can read) and the lockout. */
export interface PairingStore {
  list(): Promise<PairedKeyRecord[]>;
  put(record: PairedKeyRecord): Promise<void>;
  remove(keyId: string): Promise<void>;
  /** The stored wrong-code state (null: none). A store without it forgets lockouts on restart. */
  loadLockout?(): Promise<PairingLockoutRecord | null>;
  /** Replaces the stored wrong-code state; resolves once it is durable. */
  saveLockout?(record: PairingLockoutRecord): Promise<void>;
}

/** Rate-limit and expiry settings. */
export interface PairingLimits {
  /** How long a shown code is valid. */
  codeTtlMs: number;
  /** Wrong codes allowed before a lockout. */
  maxAttempts: number;
  /** First lockout; each further lockout doubles it. */
  baseLockoutMs: number;
  /** Longest lockout. */
  maxLockoutMs: number;
}

/** Defaults: codes live 2 minutes; 5 wrong codes lock pairing for 30 s, then 60 s, 120 s ... up to 1 hour. */
export const DEFAULT_PAIRING_LIMITS: Readonly<PairingLimits> = Object.freeze({
  codeTtlMs: 120_000,
  maxAttempts: 5,
  baseLockoutMs: 30_000,
  maxLockoutMs: 3_600_000,
});

/** A refusal, with the wire error code to send. */
export interface PairingRefusal {
  ok: false;
  code: Extract<
    ErrorCode,
    | 'pairing-not-started'
    | 'pairing-code-expired'
    | 'pairing-code-invalid'
    | 'pairing-locked'
    | 'unknown-key'
    | 'auth-failed'
  >;
  message: string;
  retryAfterMs?: number;
}

/** Ports and settings of a pairing manager. */
export interface PairingOptions {
  deviceId: string;
  random: RandomBytes;
  hmac: HmacSha256;
  /** Monotonic clock for expiry and lockouts. */
  clock: Clock;
  /** Wall clock for `pairedAtEpochMs` (default: 0). */
  epochMs?: () => number;
  store?: PairingStore;
  limits?: Partial<PairingLimits>;
  /** Diagnostics (a lockout that could not be stored). */
  log?: (line: string) => void;
}

/** A uniformly random code of {@link PAIRING_CODE_DIGITS} digits (rejection sampling: no modulo bias). */
export function generatePairingCode(random: RandomBytes): string {
  const range = 10 ** PAIRING_CODE_DIGITS;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  for (;;) {
    const b = random(4);
    if (b.length < 4) throw new RangeError('the random port returned too few bytes');
    const v = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
    if (v < limit) return String(v % range).padStart(PAIRING_CODE_DIGITS, '0');
  }
}

/** Device-side pairing state: the shown code, the rate limiter and the key records. */
export class PairingManager {
  private readonly limits: PairingLimits;
  private readonly records = new Map<string, PairedKeyRecord>();
  private code: { value: string; expiresAtMs: number } | null = null;
  private failures = 0;
  private lockouts = 0;
  private lockedUntilMs = 0;
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly options: PairingOptions) {
    this.limits = { ...DEFAULT_PAIRING_LIMITS, ...options.limits };
  }

  /** Creates a manager and loads the stored key records and wrong-code state (a lockout survives a restart). */
  static async create(options: PairingOptions): Promise<PairingManager> {
    const manager = new PairingManager(options);
    for (const r of (await options.store?.list()) ?? []) manager.records.set(r.keyId, r);
    const lockout = await Promise.resolve(options.store?.loadLockout?.())
      .then((r) => r ?? null)
      .catch((e: unknown) => {
        options.log?.(`pairing: the stored lockout is unreadable, starting without one: ${String(e)}`);
        return null;
      });
    if (lockout !== null) {
      manager.failures = lockout.failures;
      manager.lockouts = lockout.lockouts;
      // Remaining time by the wall clock (the monotonic one restarted), never more than the longest lockout.
      const remaining = options.epochMs === undefined ? 0 : lockout.lockedUntilEpochMs - options.epochMs();
      if (remaining > 0)
        manager.lockedUntilMs = options.clock.nowMs() + Math.min(remaining, manager.limits.maxLockoutMs);
    }
    return manager;
  }

  /** The current lockout's remaining time (0 when pairing is open). */
  lockoutRemainingMs(): number {
    return Math.max(0, this.lockedUntilMs - this.options.clock.nowMs());
  }

  /**
   * Generates a fresh code for the host to show on screen (`pair.start`), replacing any earlier one. Refused while
   * locked out.
   */
  startPairing(): { ok: true; code: string; expiresInMs: number } | PairingRefusal {
    const locked = this.lockedRefusal();
    if (locked) return locked;
    const value = generatePairingCode(this.options.random);
    this.code = { value, expiresAtMs: this.options.clock.nowMs() + this.limits.codeTtlMs };
    return { ok: true, code: value, expiresInMs: this.limits.codeTtlMs };
  }

  /** The code the host should show now (null: none, or expired). */
  shownCode(): string | null {
    if (this.code === null || this.options.clock.nowMs() >= this.code.expiresAtMs) return null;
    return this.code.value;
  }

  /**
   * Checks a submitted code (`pair.request`). A right code is used up and yields a new key record; a wrong one
   * counts toward the lockout, and the lockout also discards the code (the user must start again).
   */
  async submitCode(
    code: string,
    client: { clientId: string; clientName: string },
  ): Promise<{ ok: true; record: PairedKeyRecord } | PairingRefusal> {
    const locked = this.lockedRefusal();
    if (locked) return locked;
    const now = this.options.clock.nowMs();
    if (this.code === null)
      return {
        ok: false,
        code: 'pairing-not-started',
        message: 'no pairing code is shown: send pair.start first',
      };
    if (now >= this.code.expiresAtMs) {
      this.code = null;
      return {
        ok: false,
        code: 'pairing-code-expired',
        message: 'the pairing code expired: send pair.start again',
      };
    }
    if (!constantTimeEqual(code, this.code.value)) {
      this.failures += 1;
      if (this.failures >= this.limits.maxAttempts) {
        this.failures = 0;
        this.lockouts += 1;
        const lockMs = Math.min(
          this.limits.baseLockoutMs * 2 ** (this.lockouts - 1),
          this.limits.maxLockoutMs,
        );
        this.lockedUntilMs = now + lockMs;
        this.code = null;
        await this.saveLockout();
        return {
          ok: false,
          code: 'pairing-locked',
          message: `too many wrong codes: pairing is locked for ${Math.ceil(lockMs / 1000)} s`,
          retryAfterMs: lockMs,
        };
      }
      await this.saveLockout();
      return {
        ok: false,
        code: 'pairing-code-invalid',
        message: `wrong code (${this.limits.maxAttempts - this.failures} attempts left before a lockout)`,
      };
    }
    this.code = null;
    const hadFailures = this.failures > 0 || this.lockouts > 0;
    this.failures = 0;
    this.lockouts = 0;
    if (hadFailures) await this.saveLockout();
    const record: PairedKeyRecord = {
      keyId: `k-${bytesToHex(this.randomBytes(8))}`,
      key: bytesToHex(this.randomBytes(PAIRING_KEY_BYTES)),
      clientId: client.clientId,
      clientName: client.clientName,
      pairedAtEpochMs: this.options.epochMs?.() ?? 0,
    };
    await this.options.store?.put(record);
    this.records.set(record.keyId, record);
    return { ok: true, record };
  }

  /** A fresh nonce for `auth.challenge` (lowercase hex). */
  newChallenge(): string {
    return bytesToHex(this.randomBytes(NONCE_BYTES));
  }

  /**
   * Verifies `auth.response` against the session's challenge; on success returns the record and the device's own
   * proof for `auth.ok`. A key is bound to the `clientId` it was paired under: a session that said `hello` with
   * another id is refused even with a valid proof, so one studio's key never acts (or has runs attributed) as
   * another studio.
   */
  async verifyAuth(response: {
    keyId: string;
    deviceNonce: string;
    clientNonce: string;
    mac: string;
    /** The session's `hello.clientId`. */
    clientId: string | null;
  }): Promise<{ ok: true; record: PairedKeyRecord; deviceMac: string } | PairingRefusal> {
    const record = this.records.get(response.keyId);
    if (record === undefined)
      return { ok: false, code: 'unknown-key', message: 'this device holds no such key: pair again' };
    const transcript = {
      deviceId: this.options.deviceId,
      keyId: record.keyId,
      deviceNonce: response.deviceNonce,
      clientNonce: response.clientNonce,
    };
    const want = await computeAuthProof(this.options.hmac, record.key, 'client', transcript);
    if (!constantTimeEqual(want, response.mac))
      return { ok: false, code: 'auth-failed', message: 'the key proof does not match' };
    if (record.clientId !== response.clientId)
      return {
        ok: false,
        code: 'auth-failed',
        message: `key ${record.keyId} was paired by another studio (another clientId): say hello with the clientId it was paired under, or pair again`,
      };
    const deviceMac = await computeAuthProof(this.options.hmac, record.key, 'device', transcript);
    return { ok: true, record, deviceMac };
  }

  /** The paired clients (keys included: do not send these anywhere). */
  keyRecords(): PairedKeyRecord[] {
    return [...this.records.values()];
  }

  /** Forgets a key: its client must pair again. */
  async revoke(keyId: string): Promise<void> {
    await this.options.store?.remove(keyId);
    this.records.delete(keyId);
  }

  /** Stores the wrong-code state (in call order); a failure is logged, the lockout still holds in memory. */
  private saveLockout(): Promise<void> {
    const save = this.options.store?.saveLockout?.bind(this.options.store);
    if (save === undefined) return Promise.resolve();
    const remaining = this.lockoutRemainingMs();
    const record: PairingLockoutRecord = {
      failures: this.failures,
      lockouts: this.lockouts,
      lockedUntilEpochMs:
        remaining > 0 && this.options.epochMs !== undefined ? this.options.epochMs() + remaining : 0,
    };
    this.saving = this.saving
      .then(() => save(record))
      .catch((e: unknown) =>
        this.options.log?.(
          `pairing: cannot store the lockout: ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
    return this.saving;
  }

  private randomBytes(length: number): Uint8Array {
    const b = this.options.random(length);
    if (b.length !== length) throw new RangeError(`the random port returned ${b.length} of ${length} bytes`);
    return b;
  }

  private lockedRefusal(): PairingRefusal | null {
    const remaining = this.lockoutRemainingMs();
    if (remaining === 0) return null;
    return {
      ok: false,
      code: 'pairing-locked',
      message: `pairing is locked for ${Math.ceil(remaining / 1000)} more s after too many wrong codes`,
      retryAfterMs: remaining,
    };
  }
}
