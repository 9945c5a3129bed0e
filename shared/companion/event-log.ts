/**
 * The append-only event log of one run. Sequence numbers are gapless from 1. With a store, an event becomes
 * visible (to `read` and to subscribers) only once the store has it: nothing a client has seen can be lost by a
 * device crash, so a restarted device never re-uses a seq a client already holds.
 */

/** One log entry. */
export interface LogEntry<E> {
  seq: number;
  event: E;
}

/** Persistence port: one text line per entry (no newlines inside a line). Hosts keep these on disk. */
export interface EventLogStore {
  /** Appends lines to the run's log, in order; resolves once they are durable. */
  appendLines(runId: string, lines: readonly string[]): Promise<void>;
  /** Every line of the run's log, in order ([] when it has none). A torn last line may be present. */
  readAll(runId: string): Promise<string[]>;
}

/** Why a log operation was refused. */
export type EventLogErrorCode = 'sealed' | 'bad-seq' | 'seq-ahead' | 'persist-failed';

/** A typed event-log error. */
export class EventLogError extends Error {
  override readonly name = 'EventLogError';
  constructor(
    readonly code: EventLogErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A live subscription: replayed entries, then each new one, in seq order, each once. */
export interface Subscription {
  /** The first seq this subscription delivers. */
  readonly fromSeq: number;
  /** The last seq delivered so far (fromSeq - 1 before the first). */
  readonly lastDeliveredSeq: number;
  /** Stops delivery; safe to call twice. */
  close(): void;
}

/** Options of a log. */
export interface EventLogOptions<E> {
  /** Where entries persist; without one, the log is in memory and appends are visible at once. */
  store?: EventLogStore;
  /** An event after which the log is sealed (the run's terminal event). */
  isTerminal?: (event: E) => boolean;
  /** Called when a subscriber's listener throws (that subscriber is closed) or the store fails. */
  onError?: (error: unknown) => void;
}

interface Subscriber<E> {
  listener: (entry: LogEntry<E>) => void;
  next: number;
  closed: boolean;
}

/** What `restore` found in a stored log. */
export interface RestoreReport {
  /** Entries restored. */
  entries: number;
  /** Lines that did not parse (a torn write) or repeated a seq already restored (a retried batch). */
  skippedLines: number;
  /** True when a seq gap stopped the restore early (entries after it were dropped). */
  gap: boolean;
}

/** The append-only log of one run. */
export class EventLog<E> {
  private readonly entries: LogEntry<E>[] = [];
  private readonly subscribers = new Set<Subscriber<E>>();
  private visible = 0;
  private persisted = 0;
  private writing: Promise<void> | null = null;
  private persistError: unknown = null;
  private sealedAt = 0;

  constructor(
    readonly runId: string,
    private readonly options: EventLogOptions<E> = {},
  ) {}

  /**
   * Rebuilds a log from its store (device restart). Entries must carry seq 1, 2, 3...; a torn or repeated line is
   * skipped, a gap ends the restore. `parseEvent` validates each event (return null to skip the line).
   */
  static async restore<E>(
    runId: string,
    options: EventLogOptions<E> & { store: EventLogStore },
    parseEvent: (json: unknown) => E | null,
  ): Promise<{ log: EventLog<E>; report: RestoreReport }> {
    const log = new EventLog<E>(runId, options);
    const report: RestoreReport = { entries: 0, skippedLines: 0, gap: false };
    for (const line of await options.store.readAll(runId)) {
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        report.skippedLines += 1;
        continue;
      }
      const seq = (raw as { seq?: unknown } | null)?.seq;
      const event = typeof seq === 'number' ? parseEvent((raw as { event?: unknown }).event) : null;
      if (typeof seq !== 'number' || event === null || seq <= log.entries.length) {
        report.skippedLines += 1;
        continue;
      }
      if (seq !== log.entries.length + 1) {
        report.gap = true;
        break;
      }
      log.entries.push({ seq, event });
      if (log.sealedAt === 0 && options.isTerminal?.(event)) log.sealedAt = seq;
      if (log.sealedAt !== 0) break;
    }
    log.visible = log.persisted = log.entries.length;
    report.entries = log.entries.length;
    return { log, report };
  }

  /** The seq of the last appended entry (0 when empty), visible or not yet. */
  get headSeq(): number {
    return this.entries.length;
  }

  /** The seq of the last entry readers and subscribers can see. */
  get visibleSeq(): number {
    return this.visible;
  }

  /** True once the terminal event is appended: nothing more may be. */
  get sealed(): boolean {
    return this.sealedAt !== 0;
  }

  /** Appends an event and returns its seq. Throws EventLogError('sealed') after the terminal event. */
  append(event: E): number {
    if (this.sealedAt !== 0)
      throw new EventLogError('sealed', `run ${this.runId}: the log ended at seq ${this.sealedAt}`);
    const seq = this.entries.length + 1;
    this.entries.push({ seq, event });
    if (this.options.isTerminal?.(event)) this.sealedAt = seq;
    if (this.options.store === undefined) {
      this.persisted = seq;
      this.publish(seq);
    } else this.startWriting();
    return seq;
  }

  /** Resolves once every appended entry is persisted and visible; rejects with the store's error. */
  async flush(): Promise<void> {
    if (this.persisted < this.entries.length && this.writing === null) this.startWriting();
    while (this.writing !== null) await this.writing;
    if (this.persisted < this.entries.length)
      throw new EventLogError('persist-failed', `run ${this.runId}: ${describe(this.persistError)}`);
  }

  /** Up to `limit` visible entries from `fromSeq` on (fromSeq ≥ 1). */
  read(fromSeq: number, limit = Number.MAX_SAFE_INTEGER): LogEntry<E>[] {
    this.checkFrom(fromSeq);
    if (!Number.isInteger(limit) || limit < 0)
      throw new EventLogError('bad-seq', `limit must be ≥ 0, got ${limit}`);
    return this.entries.slice(fromSeq - 1, Math.min(this.visible, fromSeq - 1 + limit));
  }

  /**
   * Delivers visible entries from `fromSeq` on (replay, synchronously, before this returns), then each new entry as
   * it becomes visible. `fromSeq` may be at most visibleSeq + 1 (a seq the device never showed is `seq-ahead`).
   */
  subscribe(fromSeq: number, listener: (entry: LogEntry<E>) => void): Subscription {
    this.checkFrom(fromSeq);
    const sub: Subscriber<E> = { listener, next: fromSeq, closed: false };
    this.subscribers.add(sub);
    this.deliver(sub);
    const subscribers = this.subscribers;
    return {
      fromSeq,
      get lastDeliveredSeq() {
        return sub.next - 1;
      },
      close() {
        sub.closed = true;
        subscribers.delete(sub);
      },
    };
  }

  /** Number of open subscriptions. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private checkFrom(fromSeq: number): void {
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1)
      throw new EventLogError('bad-seq', `fromSeq must be an integer ≥ 1, got ${fromSeq}`);
    if (fromSeq > this.visible + 1)
      throw new EventLogError(
        'seq-ahead',
        `run ${this.runId}: fromSeq ${fromSeq} is past the log's last event (${this.visible})`,
      );
  }

  private startWriting(): void {
    if (this.writing !== null) return;
    this.writing = this.drain().finally(() => {
      this.writing = null;
      // An append that came after the write loop ended but before this ran found the writer busy: write it now
      // (after a failed write, the next append or flush retries instead).
      if (this.persistError === null && this.persisted < this.entries.length) this.startWriting();
    });
  }

  private async drain(): Promise<void> {
    const store = this.options.store;
    if (store === undefined) return;
    while (this.persisted < this.entries.length) {
      const upTo = this.entries.length;
      const lines = this.entries
        .slice(this.persisted, upTo)
        .map((e) => JSON.stringify({ seq: e.seq, event: e.event }));
      try {
        await store.appendLines(this.runId, lines);
      } catch (error) {
        // Stop here; the next append or flush retries the unwritten tail (restore skips repeated seqs).
        this.persistError = error;
        this.options.onError?.(error);
        return;
      }
      this.persisted = upTo;
      this.persistError = null;
      this.publish(upTo);
    }
  }

  private publish(upTo: number): void {
    this.visible = Math.max(this.visible, upTo);
    for (const sub of [...this.subscribers]) this.deliver(sub);
  }

  private deliver(sub: Subscriber<E>): void {
    while (!sub.closed && sub.next <= this.visible) {
      const entry = this.entries[sub.next - 1];
      if (entry === undefined) return;
      sub.next += 1;
      try {
        sub.listener(entry);
      } catch (error) {
        sub.closed = true;
        this.subscribers.delete(sub);
        this.options.onError?.(error);
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
