// One run's live state: folds pushed `run.event`s as they arrive, catches up with `runs.events` when opened late or
// after a gap (a reconnect), and tells its views at most once per animation frame.
import type { RunEvent } from '../../shared/protocol/run';
import { MAX_FOLLOWED_RUNS, type StudioApi, type StudioEvent } from '../../shared/protocol/studio-contract';
import type { StudioEventSource } from '../api';
import type { PerfRecorder } from './perf-probe';
import { emptyRunView, foldEvent, type RunView } from '../../shared/report/run-fold';

/** Page size of `runs.events` catch-up calls (the contract's maximum). */
export const CATCH_UP_PAGE = 5000;

/** What a store needs from the page. */
export interface RunStoreDeps {
  api: Pick<StudioApi, 'getRunEvents'>;
  onEvent: StudioEventSource;
  /** Runs `callback` before the next repaint (default `requestAnimationFrame`). */
  scheduleFrame?: (callback: () => void) => void;
  perf?: PerfRecorder | null;
  /**
   * Tells the studio which runs' events to push to this page (`events.follow`): the registry calls it with the
   * runs it holds stores for. Without it the page gets every run's events (and ignores the others').
   */
  follow?: (runIds: string[]) => Promise<unknown>;
}

/** A run's folded view plus change notification, shared by every view of the run. */
export class RunStore {
  readonly view: RunView = emptyRunView();
  /** Last catch-up failure (shown by the views; cleared by the next successful catch-up). */
  error: string | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly early = new Map<number, RunEvent>();
  private notifiedVersion = 0;
  private snapshot = 0;
  private frameRequested = false;
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  private unsubscribe: (() => void) | null = null;
  private readonly scheduleFrame: (callback: () => void) => void;

  constructor(
    readonly runId: string,
    private readonly deps: RunStoreDeps,
  ) {
    this.scheduleFrame = deps.scheduleFrame ?? ((cb) => void requestAnimationFrame(cb));
  }

  /** Starts following pushed events and reads what is already stored (the promise settles when it has). */
  start(): Promise<void> {
    if (this.unsubscribe !== null) return this.catchingUp ?? Promise.resolve();
    this.unsubscribe = this.deps.onEvent((event) => this.onPushed(event));
    return this.catchUp();
  }

  /** Stops following pushed events. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Calls `listener` after changes, once per animation frame at most; returns the unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Counts notifications: a stable snapshot for `useSyncExternalStore` (the view itself is mutated in place). */
  getVersion = (): number => this.snapshot;

  /** Folds one event (pushed or fetched); events ahead of a gap wait until the gap is filled. */
  apply(seq: number, event: RunEvent): void {
    const before = this.view.version;
    if (seq > this.view.lastSeq + 1) {
      this.early.set(seq, event);
      void this.catchUp();
      return;
    }
    foldEvent(this.view, seq, event);
    this.drainEarly();
    if (this.view.version !== before) this.requestFrame();
  }

  /** Reads stored events after the last folded seq, page by page, until the stored log is folded. */
  catchUp(): Promise<void> {
    if (this.catchingUp !== null) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    const run = async (): Promise<void> => {
      do {
        this.catchUpAgain = false;
        for (;;) {
          const page = await this.deps.api.getRunEvents({
            runId: this.runId,
            afterSeq: this.view.lastSeq,
            limit: CATCH_UP_PAGE,
          });
          const before = this.view.version;
          for (const { seq, event } of page.events) foldEvent(this.view, seq, event);
          this.drainEarly();
          if (this.view.version !== before) this.requestFrame();
          if (page.events.length === 0 || this.view.lastSeq >= page.lastSeq) break;
        }
      } while (this.catchUpAgain);
      this.error = null;
    };
    this.catchingUp = run()
      .catch((err: unknown) => {
        this.error = err instanceof Error ? err.message : String(err);
        this.requestFrame(true);
      })
      .finally(() => {
        this.catchingUp = null;
      });
    return this.catchingUp;
  }

  private onPushed(event: StudioEvent): void {
    if (event.type !== 'run.event' || event.runId !== this.runId) return;
    this.deps.perf?.received(event.seq);
    this.apply(event.seq, event.event);
  }

  private drainEarly(): void {
    if (this.early.size === 0) return;
    for (const [seq] of this.early) if (seq <= this.view.lastSeq) this.early.delete(seq);
    let next = this.early.get(this.view.lastSeq + 1);
    while (next !== undefined) {
      this.early.delete(this.view.lastSeq + 1);
      foldEvent(this.view, this.view.lastSeq + 1, next);
      next = this.early.get(this.view.lastSeq + 1);
    }
  }

  private requestFrame(force = false): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    this.scheduleFrame(() => {
      this.frameRequested = false;
      if (!force && this.view.version === this.notifiedVersion) return;
      this.notifiedVersion = this.view.version;
      this.snapshot++;
      for (const l of this.listeners) {
        try {
          l();
        } catch {
          // one broken view must not stop the others
        }
      }
      const perf = this.deps.perf;
      if (perf?.pending) this.scheduleFrame(() => perf.painted());
    });
  }
}

/**
 * Shares one store per run between views; a store stops when its last view lets go. The studio pushes this page
 * the events of the runs it holds stores for, and no others (`deps.follow`): a sweep's runs stream past a page that
 * shows one run without costing it anything.
 */
export class RunStoreRegistry {
  private readonly stores = new Map<string, { store: RunStore; users: number }>();

  constructor(private readonly deps: RunStoreDeps) {
    // A connection that never says what it follows is pushed every run's events (studio contract 5), so a page
    // that shows no run (Sweeps, History) would parse and drop a whole sweep's stream: say "none yet" at once.
    void this.follow();
  }

  /** The run's store, started; call the returned function when done with it. */
  acquire(runId: string): { store: RunStore; release: () => void } {
    let entry = this.stores.get(runId);
    if (entry === undefined) {
      const store = new RunStore(runId, this.deps);
      entry = { store, users: 0 };
      this.stores.set(runId, entry);
      void store.start();
      // Events pushed before the studio heard of this run were not sent: read them once it has.
      void this.follow().then(() => store.catchUp());
    }
    entry.users++;
    const held = entry;
    let released = false;
    return {
      store: held.store,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users === 0) {
          held.store.stop();
          this.stores.delete(runId);
          void this.follow();
        }
      },
    };
  }

  /** After a reconnect: the new connection is told what to follow, then every open run reads what it missed. */
  catchUpAll(): void {
    void this.follow().then(() => {
      for (const { store } of this.stores.values()) void store.catchUp();
    });
  }

  /** Tells the studio the runs held now (the newest {@link MAX_FOLLOWED_RUNS}); a failure only costs catch-ups. */
  private follow(): Promise<void> {
    if (this.deps.follow === undefined) return Promise.resolve();
    return this.deps
      .follow([...this.stores.keys()].slice(-MAX_FOLLOWED_RUNS))
      .then(() => undefined)
      .catch(() => undefined);
  }
}
