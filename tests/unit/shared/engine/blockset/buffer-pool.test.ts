import { describe, expect, it } from 'vitest';
import { BlockBufferPool } from '../../../../../shared/engine/blockset/buffer-pool';

describe('BlockBufferPool', () => {
  it('hands a released buffer of the same size to the next load instead of allocating', () => {
    const pool = new BlockBufferPool();
    const a = pool.acquire(100);
    pool.release(a);
    expect(pool.acquire(100)).toBe(a);
    expect(pool.stats).toMatchObject({ allocations: 1, reuses: 1 });
  });

  it('keeps free buffers only while in use + free + the new buffer fit the cap, reclaiming what it drops', () => {
    let reclaims = 0;
    const pool = new BlockBufferPool(() => reclaims++);
    pool.setCap(250);
    const a = pool.acquire(100);
    const b = pool.acquire(100);
    pool.release(a);
    pool.release(b);
    expect(pool.freeBytes).toBe(200);
    // A 60-byte block does not fit beside both free 100-byte buffers: one is dropped and reclaimed first.
    const c = pool.acquire(60);
    expect(c.byteLength).toBe(60);
    expect(pool.freeBytes).toBe(100);
    expect(pool.inUseBytes + pool.freeBytes).toBeLessThanOrEqual(250);
    expect(reclaims).toBe(1);
    // A 100-byte block reuses the one kept.
    expect(pool.acquire(100).byteLength).toBe(100);
    expect(pool.stats.reuses).toBe(1);
  });

  it('never holds more than its cap when every acquire fits it (the scheduler guarantees that)', () => {
    const pool = new BlockBufferPool(() => undefined);
    const cap = 1000;
    pool.setCap(cap);
    const sizes = [300, 300, 200, 300, 150, 300, 300, 400, 100];
    const held: Uint8Array[] = [];
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 16807) % 2147483647;
      const size = sizes[seed % sizes.length]!;
      while (held.reduce((s, b) => s + b.byteLength, 0) + size > cap) pool.release(held.shift()!);
      held.push(pool.acquire(size));
      expect(pool.inUseBytes + pool.freeBytes).toBeLessThanOrEqual(cap);
    }
  });

  it('trim drops every free buffer; releasing twice or a foreign buffer throws', () => {
    let reclaims = 0;
    const pool = new BlockBufferPool(() => reclaims++);
    const a = pool.acquire(10);
    pool.release(a);
    pool.trim();
    expect(pool.freeBytes).toBe(0);
    expect(reclaims).toBe(1);
    expect(() => pool.release(a)).toThrow(/twice/);
    expect(() => pool.release(new Uint8Array(10))).toThrow(/not from this pool/);
  });
});
