/**
 * Block buffers that are reused instead of garbage-collected, so a process holds the block bytes CI-DL accounts
 * for — not several more.
 *
 * A released JS buffer is only freed when the garbage collector gets to it: measured on Node 20 (170 MiB buffers,
 * two alive at a time), the process peaked at five buffers. Under a phone's per-app limit that lag is the
 * difference between fitting and being killed. So block loads read into pooled buffers: a release puts the
 * buffer back, and the next load of the same size reuses it (a stage's pairs, T5 layers and most VAE blocks have
 * equal sizes; reuse also skips the page faults of fresh memory). Free buffers are kept only while in-use + free +
 * the new buffer fit the pool's cap (set per stage to the plan's predicted peak): a load that needs a new buffer
 * first drops free ones until it fits and asks the host to reclaim them (Node: a forced GC) before allocating. So
 * the bytes the process holds for blocks never exceed the cap. `trim()` at the end of a stage gives it all back.
 */

/** Host hook that returns the memory of dropped buffers to the OS now (Node: a forced GC); optional. */
export type ReclaimMemory = () => void;

/** Reuses block buffers by exact size (see the module comment). */
export class BlockBufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private readonly inUse = new Set<Uint8Array>();
  private freeTotal = 0;
  private inUseTotal = 0;
  /** Buffers dropped since the last reclaim (their memory may still be held until then). */
  private dropped = false;
  private counters = { allocations: 0, reuses: 0, reclaims: 0 };
  private cap = Number.POSITIVE_INFINITY;

  /** `reclaim` is called before a new allocation when buffers were dropped since the last call. */
  constructor(private readonly reclaim?: ReclaimMemory) {}

  /** The most bytes (in use + free) the pool may hold; null: no cap. Lowering it drops free buffers now. */
  setCap(bytes: number | null): void {
    this.cap = bytes ?? Number.POSITIVE_INFINITY;
    this.makeRoom(0);
    if (this.dropped) this.collect();
  }

  /** A buffer of exactly `bytes` (its contents are whatever was there): a free one, else a new one. */
  acquire(bytes: number): Uint8Array {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`block buffer: invalid size ${bytes}`);
    const list = this.free.get(bytes);
    const reused = list?.pop();
    if (reused !== undefined) {
      if (list?.length === 0) this.free.delete(bytes);
      this.freeTotal -= bytes;
      this.counters.reuses++;
      return this.take(reused);
    }
    this.makeRoom(bytes);
    if (this.dropped) this.collect();
    this.counters.allocations++;
    return this.take(new Uint8Array(bytes));
  }

  /** Gives a buffer from `acquire` back for reuse; releasing it twice, or a foreign buffer, throws. */
  release(buffer: Uint8Array): void {
    if (!this.inUse.delete(buffer)) throw new Error('block buffer released twice, or not from this pool');
    this.inUseTotal -= buffer.byteLength;
    const list = this.free.get(buffer.byteLength);
    if (list) list.push(buffer);
    else this.free.set(buffer.byteLength, [buffer]);
    this.freeTotal += buffer.byteLength;
  }

  /** Drops every free buffer and reclaims their memory (end of a stage or a run). */
  trim(): void {
    if (this.freeTotal > 0) this.dropFree();
    if (this.dropped) this.collect();
  }

  /** Bytes of buffers handed out and not yet released. */
  get inUseBytes(): number {
    return this.inUseTotal;
  }

  /** Bytes of released buffers kept for reuse. */
  get freeBytes(): number {
    return this.freeTotal;
  }

  /** Allocations, reuses and reclaims so far. */
  get stats(): { readonly allocations: number; readonly reuses: number; readonly reclaims: number } {
    return { ...this.counters };
  }

  private take(buffer: Uint8Array): Uint8Array {
    this.inUse.add(buffer);
    this.inUseTotal += buffer.byteLength;
    return buffer;
  }

  private dropFree(): void {
    this.free.clear();
    this.freeTotal = 0;
    this.dropped = true;
  }

  /** Drops free buffers (oldest size first) until in use + free + `bytes` fit the cap. */
  private makeRoom(bytes: number): void {
    for (const [size, list] of this.free) {
      if (this.inUseTotal + this.freeTotal + bytes <= this.cap) return;
      while (list.length > 0 && this.inUseTotal + this.freeTotal + bytes > this.cap) {
        list.pop();
        this.freeTotal -= size;
        this.dropped = true;
      }
      if (list.length === 0) this.free.delete(size);
    }
  }

  private collect(): void {
    this.dropped = false;
    if (this.reclaim === undefined) return;
    this.counters.reclaims++;
    this.reclaim();
  }
}
