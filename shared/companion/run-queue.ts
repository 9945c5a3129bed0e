/**
 * The companion server's runs: every run's record and append-only event log, the FIFO queue (one run at a time
 * on the engine), cancel, each run's lifecycle from `run.queued` to its terminal event, the preview and final
 * frames kept for replays and `frames.get`, and restoring stored logs after a restart.
 */
import { LocalAbortController } from '../engine/cidl/abort';
import { bytesToHex } from '../protocol/auth';
import { MAX_EVENTS_PER_READ } from '../protocol/limits';
import {
  isTerminalRunEvent,
  runEventSchema,
  runStateAfter,
  type PreviewSettings,
  type RunEvent,
  type RunParams,
  type RunState,
} from '../protocol/run';
import { EventLog } from './event-log';
import { describeRecovery } from './event-log-recovery';
import { encodePreviewFrames } from './frames';
import type { ThermalState } from '../protocol/thermal';
import { describe } from './replies';
import {
  DEFAULT_CANCEL_DEADLINE_MS,
  DEFAULT_RUN_LIMITS,
  RunFailure,
  type CompanionServerOptions,
  type EngineJob,
  type EngineRunResult,
  type PreviewImages,
  type RunStore,
  type StoredRunMeta,
} from './server-ports';

/** One run: its metadata, log and state, and what it holds while queued, running or kept. */
export interface RunRecord {
  runId: string;
  clientId: string;
  label?: string;
  log: EventLog<RunEvent>;
  state: RunState;
  params: RunParams | null;
  preview: PreviewSettings | null;
  abort: LocalAbortController | null;
  cancelledBy: string | null;
  interruptReason: 'shutdown' | null;
  result: EngineRunResult | null;
  previews: Map<number, Uint8Array[]>;
  /** Unschedules the cancel deadline of the running run (null: none armed). */
  deadline: (() => void) | null;
}

/** One run as the `runs` reply lists it. */
export interface RunSummary {
  runId: string;
  state: RunState;
  headSeq: number;
  clientId: string;
  label?: string;
}

/** The runs of one server and the queue that feeds them to the engine runner. */
export class RunQueue {
  private readonly runs = new Map<string, RunRecord>();
  private readonly queue: RunRecord[] = [];
  private active: RunRecord | null = null;
  private activeDone: Promise<void> | null = null;
  private readonly framesKept: string[] = [];
  private stopped = false;

  constructor(
    private readonly options: CompanionServerOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** The running run's id (null when the engine is idle). */
  get activeRunId(): string | null {
    return this.active?.runId ?? null;
  }

  /** Run ids waiting, in order. */
  get queuedRunIds(): string[] {
    return this.queue.map((r) => r.runId);
  }

  /** Number of runs waiting behind the running one. */
  get queuedCount(): number {
    return this.queue.length;
  }

  get(runId: string): RunRecord | undefined {
    return this.runs.get(runId);
  }

  /** The `runs` reply's list: the newest 10,000 runs, oldest first. */
  summaries(): RunSummary[] {
    return [...this.runs.values()].slice(-10_000).map((r) => ({
      runId: r.runId,
      state: r.state,
      headSeq: r.log.visibleSeq,
      clientId: r.clientId,
      ...(r.label === undefined ? {} : { label: r.label }),
    }));
  }

  /**
   * Records a new run and queues it (`run.queued`); call {@link pump} after answering the client.
   * Returns its id and queue position.
   */
  async enqueue(
    clientId: string,
    params: RunParams,
    preview: PreviewSettings | null,
    label: string | undefined,
  ): Promise<{ runId: string; position: number }> {
    const runId = this.newRunId();
    const meta: StoredRunMeta = { runId, clientId, ...(label === undefined ? {} : { label }) };
    await this.options.runStore?.saveRun(meta);
    const rec: RunRecord = {
      ...meta,
      log: this.newLog(runId),
      state: 'queued',
      params,
      preview,
      abort: null,
      cancelledBy: null,
      interruptReason: null,
      result: null,
      previews: new Map(),
      deadline: null,
    };
    this.runs.set(runId, rec);
    const position = this.queue.length + (this.active === null ? 0 : 1);
    this.append(rec, { type: 'run.queued', atMs: this.now(), position });
    this.queue.push(rec);
    return { runId, position };
  }

  /**
   * Cancels a run that has not ended: a queued one ends now; the running one is aborted, and if its engine has not
   * stopped by the cancel deadline the run ends anyway and the engine is terminated (cancel always wins).
   */
  cancel(rec: RunRecord, byClientId: string | null): void {
    const index = this.queue.indexOf(rec);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.appendTerminal(rec, { type: 'run.cancelled', atMs: this.now(), byClientId });
    } else if (rec === this.active) {
      rec.cancelledBy ??= byClientId;
      rec.abort?.abort(new Error('cancelled'));
      this.armDeadline(rec);
    }
  }

