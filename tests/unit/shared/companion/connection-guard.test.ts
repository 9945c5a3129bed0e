// The connection gate and guard both device hosts share (the real-socket cases are in
// tests/integration/companion/connection-limit-cases.ts): address pools, who gives way over a cap, and the
// deadlines re-armed as a session moves on, with a hand-driven timer.
import { describe, expect, it } from 'vitest';
import {
  addressKey,
  ConnectionGate,
  ConnectionGuard,
  type StartTimer,
} from '../../../../shared/companion/connection-guard';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../../../shared/protocol/limits';

describe('addressKey', () => {
  it('pools IPv4 by address (also IPv4-mapped) and IPv6 by /64', () => {
    expect(addressKey('192.168.1.20')).toBe('192.168.1.20');
    expect(addressKey('::ffff:192.168.1.20')).toBe('192.168.1.20');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:DB8:0:1:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:1::/64');
    expect(addressKey('fe80::1%en0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});

describe('ConnectionGate', () => {
  const limits = { maxConnections: 3, maxConnectionsPerAddress: 2 };

  it('over the per-address cap, the oldest unauthenticated connection of that address gives way', () => {
    const gate = new ConnectionGate(limits);
    const evicted: string[] = [];
    const a = gate.admit('10.0.0.1', () => evicted.push('a'));
    const b = gate.admit('10.0.0.1', () => evicted.push('b'));
    if (!a.ok || !b.ok) throw new Error('admitted');
    a.slot.authenticated = true;
    expect(gate.admit('10.0.0.1', () => evicted.push('c')).ok).toBe(true);
    expect(evicted).toEqual(['b']);
    expect(gate.size).toBe(2);
  });

  it('over the device cap, the oldest unauthenticated connection anywhere gives way; refused when all are authenticated', () => {
    const gate = new ConnectionGate(limits);
    const evicted: string[] = [];
    const slots = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => {
      const r = gate.admit(ip, () => evicted.push(ip));
      if (!r.ok) throw new Error('admitted');
      return r.slot;
    });
    slots[0]!.authenticated = true;
    expect(gate.admit('10.0.0.4', () => evicted.push('10.0.0.4')).ok).toBe(true);
    expect(evicted).toEqual(['10.0.0.2']);
    slots[2]!.authenticated = true;
    const fifth = gate.admit('10.0.0.5', () => undefined);
    expect(evicted).toEqual(['10.0.0.2', '10.0.0.4']);
    if (!fifth.ok) throw new Error('admitted');
    fifth.slot.authenticated = true;
    const refused = gate.admit('10.0.0.6', () => undefined);
    expect(refused).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/3 authenticated connections/),
    });
    fifth.slot.release();
    expect(gate.admit('10.0.0.6', () => undefined).ok).toBe(true);
  });
});

/** A timer driven by hand: `fire()` runs the armed callback. */
function handTimer(): { start: StartTimer; armed: () => number | null; fire: () => void } {
  let current: { ms: number; fire: () => void } | null = null;
  return {
    start: (ms, fire) => {
      const entry = { ms, fire };
      current = entry;
      return () => {
        if (current === entry) current = null;
      };
    },
    armed: () => current?.ms ?? null,
    fire: () => {
      const c = current;
      current = null;
      c?.fire();
    },
  };
}

describe('ConnectionGuard', () => {
  const limits: ConnectionLimits = {
    ...DEFAULT_CONNECTION_LIMITS,
    helloTimeoutMs: 1000,
    authTimeoutMs: 5000,
  };

  function guarded() {
    const timer = handTimer();
    const closes: [number, string][] = [];
    const maxBytes: number[] = [];
    const guard = new ConnectionGuard(
      limits,
      { setMaxMessageBytes: (b) => maxBytes.push(b), close: (code, reason) => closes.push([code, reason]) },
      timer.start,
    );
    return { guard, timer, closes, maxBytes };
  }

  it('arms the upgrade, hello and auth deadlines in turn, each closing with 1008', () => {
    const { guard, timer, closes } = guarded();
    expect(timer.armed()).toBe(limits.upgradeTimeoutMs);
    guard.opened();
    expect(timer.armed()).toBe(1000);
    guard.progress('hello');
    expect(timer.armed()).toBe(5000);
    guard.progress('pair-start');
    expect(timer.armed()).toBe(5000);
    timer.fire();
    expect(closes).toEqual([[1008, 'not paired or authenticated within 5 s: reconnect to try again']]);
  });

  it('lifts the message and unsent limits once authenticated, and arms nothing more', () => {
    const { guard, timer, closes, maxBytes } = guarded();
    guard.opened();
    expect(maxBytes).toEqual([limits.maxUnauthenticatedMessageBytes]);
    expect(guard.maxUnsentBytes).toBe(limits.maxUnauthenticatedUnsentBytes);
    guard.progress('hello');
    guard.progress('authenticated');
    expect(maxBytes.at(-1)).toBe(limits.maxMessageBytes);
    expect(guard.maxUnsentBytes).toBe(limits.maxUnsentBytes);
    expect(timer.armed()).toBeNull();
    expect(closes).toEqual([]);
  });
});
