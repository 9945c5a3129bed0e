/**
 * Cancellation without host types: `shared/` compiles with no DOM or Node lib, so `AbortSignal` and
 * `AbortController` are not in scope. A real AbortSignal satisfies {@link AbortSignalLike}; the scheduler hands its
 * loads a {@link LocalAbortController}'s signal (structurally the same shape).
 */

/** The part of a DOM/Node `AbortSignal` the scheduler uses; a real AbortSignal is assignable to it. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The error a cancelled pass rejects with (`name === 'AbortError'`, like the DOM's); `cause` is the signal's reason. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for any error named `AbortError` (ours, a DOMException, or a host's). */
export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/** A minimal AbortController for pure TS: one signal, aborted at most once, listeners called synchronously. */
export class LocalAbortController {
  /** The signal to hand to a load. */
  readonly signal: AbortSignalLike;
  /** Aborts the signal once; later calls do nothing. */
  readonly abort: (reason?: unknown) => void;

  constructor() {
    const listeners = new Set<() => void>();
    let aborted = false;
    let reason: unknown = undefined;
    this.signal = {
      get aborted(): boolean {
        return aborted;
      },
      get reason(): unknown {
        return reason;
      },
      addEventListener(_type, listener): void {
        if (!aborted) listeners.add(listener);
      },
      removeEventListener(_type, listener): void {
        listeners.delete(listener);
      },
    };
    this.abort = (why?: unknown): void => {
      if (aborted) return;
      aborted = true;
      reason = why ?? new AbortError('aborted');
      const toCall = [...listeners];
      listeners.clear();
      for (const listener of toCall) listener();
    };
  }
}