  private armDeadline(rec: RunRecord): void {
    const schedule = this.options.schedule;
    if (schedule === undefined || rec.deadline !== null) return;
    const ms = this.options.cancelDeadlineMs ?? DEFAULT_CANCEL_DEADLINE_MS;
    rec.deadline = schedule(ms, () => void this.deadlineReached(rec, ms));
  }

  /** The engine did not stop in time: end the run now and terminate the engine (the next run gets a fresh one). */
  private async deadlineReached(rec: RunRecord, ms: number): Promise<void> {
    rec.deadline = null;
    if (rec !== this.active || rec.log.sealed) return;
    const runner = this.options.runner;
    this.log(
      `run ${rec.runId}: the engine did not stop within ${ms} ms; the run ends now` +
        (runner.terminate ? ' and the engine is terminated' : ' (the next run waits for the engine)'),
    );
    this.appendTerminal(rec, this.abortedEvent(rec));
    await rec.log.flush().catch((error: unknown) => this.log(`run ${rec.runId}: ${describe(error)}`));
    await runner.terminate?.().catch((error: unknown) => this.log(`engine terminate: ${describe(error)}`));
  }

  /** Queued runs and the running one end with `run.interrupted` (`shutdown`); every log is flushed. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const rec of this.queue.splice(0)) this.appendTerminal(rec, this.interrupted('shutdown'));
    const active = this.active;
    if (active !== null) {
      active.interruptReason = 'shutdown';
      active.abort?.abort(new Error('shutdown'));
      this.armDeadline(active);
      await this.activeDone;
    }
    await Promise.all([...this.runs.values()].map((r) => r.log.flush().catch(() => undefined)));
  }

  /** Starts the next queued run when the engine is idle. */
  pump(): void {
    if (this.active !== null || this.stopped) return;
    const rec = this.queue.shift();
    if (rec === undefined) return;
    this.active = rec;
    this.activeDone = this.execute(rec)
      .catch((error: unknown) => this.log(`run ${rec.runId}: ${describe(error)}`))
      .finally(() => {
        rec.deadline?.();
        rec.deadline = null;
        rec.abort = null;
        rec.params = null;
        this.active = null;
        this.activeDone = null;
        this.pump();
      });
  }

  private async execute(rec: RunRecord): Promise<void> {
    const abort = new LocalAbortController();
    rec.abort = abort;
    this.append(rec, { type: 'run.started', atMs: this.now(), ...(await this.thermalNow()) });
    let settled = false;
    const job: EngineJob = {
      runId: rec.runId,
      params: rec.params!,
      preview: rec.preview,
      signal: abort.signal,
      emit: (event) => {
        if (!settled && !rec.log.sealed) this.append(rec, event as RunEvent);
      },
      emitPreview: (step, images) => {
        if (!settled && !rec.log.sealed) this.appendPreview(rec, step, images);
      },
    };
    let terminal: RunEvent;
    try {
      // Cancelled while the thermal state was read: the engine is never started.
      if (abort.signal.aborted) throw new Error('cancelled before the engine started');
      const result = await this.options.runner.run(job);
      settled = true;
      if (abort.signal.aborted) terminal = this.abortedEvent(rec);
      else {
        rec.result = result;
        this.keepFrames(rec);
        terminal = {
          type: 'run.finished',
          atMs: this.now(),
          frames: Math.max(1, result.frames.length),
          width: result.width,
          height: result.height,
          fps: result.fps,
          stepsRun: result.stepsRun,
          timings: result.timings,
        };
      }
    } catch (error) {
      settled = true;
      if (abort.signal.aborted) terminal = this.abortedEvent(rec);
      else if (error instanceof RunFailure && error.code === 'engine-crashed')
        terminal = { type: 'run.interrupted', atMs: this.now(), reason: 'engine-crashed' };
      else {
        const failure = error instanceof RunFailure ? error : null;
        terminal = {
          type: 'run.failed',
          atMs: this.now(),
          code: failure === null || failure.code === 'engine-crashed' ? 'engine-error' : failure.code,
          message: describe(error).slice(0, 4096),
          ...(failure?.field === undefined ? {} : { field: failure.field.slice(0, 256) }),
        };
      }
    }
    this.appendTerminal(rec, { ...terminal, ...(await this.thermalNow()) } as RunEvent);
    await rec.log.flush().catch((error: unknown) => this.log(`run ${rec.runId}: ${describe(error)}`));
    // Preview frames stay for replays as long as the run's final frames do (keepFrames evicts both).
    if (rec.result === null) rec.previews.clear();
  }

  /** `{ thermal }` read now for a run-level event (nothing without a probe; null when the probe fails). */
  private async thermalNow(): Promise<{ thermal?: ThermalState | null }> {
    const probe = this.options.thermal;
    if (probe === undefined) return {};
    try {
      return { thermal: await probe() };
    } catch (error) {
      this.log(`thermal probe: ${describe(error)}`);
      return { thermal: null };
    }
  }

