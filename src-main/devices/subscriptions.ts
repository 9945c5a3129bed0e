/**
 * Run subscriptions that survive reconnects: each one resumes from `lastSeq + 1` on every (re)connection, and
 * events are deduplicated by seq (no loss, no duplicates), as are the preview images that follow them.
 */
import type { BinaryFrame } from '../../shared/protocol/binary-frame';
import type { ClientMessage, DeviceMessage, DeviceMessageOf } from '../../shared/protocol/messages';
import { isTerminalRunEvent, runStateAfter, type RunEvent, type RunState } from '../../shared/protocol/run';
import { CompanionError } from './client-errors';

/** A run event with its seq. */
export interface SeqEvent {
  runId: string;
  seq: number;
  event: RunEvent;
}

/** A preview image that followed a `preview.ready` event. */
export interface PreviewFrame {
  runId: string;
  /** The `preview.ready` event's seq. */
  seq: number;
  index: number;
  frame: BinaryFrame;
}

/** Where a subscription stands. */
export type SubscriptionStatus = 'subscribing' | 'live' | 'disconnected' | 'ended' | 'closed';

/** Options of {@link CompanionClient.subscribe}. */
export interface SubscribeOptions {
  onPreview?: (preview: PreviewFrame) => void;
  /** The subscription's status changed (`disconnected`: show the run as interrupted until it resumes). */
  onStatus?: (status: SubscriptionStatus) => void;
}

/** A subscription that survives reconnects: events arrive exactly once each, in seq order. */
export interface RunSubscription {
  readonly runId: string;
  /** The last seq delivered (fromSeq - 1 before the first). */
  readonly lastSeq: number;
  /** The run's state as far as the delivered events tell. */
  readonly state: RunState | null;
  readonly status: SubscriptionStatus;
  /** How many times the subscription was (re)opened on a connection. */
  readonly subscribeCount: number;
  /** Duplicates dropped (seq already delivered). */
  readonly duplicatesDropped: number;
  /** Resolves with the terminal event once it is delivered; rejects if the subscription is closed first. */
  readonly done: Promise<SeqEvent>;
  /** Stops delivery (and tells the device when connected). */
  close(): Promise<void>;
}

/** @internal */
export class Sub implements RunSubscription {
  lastSeq: number;
  state: RunState | null = null;
  status: SubscriptionStatus = 'subscribing';
  subscribeCount = 0;
  duplicatesDropped = 0;
  readonly done: Promise<SeqEvent>;
  resolveDone!: (e: SeqEvent) => void;
  rejectDone!: (e: Error) => void;
  /** Seq of the last preview.ready delivered (binary previews with this seq are accepted). */
  previewSeq = 0;
  /** Previews delivered (seq * 4096 + index), so a replay never delivers one twice. */
  readonly previewsSeen = new Set<number>();
  /** Set while a subscribe request on the current connection is outstanding or active. */
  active = false;

  constructor(
    readonly registry: Subscriptions,
    readonly runId: string,
    fromSeq: number,
    readonly onEvent: (e: SeqEvent) => void,
    readonly opts: SubscribeOptions,
  ) {
    this.lastSeq = fromSeq - 1;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  setStatus(status: SubscriptionStatus): void {
    if (this.status === status || this.status === 'closed') return;
    this.status = status;
    this.opts.onStatus?.(status);
  }

  close(): Promise<void> {
    return this.registry.close(this);
  }
}

/** What the subscriptions need of their client. */
export interface SubscriptionHost {
  request(message: ClientMessage, expect: DeviceMessage['type']): Promise<DeviceMessage>;
  violation(reason: string): void;
  /** True while the session is authenticated. */
  isAuthenticated(): boolean;
}

/** The subscriptions of one client, by run id. */
export class Subscriptions {
  private readonly subs = new Map<string, Set<Sub>>();

  constructor(private readonly host: SubscriptionHost) {}

  /** How many runs have subscriptions. */
  get size(): number {
    return this.subs.size;
  }

  async subscribe(
    runId: string,
    fromSeq: number,
    onEvent: (e: SeqEvent) => void,
    opts: SubscribeOptions,
  ): Promise<RunSubscription> {
    if (this.subs.get(runId)?.size)
      throw new CompanionError(
        'already-subscribed',
        `run ${runId} already has a subscription on this client (use a second client to mirror)`,
      );
    const sub = new Sub(this, runId, fromSeq, onEvent, opts);
    let set = this.subs.get(runId);
    if (!set) this.subs.set(runId, (set = new Set()));
    set.add(sub);
    try {
      await this.open(sub);
    } catch (e) {
      set.delete(sub);
      if (set.size === 0) this.subs.delete(runId);
      throw e;
    }
    return sub;
  }

