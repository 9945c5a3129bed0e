/**
 * Runs: starts a run on a paired device, follows it (subscription from seq 1, resumed by the client after a
 * drop), appends every event to `runs/<id>/events.jsonl` as it arrives before telling the UI, stores preview images
 * as PNGs as they arrive (a `preview.ready` is pushed once its images are on disk) and a finished run's final frames
 * (fetched before its terminal event is pushed), and keeps a versioned `run.json` up to date, with the links
 * between a run and its baseline. A run folder left without its terminal event by a studio that stopped (quit,
 * crash) is marked interrupted (`studio-restarted`) when the service opens; one whose device connection was closed
 * for good is marked `device-lost`. Nothing is deleted except by `delete` (ended runs only). When a run ends, its
 * headline metrics and what reading its stored events skipped (damaged lines) are computed once from them and kept
 * in run.json (history lists them without reading any event log); `annotate` sets its name, tags and notes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreviewSettings, RunParams } from '../../../shared/protocol/run';
import { isTerminalRunEvent, runStateAfter, thermalOf } from '../../../shared/protocol/run';
import type {
  RunAnnotateArgs,
  RunMetrics,
  RunSummary,
  StudioEvent,
  UnreadableRun,
} from '../../../shared/protocol/studio-contract';
import { RUN_TAG_MAX_CHARS, runTagSchema } from '../../../shared/protocol/studio-contract';
import { measureRun, ratio, runMetrics } from '../../../shared/report/measures';
import type {
  CompanionClient,
  PreviewFrame,
  RunSubscription,
  SeqEvent,
} from '../../devices/companion-client';
import type { DeviceHub } from './device-hub';
import { StudioServiceError } from './errors';
import {
  EventAppender,
  RUN_FOLDER_FORMAT,
  RUN_FOLDER_VERSION,
  loadRunFile,
  readEventLog,
  writeRunFile,
  type RunFile,
  type RunSweepLink,
} from './run-folder';
import { framePng, writeFinalFrame, writePreviewFrame } from './run-frames';

/** Final frames fetched from the device per request once a run finished. */
const FINAL_FRAMES_PER_FETCH = 32;
/** How long a pushed `preview.ready` waits for its images to be stored before it is pushed anyway. */
const PREVIEW_STORE_WAIT_MS = 2000;

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
  client: CompanionClient;
  sub: RunSubscription | null;
  /** Pushes in seq order, each after its event (and a preview's images) is on disk. */
  pushing: Promise<void>;
  /** Preview images still expected per `preview.ready` seq. */
  previews: Map<number, { left: number; stored: Promise<void>; done: () => void }>;
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
  private readonly unreadableRuns: UnreadableRun[] = [];
  private closed = false;

  private constructor(private readonly opts: RunServiceOptions) {}

  /** The folder that holds every run. */
  get runsDir(): string {
    return join(this.opts.dataDir, 'runs');
  }

  /**
   * Opens the run folders, marking runs that a previous studio left unfinished as interrupted. A folder whose
   * run.json cannot be used (missing, cut short, from a newer studio, a field the contract refuses) is listed as
   * unreadable with the reason, and logged; it is left as it is.
   */
  static async open(opts: RunServiceOptions): Promise<RunService> {
    const service = new RunService(opts);
    await mkdir(service.runsDir, { recursive: true });
    const folders = await readdir(service.runsDir, { withFileTypes: true });
    for (const name of folders
      .filter((f) => f.isDirectory())
      .map((f) => f.name)
      .sort()) {
      const dir = join(service.runsDir, name);
      const read = await loadRunFile(dir);
      if (!read.ok || read.file.runId !== name) {
        const reason = read.ok
          ? `run.json belongs to run ${read.file.runId}, not to its folder`
          : read.reason;
        service.unreadableRuns.push({ folder: name, reason });
        opts.log?.(`run folder ${name} is not listed: ${reason}`);
        continue;
      }
      const file = read.file;
      const keep = (): Promise<void> =>
        writeRunFile(dir, file).catch((err: unknown) =>
          opts.log?.(`run ${name}: cannot write run.json: ${String(err)}`),
        );
      if (file.endedAtEpochMs === null && file.interruption === null) {
        file.interruption = { reason: 'studio-restarted', atEpochMs: Date.now() };
        file.state = 'interrupted';
        Object.assign(file, await endedLogOf(dir));
        await writeRunFile(dir, file);
      } else if (read.upgradedFrom !== null && file.endedAtEpochMs !== null) {
        // Written before run.json kept metrics: fold its log this once, and keep the result.
        Object.assign(file, await endedLogOf(dir));
        await keep();
      } else if (file.eventLogProblem === undefined) {
        // Written before run.json kept the check (or by `odsora generate`): read its log this once.
        file.eventLogProblem = (await readEventLog(dir)).problem;
        await keep();
      }
      service.known.set(file.runId, file);
    }
    return service;
  }

  /** The run folders that could not be read when the service opened, by folder name. */
  unreadable(): UnreadableRun[] {
    return this.unreadableRuns.map((u) => ({ ...u }));
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
    opts: {
      preview?: PreviewSettings | null;
      label?: string;
      baselineOf?: string;
      sweep?: RunSweepLink;
    } = {},
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
      tags: opts.sweep === undefined ? [] : sweepTags(opts.sweep.sweepId),
      notes: '',
      metrics: null,
      eventLogProblem: null,
      createdAtEpochMs: Date.now(),
      state: 'queued',
      lastSeq: 0,
      endedAtEpochMs: null,
      interruption: null,
      baselineOf: opts.baselineOf ?? null,
      baselineRunId: null,
      ...(opts.sweep !== undefined ? { sweep: opts.sweep } : {}),
      deviceDetails: client.device
        ? {
            platform: client.device.platform,
            backends: client.device.backends,
            memoryLimitBytes: client.device.memory.limitBytes,
            blockSets: client.device.blockSets.map(({ name, model, bytes, manifestSha256 }) => ({
              name,
              model,
              bytes,
              manifestSha256,
            })),
          }
        : null,
    };
    await writeRunFile(dir, file);
    this.known.set(runId, file);
    let markEnded!: () => void;
    const ended = new Promise<void>((r) => (markEnded = r));
    const run: Active = {
      file,
      appender: new EventAppender(join(dir, 'events.jsonl')),
      client,
      sub: null,
      pushing: Promise.resolve(),
      previews: new Map(),
      stream: 'live',
      saving: Promise.resolve(),
      ended,
      markEnded,
    };
    this.active.set(runId, run);
    // The device replays from seq 1, so nothing emitted between run.accepted and this subscription is lost.
    run.sub = await client.subscribe(accepted.runId, 1, (e) => this.onEvent(run, e), {
      onPreview: (p) => this.onPreview(run, p),
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

  /** A copy of the run's run.json as it stands, or a `not-found` error. */
  file(runId: string): RunFile {
    const file = this.known.get(runId);
    if (!file) throw new StudioServiceError('not-found', `no run ${runId}`);
    return structuredClone(file);
  }

  /** True while the studio follows the run (it has not ended or been interrupted). */
  isLive(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Records in both runs' metadata that `baselineRunId` is the baseline made for `runId`. */
  async linkBaseline(runId: string, baselineRunId: string): Promise<void> {
    for (const [id, patch] of [
      [runId, { baselineRunId }],
      [baselineRunId, { baselineOf: runId }],
    ] as const) {
      const file = this.known.get(id);
      if (!file) throw new StudioServiceError('not-found', `no run ${id}`);
      Object.assign(file, patch);
      const run = this.active.get(id);
      if (run) await this.save(run);
      else await writeRunFile(join(this.runsDir, id), file);
    }
  }

  /** Sets a run's name, tags and notes (each one given replaces the old one) and keeps them in its run.json. */
  async annotate(runId: string, patch: Omit<RunAnnotateArgs, 'runId'>): Promise<RunSummary> {
    const file = this.known.get(runId);
    if (!file) throw new StudioServiceError('not-found', `no run ${runId}`);
    if (patch.label !== undefined) file.label = patch.label;
    if (patch.tags !== undefined) file.tags = [...patch.tags];
    if (patch.notes !== undefined) file.notes = patch.notes;
    const run = this.active.get(runId);
    if (run) await this.save(run);
    else {
      await writeRunFile(join(this.runsDir, runId), file);
      this.emit({ type: 'run.updated', run: this.summary(file) });
    }
    return this.summary(file);
  }

  /** Deletes an ended run's folder (a followed run is a `conflict`: cancel it first); false when unknown. */
  async delete(runId: string): Promise<boolean> {
    const file = this.known.get(runId);
    if (!file) return false;
    if (this.active.has(runId))
      throw new StudioServiceError('conflict', `run ${runId} is ${file.state}: cancel it before deleting it`);
    this.known.delete(runId);
    await rm(join(this.runsDir, runId), { recursive: true, force: true });
    // The partner keeps its folder but no longer points at a run that is gone.
    for (const other of this.known.values()) {
      if (other.baselineOf !== runId && other.baselineRunId !== runId) continue;
      if (other.baselineOf === runId) other.baselineOf = null;
      if (other.baselineRunId === runId) other.baselineRunId = null;
      const run = this.active.get(other.runId);
      if (run) await this.save(run);
      else await writeRunFile(join(this.runsDir, other.runId), other);
    }
    return true;
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
    const thermal = thermalOf(e.event);
    if (thermal !== undefined)
      run.file.thermal = { ...run.file.thermal, [e.event.type === 'run.started' ? 'start' : 'end']: thermal };
    if (e.event.type === 'preview.ready') this.expectPreviews(run, e.seq, e.event.frames);
    if (state !== null && !terminal) {
      run.file.state = state;
      void this.save(run);
    }
    const flushed = run.appender.flush();
    const previewStored = run.previews.get(e.seq)?.stored;
    // Tell the UI only once the event (and a preview's images) is on disk: the views never show what history
    // would not have. A finished run's final frames are fetched and stored before its terminal event is pushed.
    run.pushing = run.pushing
      .then(() => flushed)
      .then(async () => {
        if (previewStored) await previewStored;
        if (e.event.type === 'run.finished') await this.storeFinalFrames(run, e.event.frames);
        if (terminal) {
          if (state !== null) run.file.state = state;
          run.file.endedAtEpochMs = Date.now();
          run.stream = 'ended';
          Object.assign(run.file, await endedLogOf(join(this.runsDir, run.file.runId)));
          await this.save(run);
        }
        this.emit({ type: 'run.event', runId: run.file.runId, seq: e.seq, event: e.event });
      })
      .catch((err: unknown) => this.opts.log?.(`run ${run.file.runId}: cannot store events: ${String(err)}`));
    if (terminal) {
      void run.pushing
        .then(() => run.appender.close())
        .then(() => run.saving)
        .finally(() => {
          this.active.delete(run.file.runId);
          run.markEnded();
        });
    }
  }

  private expectPreviews(run: Active, seq: number, count: number): void {
    let done!: () => void;
    const arrived = new Promise<void>((resolve) => (done = resolve));
    const timer = new Promise<void>((resolve) => setTimeout(resolve, PREVIEW_STORE_WAIT_MS).unref());
    run.previews.set(seq, { left: count, stored: Promise.race([arrived, timer]), done });
    // Keep only the recent ones (a dropped preview must not pin memory for the whole run).
    for (const key of run.previews.keys()) if (key < seq - 64) run.previews.delete(key);
  }

  private onPreview(run: Active, p: PreviewFrame): void {
    const png = framePng(p.frame);
    const wait = run.previews.get(p.seq);
    const dir = join(this.runsDir, run.file.runId);
    const write = png ? writePreviewFrame(dir, p.seq, p.index, png) : Promise.resolve();
    void write
      .catch((err: unknown) =>
        this.opts.log?.(`run ${run.file.runId}: cannot store a preview: ${String(err)}`),
      )
      .finally(() => {
        if (wait && --wait.left <= 0) wait.done();
      });
  }

  /** Fetches a finished run's final frames from the device and stores them as PNGs. */
  private async storeFinalFrames(run: Active, count: number): Promise<void> {
    const dir = join(this.runsDir, run.file.runId);
    try {
      for (let from = 0; from < count; from += FINAL_FRAMES_PER_FETCH) {
        const n = Math.min(FINAL_FRAMES_PER_FETCH, count - from);
        const { frames } = await run.client.getFrames(run.file.deviceRunId, from, n, 'image-rgb8');
        for (const frame of frames) {
          const png = framePng(frame);
          if (png) await writeFinalFrame(dir, frame.index, png);
        }
      }
    } catch (err) {
      this.opts.log?.(`run ${run.file.runId}: cannot fetch its final frames: ${String(err)}`);
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
    Object.assign(run.file, await endedLogOf(join(this.runsDir, run.file.runId)));
    await this.save(run);
    run.markEnded();
  }

  private summary(file: RunFile): RunSummary {
    const run = this.active.get(file.runId);
    const baseline = file.baselineRunId === null ? undefined : this.known.get(file.baselineRunId);
    const speedup = ratio(file.metrics?.wallMs ?? null, baseline?.metrics?.wallMs ?? null);
    return {
      runId: file.runId,
      deviceRunId: file.deviceRunId,
      deviceId: file.device.id,
      deviceName: file.device.name,
      label: file.label,
      tags: [...file.tags],
      notes: file.notes,
      params: structuredClone(file.params),
      state: file.state,
      lastSeq: file.lastSeq,
      stream: run ? run.stream : file.endedAtEpochMs !== null ? 'ended' : 'detached',
      createdAtEpochMs: file.createdAtEpochMs,
      interruption: file.interruption,
      metrics: file.metrics,
      baselineRunId: file.baselineRunId,
      speedupVsBaseline: speedup,
      eventLogProblem: file.eventLogProblem ?? null,
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

/**
 * A sweep's run starts tagged `sweep:<sweepId>` so History filters a sweep's runs; a sweep id that does not fit the
 * tag rule (a headless sweep's --out folder name may hold any character) is written tag-safe, and left out if
 * nothing is left of it.
 */
export function sweepTags(sweepId: string): string[] {
  const safe = sweepId.replace(/[^A-Za-z0-9:._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  const tag = `sweep:${safe}`.slice(0, RUN_TAG_MAX_CHARS);
  return safe !== '' && runTagSchema.safeParse(tag).success ? [tag] : [];
}

/**
 * What run.json keeps of an ended run's stored events, from one read: its headline metrics and what reading them
 * skipped (so neither `runs.list` nor History's rows read an event log).
 */
async function endedLogOf(dir: string): Promise<{ metrics: RunMetrics; eventLogProblem: string | null }> {
  const read = await readEventLog(dir);
  return { metrics: runMetrics(measureRun(read.events)), eventLogProblem: read.problem };
}
