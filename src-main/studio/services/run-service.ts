/**
 * Runs: starts a run on a paired device, follows it (subscription from seq 1, resumed by the client after a
 * drop), appends every event to `runs/<id>/events.jsonl` as it arrives before telling the UI, and keeps a versioned
 * `run.json` up to date. A run folder left without its terminal event by a studio that stopped (quit, crash) is
 * marked interrupted (`studio-restarted`) when the service opens; one whose device connection was closed for good
 * is marked `device-lost`. Nothing is deleted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreviewSettings, RunParams } from '../../../shared/protocol/run';
import { isTerminalRunEvent, runStateAfter } from '../../../shared/protocol/run';
import type { RunSummary, StudioEvent } from '../../../shared/protocol/studio-contract';
import type { RunSubscription, SeqEvent } from '../../devices/companion-client';
import type { DeviceHub } from './device-hub';
import { StudioServiceError } from './errors';
import {
  EventAppender,
  RUN_FOLDER_FORMAT,
  RUN_FOLDER_VERSION,
  readRunFile,
  writeRunFile,
  type RunFile,
} from './run-folder';

/** Options of {@link RunService.open}. */
export interface RunServiceOptions {
  /** The studio's data directory; runs live in `<dataDir>/runs`. */
  dataDir: string;
  hub: Pick<DeviceHub, 'pairedClient'>;
  /** Pushed updates (run events after they are on disk, summaries). */
  emit?: (event: StudioEvent) => void;
  log?: (line: string) => void;
}

interface Active {
  file: RunFile;
  appender: EventAppender;
  sub: RunSubscription | null;
  stream: RunSummary['stream'];
  /** Serialises run.json rewrites. */
  saving: Promise<void>;
  ended: Promise<void>;
  markEnded: () => void;
}

/** Starts, follows, cancels and lists runs; one folder per run. */
export class RunService {
  private readonly active = new Map<string, Active>();
  private readonly known = new Map<string, RunFile>();
  private closed = false;

  private constructor(private readonly opts: RunServiceOptions) {}

  /** The folder that holds every run. */
  get runsDir(): string {
    return join(this.opts.dataDir, 'runs');
  }

  /** Opens the run folders, marking runs that a previous studio left unfinished as interrupted. */
  static async open(opts: RunServiceOptions): Promise<RunService> {
    const service = new RunService(opts);
    await mkdir(service.runsDir, { recursive: true });
    for (const name of await readdir(service.runsDir)) {
      const dir = join(service.runsDir, name);
      const file = await readRunFile(dir);
      if (!file || file.runId !== name) continue;
      if (file.endedAtEpochMs === null && file.interruption === null) {
        file.interruption = { reason: 'studio-restarted', atEpochMs: Date.now() };
        file.state = 'interrupted';
        await writeRunFile(dir, file);
      }
      service.known.set(file.runId, file);
    }
    return service;
  }

  /** Every run, newest first. */
  list(): RunSummary[] {
    return [...this.known.values()]
      .sort((a, b) => b.createdAtEpochMs - a.createdAtEpochMs)
      .map((f) => this.summary(f));
  }

  /** One run's summary, or a `not-found` error. */
  get(runId: string): RunSummary {
    const file = this.known.get(runId);
    if (!file) throw new StudioServiceError('not-found', `no run ${runId}`);
    return this.summary(file);
  }

  /** The run's folder. */
  runDir(runId: string): string {
    if (!this.known.has(runId)) throw new StudioServiceError('not-found', `no run ${runId}`);
    return join(this.runsDir, runId);
  }