  private async open(sub: Sub): Promise<void> {
    sub.setStatus('subscribing');
    sub.active = true;
    sub.subscribeCount++;
    try {
      const m = (await this.host.request(
        { type: 'run.subscribe', runId: sub.runId, fromSeq: sub.lastSeq + 1 },
        'run.subscribed',
      )) as DeviceMessageOf<'run.subscribed'>;
      if (sub.status === 'subscribing')
        sub.setStatus(sub.state !== null && isTerminal(sub.state) ? 'ended' : 'live');
      if (sub.state === null) sub.state = m.state;
    } catch (e) {
      sub.active = false;
      throw e;
    }
  }

  /** Reopens a subscription on the same connection from `lastSeq + 1` (after a gap). */
  private async resync(sub: Sub): Promise<void> {
    try {
      await this.host.request({ type: 'run.unsubscribe', runId: sub.runId }, 'ack');
      if (sub.status !== 'closed') await this.open(sub);
    } catch {
      /* a disconnect resubscribes anyway */
    }
  }

  async close(sub: Sub): Promise<void> {
    const set = this.subs.get(sub.runId);
    set?.delete(sub);
    if (set && set.size === 0) this.subs.delete(sub.runId);
    sub.setStatus('closed');
    sub.rejectDone(new CompanionError('connection-closed', 'subscription closed'));
    const others = this.subs.get(sub.runId);
    if ((!others || others.size === 0) && this.host.isAuthenticated()) {
      await this.host.request({ type: 'run.unsubscribe', runId: sub.runId }, 'ack').catch(() => undefined);
    }
  }

  /** The client closed: every subscription ends. */
  closeAll(): void {
    for (const set of this.subs.values())
      for (const sub of set) {
        sub.setStatus('closed');
        sub.rejectDone(new CompanionError('connection-closed', 'client closed'));
      }
    this.subs.clear();
  }

  /** The connection dropped: subscriptions wait for the next one. */
  disconnected(): void {
    for (const set of this.subs.values())
      for (const sub of set) {
        sub.active = false;
        if (sub.status !== 'ended') sub.setStatus('disconnected');
      }
  }

  /** Reopens every subscription that is not active on this connection, from its `lastSeq + 1`. */
  async resubscribeAll(): Promise<void> {
    const subs = [...this.subs.values()].flatMap((s) => [...s]);
    await Promise.all(
      subs
        .filter((s) => !s.active && s.status !== 'ended' && s.status !== 'closed')
        .map((s) => this.open(s).catch(() => undefined)),
    );
  }

  onRunEvent(m: DeviceMessageOf<'run.event'>): void {
    const set = this.subs.get(m.runId);
    if (!set || set.size === 0) return; // a late event of an unsubscribed run
    for (const sub of [...set]) {
      if (!sub.active) continue;
      if (m.seq <= sub.lastSeq) {
        sub.duplicatesDropped++;
        continue;
      }
      if (m.seq !== sub.lastSeq + 1) {
        // A gap breaks the log's contract; resubscribe from what we hold rather than deliver out of order.
        this.host.violation(`run ${m.runId}: got seq ${m.seq} after ${sub.lastSeq}`);
        sub.active = false;
        void this.resync(sub);
        continue;
      }
      sub.lastSeq = m.seq;
      const state = runStateAfter(m.event);
      if (state !== null) sub.state = state;
      if (m.event.type === 'preview.ready') sub.previewSeq = m.seq;
      const e: SeqEvent = { runId: m.runId, seq: m.seq, event: m.event };
      try {
        sub.onEvent(e);
      } catch (error) {
        this.host.violation(`subscriber threw: ${String(error)}`);
      }
      if (isTerminalRunEvent(m.event)) {
        // The device ends the subscription after the terminal event; so does the client.
        sub.active = false;
        set.delete(sub);
        if (set.size === 0) this.subs.delete(m.runId);
        sub.setStatus('ended');
        sub.resolveDone(e);
      }
    }
  }

  /** A preview image arrived (binary frame of purpose `preview`). */
  onPreview(frame: BinaryFrame): void {
    const set = this.subs.get(frame.streamId);
    if (!set) return;
    // Copy: the payload is a view into ws's receive buffer.
    const kept: BinaryFrame = { ...frame, payload: new Uint8Array(frame.payload) };
    for (const sub of set) {
      if (!sub.active || frame.seq > sub.lastSeq) continue;
      const key = frame.seq * 4096 + frame.index;
      if (sub.previewsSeen.has(key)) continue;
      if (sub.previewsSeen.size > 10_000) sub.previewsSeen.clear();
      sub.previewsSeen.add(key);
      sub.opts.onPreview?.({ runId: frame.streamId, seq: frame.seq, index: frame.index, frame: kept });
    }
  }
}

function isTerminal(state: RunState): boolean {
  return state === 'finished' || state === 'failed' || state === 'cancelled' || state === 'interrupted';
}
