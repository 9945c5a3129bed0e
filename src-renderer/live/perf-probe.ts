// `window.__odsoraPerf`: when each pushed `run.event` reached the renderer and when the first animation frame
// after the views consumed it ran. `odsora bench studio` and the e2e tests read it to measure event-to-screen
// latency. Times are epoch ms (`performance.timeOrigin + performance.now()`).

/** One event's trip through the renderer. */
export interface PerfSample {
  seq: number;
  receivedAtMs: number;
  paintedAtMs: number;
}

/** What the page exposes as `window.__odsoraPerf`. */
export interface PerfProbe {
  samples(): PerfSample[];
  reset(): void;
}

declare global {
  interface Window {
    __odsoraPerf?: PerfProbe;
  }
}

/** Kept samples; older ones are dropped past this (a long demo must not grow memory without bound). */
const MAX_SAMPLES = 100_000;

/** Epoch milliseconds with sub-millisecond resolution. */
function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Collects samples: `received` when an event arrives, `painted` for all received ones at the next frame. */
export class PerfRecorder implements PerfProbe {
  private done: PerfSample[] = [];
  private waiting: { seq: number; receivedAtMs: number }[] = [];

  /** An event arrived. */
  received(seq: number): void {
    this.waiting.push({ seq, receivedAtMs: epochNowMs() });
  }

  /** Every waiting event has been consumed by the views and a frame has run since. */
  painted(): void {
    if (this.waiting.length === 0) return;
    const at = epochNowMs();
    for (const w of this.waiting) this.done.push({ ...w, paintedAtMs: at });
    this.waiting = [];
    if (this.done.length > MAX_SAMPLES) this.done.splice(0, this.done.length - MAX_SAMPLES);
  }

  /** True while events wait for a paint. */
  get pending(): boolean {
    return this.waiting.length > 0;
  }

  samples(): PerfSample[] {
    return this.done.slice();
  }

  reset(): void {
    this.done = [];
    this.waiting = [];
  }
}

/** The page's recorder, installed on `window.__odsoraPerf` on first use. */
export function perfRecorder(): PerfRecorder {
  const existing = window.__odsoraPerf;
  if (existing instanceof PerfRecorder) return existing;
  const created = new PerfRecorder();
  window.__odsoraPerf = created;
  return created;
}
