/**
 * What a device's WebSocket server enforces per connection, before the protocol sees a byte
 * (docs/protocol.md, "Connection limits"), written once for both hosts' transports (the Node companion over `ws`,
 * the phone's own server over react-native-tcp-socket):
 *
 * - {@link ConnectionGate}: how many connections the device holds, in all and per address. A connection over a cap
 *   takes the place of the oldest connection in that pool that has not authenticated; when every one of them has,
 *   it is refused (HTTP 503).
 * - {@link ConnectionGuard}: one connection's deadlines (the upgrade request, `hello`, authentication) and its
 *   stage-dependent limits (the largest message taken, the unsent bytes held for it).
 *
 * The limits themselves are `DEFAULT_CONNECTION_LIMITS` (shared/protocol/limits.ts). Timers are injected: `shared/`
 * has none.
 */
import type { ConnectionLimits } from '../protocol/limits';
import { CLOSE_CODES, type SessionProgress } from './server-ports';

/** Starts a one-shot timer; returns its cancel function. */
export type StartTimer = (ms: number, fire: () => void) => () => void;

/**
 * The pool key of a remote address: an IPv4 address as it is (also when IPv4-mapped), an IPv6 address by its /64
 * (one host can use a whole /64), anything unparsable as it is.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const bare = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1]!;
  if (!bare.includes(':')) return bare;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return bare;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** A connection's place in the gate; released when the connection ends. */
export interface GateSlot {
  /** The pool key of the connection's address. */
  readonly address: string;
  /** Authenticated connections are never displaced by newcomers. */
  authenticated: boolean;
  /** Frees the slot (idempotent). */
  release(): void;
}

/** The gate's answer to a new connection. */
export type Admission = { ok: true; slot: GateSlot } | { ok: false; reason: string };

interface Entry extends GateSlot {
  evict: () => void;
}

/** Counts a device's connections, in all and per address, and picks which one gives way. */
export class ConnectionGate {
  /** In arrival order: the first unauthenticated entry is the oldest. */
  private readonly entries = new Set<Entry>();

  constructor(
    private readonly limits: Pick<ConnectionLimits, 'maxConnections' | 'maxConnectionsPerAddress'>,
  ) {}

  /** Connections held now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Admits a connection from `remoteAddress`. Over a cap, the oldest unauthenticated connection of that pool is
   * evicted (`evict` of its admission is called, and its slot freed) to make room; refused when there is none.
   */
  admit(remoteAddress: string | undefined, evict: () => void): Admission {
    const address = addressKey(remoteAddress);
    const sameAddress = [...this.entries].filter((e) => e.address === address);
    if (sameAddress.length >= this.limits.maxConnectionsPerAddress) {
      const victim = sameAddress.find((e) => !e.authenticated);
      if (victim === undefined)
        return {
          ok: false,
          reason: `${address} already holds ${sameAddress.length} authenticated connections (the most one address may hold)`,
        };
      this.displace(victim);
    } else if (this.entries.size >= this.limits.maxConnections) {
      const victim = [...this.entries].find((e) => !e.authenticated);
      if (victim === undefined)
        return {
          ok: false,
          reason: `the device already holds ${this.entries.size} authenticated connections (its most)`,
        };
      this.displace(victim);
    }
    const entry: Entry = {
      address,
      authenticated: false,
      evict,
      release: () => {
        this.entries.delete(entry);
      },
    };
    this.entries.add(entry);
    return { ok: true, slot: entry };
  }

  private displace(victim: Entry): void {
    this.entries.delete(victim);
    try {
      victim.evict();
    } catch {
      // its socket is already gone
    }
  }
}

/** What a transport lets the guard do to its connection. */
export interface GuardedTransport {
  /** Sets the largest message the transport takes from now on. */
  setMaxMessageBytes(bytes: number): void;
  /**
   * Ends the connection: before the WebSocket opened, by dropping the socket (`code` is unused); after, with a close
   * frame, dropping the socket if the peer does not answer it promptly.
   */
  close(code: number, reason: string): void;
}

/** Where a guarded connection is. */
export type GuardStage = 'upgrading' | 'connected' | 'greeted' | 'authenticated' | 'closed';

/** The close code of the deadlines (policy violation) and of a displaced connection (try again later). */
export const GUARD_CLOSE_CODES = {
  deadline: CLOSE_CODES.policyViolation,
  displaced: CLOSE_CODES.tryAgainLater,
} as const;

/** One connection's deadlines and stage-dependent limits. Create it when the TCP connection is accepted. */
export class ConnectionGuard {
  private stageNow: GuardStage = 'upgrading';
  private cancelTimer: (() => void) | null = null;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly transport: GuardedTransport,
    private readonly startTimer: StartTimer,
    private readonly slot: GateSlot | null = null,
  ) {
    this.arm(
      limits.upgradeTimeoutMs,
      `no complete WebSocket upgrade request within ${seconds(limits.upgradeTimeoutMs)}`,
    );
  }

  /** The connection's stage. */
  get stage(): GuardStage {
    return this.stageNow;
  }

  /** The WebSocket is open: `hello` is due, and messages are limited to the unauthenticated size. */
  opened(): void {
    if (this.stageNow !== 'upgrading') return;
    this.stageNow = 'connected';
    this.transport.setMaxMessageBytes(this.limits.maxUnauthenticatedMessageBytes);
    this.arm(this.limits.helloTimeoutMs, `no hello within ${seconds(this.limits.helloTimeoutMs)}`);
  }

  /** The session moved on (the companion server reports it through `Connection.sessionProgress`). */
  progress(step: SessionProgress): void {
    if (this.stageNow === 'closed' || this.stageNow === 'authenticated' || this.stageNow === 'upgrading')
      return;
    if (step === 'authenticated') {
      this.stageNow = 'authenticated';
      this.disarm();
      if (this.slot) this.slot.authenticated = true;
      this.transport.setMaxMessageBytes(this.limits.maxMessageBytes);
      return;
    }
    // hello accepted, or a pairing code shown: the person at the studio gets the whole time to type it.
    this.stageNow = 'greeted';
    this.arm(
      this.limits.authTimeoutMs,
      `not paired or authenticated within ${seconds(this.limits.authTimeoutMs)}: reconnect to try again`,
    );
  }

  /** The most bytes the device holds unsent for this connection now. */
  get maxUnsentBytes(): number {
    return this.stageNow === 'authenticated'
      ? this.limits.maxUnsentBytes
      : this.limits.maxUnauthenticatedUnsentBytes;
  }

  /** The connection ended: timers stop, the slot is freed. */
  closed(): void {
    this.stageNow = 'closed';
    this.disarm();
    this.slot?.release();
  }

  private arm(ms: number, reason: string): void {
    this.disarm();
    this.cancelTimer = this.startTimer(ms, () => {
      this.cancelTimer = null;
      if (this.stageNow === 'closed' || this.stageNow === 'authenticated') return;
      this.transport.close(GUARD_CLOSE_CODES.deadline, reason);
    });
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