  /** Starts `params` on a paired device and follows it; resolves once the device accepted the run. */
  async start(
    deviceId: string,
    params: RunParams,
    opts: { preview?: PreviewSettings | null; label?: string } = {},
  ): Promise<RunSummary> {
    if (this.closed) throw new StudioServiceError('unavailable', 'the studio is shutting down');
    const { client, device } = this.opts.hub.pairedClient(deviceId);
    const accepted = await client.startRun(params, {
      preview: opts.preview ?? null,
      ...(opts.label !== undefined ? { label: opts.label } : {}),
    });
    const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(4).toString('hex')}`;
    const dir = join(this.runsDir, runId);
    await mkdir(dir, { recursive: true });
    const file: RunFile = {
      format: RUN_FOLDER_FORMAT,
      version: RUN_FOLDER_VERSION,
      runId,
      deviceRunId: accepted.runId,
      device: {
        id: device.id,
        deviceId: device.deviceId,
        name: device.name,
        model: device.model,
        role: device.role,
        simulated: device.simulated,
        engineVersion: device.engineVersion,
      },
      params,
      preview: opts.preview ?? null,
      label: opts.label ?? null,
      createdAtEpochMs: Date.now(),
      state: 'queued',
      lastSeq: 0,
      endedAtEpochMs: null,
      interruption: null,
    };
    await writeRunFile(dir, file);
    this.known.set(runId, file);
    let markEnded!: () => void;
    const ended = new Promise<void>((r) => (markEnded = r));
    const run: Active = {
      file,
      appender: new EventAppender(join(dir, 'events.jsonl')),
      sub: null,
      stream: 'live',
      saving: Promise.resolve(),
      ended,
      markEnded,
    };
    this.active.set(runId, run);
    // The device replays from seq 1, so nothing emitted between run.accepted and this subscription is lost.
    run.sub = await client.subscribe(accepted.runId, 1, (e) => this.onEvent(run, e), {
      onStatus: (status) => {
        const stream = status === 'disconnected' ? 'disconnected' : status === 'live' ? 'live' : run.stream;
        if (stream !== run.stream) {
          run.stream = stream;
          this.emit({ type: 'run.updated', run: this.summary(run.file) });
        }
      },
    });
    run.sub.done.catch(() => {
      // Closed before its terminal event: the device connection is gone for good (forgotten, or shutdown).
      if (run.file.endedAtEpochMs === null && !this.closed) void this.interrupt(run, 'device-lost');
    });
    this.emit({ type: 'run.updated', run: this.summary(file) });
    return this.summary(file);
  }

  /** Cancels a queued or running run on its device; its `run.cancelled` event arrives on the stream. */
  async cancel(runId: string): Promise<RunSummary> {
    const run = this.active.get(runId);
    if (!run) {
      const file = this.known.get(runId);
      if (!file) throw new StudioServiceError('not-found', `no run ${runId}`);
      throw new StudioServiceError(
        'conflict',
        `run ${runId} is ${this.summary(file).state}: nothing to cancel`,
      );
    }
    const { client } = this.opts.hub.pairedClient(run.file.device.id);
    await client.cancel(run.file.deviceRunId);
    return this.summary(run.file);
  }

  /** Resolves once the run's terminal event is on disk (or the run was interrupted). */
  async waitForEnd(runId: string): Promise<RunSummary> {
    await this.active.get(runId)?.ended;
    return this.get(runId);
  }

  /** Stops following runs (their folders stay unfinished and are marked interrupted on the next open). */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.active.values()];
    this.active.clear();
    await Promise.all(
      runs.map(async (r) => {
        await r.sub?.close().catch(() => undefined);
        await r.appender.close();
        await r.saving;
      }),
    );
  }

  // -------------------------------------------------------------------------------------------------------------

  private onEvent(run: Active, e: SeqEvent): void {
    run.appender.append({ seq: e.seq, event: e.event });
    run.file.lastSeq = e.seq;
    const state = runStateAfter(e.event);
    const terminal = isTerminalRunEvent(e.event);
    if (state !== null) run.file.state = state;
    if (terminal) {
      run.file.endedAtEpochMs = Date.now();
      run.stream = 'ended';
    }
    // Tell the UI only once the event is on disk: the views never show what history would not have.
    const written = run.appender.flush().then(
      () => this.emit({ type: 'run.event', runId: run.file.runId, seq: e.seq, event: e.event }),
      (err: unknown) => this.opts.log?.(`run ${run.file.runId}: cannot append events: ${String(err)}`),
    );
    if (state !== null || terminal) void this.save(run);
    if (terminal) {
      void written
        .then(() => run.appender.close())
        .then(() => run.saving)
        .finally(() => {
          this.active.delete(run.file.runId);
          run.markEnded();
        });
    }
  }

  private save(run: Active): Promise<void> {
    const snapshot = structuredClone(run.file);
    run.saving = run.saving
      .then(() => writeRunFile(join(this.runsDir, snapshot.runId), snapshot))
      .catch((err: unknown) =>
        this.opts.log?.(`run ${snapshot.runId}: cannot write run.json: ${String(err)}`),
      );
    void run.saving.then(() => this.emit({ type: 'run.updated', run: this.summary(run.file) }));
    return run.saving;
  }

  private async interrupt(run: Active, reason: 'device-lost' | 'studio-restarted'): Promise<void> {
    run.file.interruption = { reason, atEpochMs: Date.now() };
    run.file.state = 'interrupted';
    run.stream = 'detached';
    this.active.delete(run.file.runId);
    await run.appender.close();
    await this.save(run);
    run.markEnded();
  }

  private summary(file: RunFile): RunSummary {
    const run = this.active.get(file.runId);
    return {
      runId: file.runId,
      deviceRunId: file.deviceRunId,
      deviceId: file.device.id,
      deviceName: file.device.name,
      label: file.label,
      state: file.state,
      lastSeq: file.lastSeq,
      stream: run ? run.stream : file.endedAtEpochMs !== null ? 'ended' : 'detached',
      createdAtEpochMs: file.createdAtEpochMs,
      interruption: file.interruption,
    };
  }

  private emit(event: StudioEvent): void {
    try {
      this.opts.emit?.(event);
    } catch (err) {
      this.opts.log?.(`studio event listener failed: ${String(err)}`);
    }
  }
}
