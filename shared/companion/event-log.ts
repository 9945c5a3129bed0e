/**
 * The append-only event log of one run. Sequence numbers are gapless from 1. With a store, an event becomes
 * visible (to `read` and to subscribers) only once the store has it: nothing a client has seen can be lost by a
 * device crash, so a restarted device never re-uses a seq a client already holds. Reading a stored log back after
 * a crash (torn last line, damaged lines) is event-log-recovery.ts.
 */
import { entryLine, needsRewrite, recoverLog, type RecoveryReport } from './event-log-recovery';

export type { RecoveryReport } from './event-log-recovery';

/** One log entry. */
export interface LogEntry<E> {
  seq: number;
  event: E;
}

/** Persistence port: one text line per entry (no newlines inside a line). Hosts keep these on disk. */
export interface EventLogStore {
  /** Appends lines to the run's log, each followed by `\n`, in order; resolves once they are durable. */
  appendLines(runId: string, lines: readonly string[]): Promise<void>;
  /** The run's whole stored log ('' when it has none); after a crash it may end in a torn line (no `\n`). */
  readText(runId: string): Promise<string>;
  /** Replaces the run's log with `lines` (each followed by `\n`) atomically and durably (recovery's repair). */
  replaceLines(runId: string, lines: readonly string[]): Promise<void>;
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
   * Rebuilds a log from its store (device restart): see event-log-recovery.ts. When recovery cut or replaced
   * anything, the stored log is rewritten to the recovered entries before this resolves (a failed rewrite
   * rejects: appending after a torn line would glue the next entry onto it). `parseEvent` validates each event
   * (null: unreadable); `lostEntry` makes the stand-in kept at the seq of an unreadable entry.
   */
  static async restore<E>(
    runId: string,
    options: EventLogOptions<E> & { store: EventLogStore },
    parseEvent: (json: unknown) => E | null,
    lostEntry: (seq: number, previous: E | null) => E,
  ): Promise<{ log: EventLog<E>; report: RecoveryReport }> {
    const isTerminal = options.isTerminal ?? (() => false);
    const text = await options.store.readText(runId);
    const { entries, report } = recoverLog(text, parseEvent, isTerminal, lostEntry);
    if (needsRewrite(report)) await options.store.replaceLines(runId, entries.map(entryLine));
    const log = new EventLog<E>(runId, options);
    for (const entry of entries) log.entries.push(entry);
    const last = entries.at(-1);
    if (last !== undefined && isTerminal(last.event)) log.sealedAt = last.seq;
    log.visible = log.persisted = entries.length;
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
      const lines = this.entries.slice(this.persisted, upTo).map(entryLine);
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