  private abortedEvent(rec: RunRecord): RunEvent {
    return rec.interruptReason === 'shutdown'
      ? this.interrupted('shutdown')
      : { type: 'run.cancelled', atMs: this.now(), byClientId: rec.cancelledBy };
  }

  private interrupted(reason: 'shutdown' | 'device-restarted'): RunEvent {
    return { type: 'run.interrupted', atMs: this.now(), reason };
  }

  private appendPreview(rec: RunRecord, step: number, images: PreviewImages): void {
    const count = images.frames.length;
    if (count < 1 || count > 1024) return;
    const seq = rec.log.headSeq + 1;
    let encoded: Uint8Array[];
    try {
      encoded = encodePreviewFrames(rec.runId, seq, images);
    } catch (error) {
      this.log(`run ${rec.runId}: preview at step ${step} dropped: ${describe(error)}`);
      return;
    }
    rec.previews.set(seq, encoded);
    const keep = this.options.keepPreviewsPerRun ?? DEFAULT_RUN_LIMITS.keepPreviewsPerRun;
    for (const key of rec.previews.keys()) {
      if (rec.previews.size <= keep) break;
      rec.previews.delete(key);
    }
    this.append(rec, {
      type: 'preview.ready',
      atMs: images.atMs ?? this.now(),
      step,
      frames: count,
      width: images.width,
      height: images.height,
      format: images.format,
    });
  }

  private keepFrames(rec: RunRecord): void {
    this.framesKept.push(rec.runId);
    const keep = this.options.keepFramesOfRuns ?? DEFAULT_RUN_LIMITS.keepFramesOfRuns;
    while (this.framesKept.length > keep) {
      const old = this.runs.get(this.framesKept.shift()!);
      if (old) {
        old.result = null;
        old.previews.clear();
      }
    }
  }

  private append(rec: RunRecord, event: RunEvent): void {
    if (rec.log.sealed) return;
    rec.log.append(event);
    const state = runStateAfter(event);
    if (state !== null) rec.state = state;
  }

  private appendTerminal(rec: RunRecord, event: RunEvent): void {
    this.append(rec, event);
  }

  private newLog(runId: string): EventLog<RunEvent> {
    return new EventLog<RunEvent>(runId, {
      store: this.options.runStore,
      isTerminal: isTerminalRunEvent,
      onError: (error) => this.log(`run ${runId}: event log: ${describe(error)}`),
    });
  }

  /**
   * Restores stored run logs (event-log-recovery.ts: a torn last line is cut, an unreadable entry is kept as
   * `event.lost`, and the log is rewritten; what was dropped and why is logged). A run whose log has no terminal
   * event (the device stopped mid-run) gets `run.interrupted` (`device-restarted`) with the next seq. A run whose
   * log cannot be read or repaired is left out (and logged); the others are restored.
   */
  async restore(): Promise<void> {
    const store = this.options.runStore;
    if (store === undefined) return;
    for (const meta of await store.listRuns()) {
      try {
        await this.restoreRun(store, meta);
      } catch (error) {
        this.log(`run ${meta.runId}: event log not restored: ${describe(error)}`);
      }
    }
  }

  private async restoreRun(store: RunStore, meta: StoredRunMeta): Promise<void> {
    const { log, report } = await EventLog.restore<RunEvent>(
      meta.runId,
      {
        store,
        isTerminal: isTerminalRunEvent,
        onError: (error) => this.log(`run ${meta.runId}: event log: ${describe(error)}`),
      },
      (json) => {
        const r = runEventSchema.safeParse(json);
        return r.success ? r.data : null;
      },
      (_seq, previous) => ({ type: 'event.lost', atMs: previous?.atMs ?? 0 }),
    );
    const repaired = describeRecovery(report);
    if (repaired !== '')
      this.log(`run ${meta.runId}: event log recovered with ${report.entries} entries: ${repaired}`);
    if (log.headSeq === 0) return;
    const rec: RunRecord = {
      ...meta,
      log,
      state: 'queued',
      params: null,
      preview: null,
      abort: null,
      cancelledBy: null,
      interruptReason: null,
      result: null,
      previews: new Map(),
      deadline: null,
    };
    for (let from = 1; from <= log.visibleSeq; from += MAX_EVENTS_PER_READ)
      for (const e of log.read(from, MAX_EVENTS_PER_READ)) rec.state = runStateAfter(e.event) ?? rec.state;
    this.runs.set(meta.runId, rec);
    if (!log.sealed) {
      this.append(rec, this.interrupted('device-restarted'));
      await log.flush().catch((error: unknown) => this.log(`run ${meta.runId}: ${describe(error)}`));
    }
  }

  private newRunId(): string {
    for (;;) {
      const id = `r-${bytesToHex(this.options.random(6))}`;
      if (!this.runs.has(id)) return id;
    }
  }

  private now(): number {
    return this.options.clock.nowMs();
  }
}
