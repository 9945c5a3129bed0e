/**
 * A tiny external store for the screens (React's useSyncExternalStore reads it): immutable snapshots, replaced
 * whole on every change.
 */

/** A store of immutable snapshots. */
export class SnapshotStore<T> {
  private listeners = new Set<() => void>();

  constructor(private snapshot: T) {}

  /** The current snapshot (the same object until something changes). */
  get = (): T => this.snapshot;

  /** Listens for changes; returns the unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Replaces part of the snapshot and tells every listener. */
  update(patch: Partial<T> | ((s: T) => Partial<T>)): void {
    const p = typeof patch === 'function' ? patch(this.snapshot) : patch;
    this.snapshot = { ...this.snapshot, ...p };
    for (const l of [...this.listeners]) l();
  }
}
