/**
 * The studio's sweeps: each one is `sweeps/<id>/` in the studio's data (sweep.json, sweep.csv, sweep-points.csv:
 * the headless runner's journal, src-main/sweep/runner.ts) and runs through the studio's own device hub and run
 * service, so its runs are ordinary run folders under `runs/` (History lists them; run.json's `sweep` section
 * names the sweep). Several devices run in parallel, one job each at a time (the runner).
 *
 * Restart: when the service opens, a sweep whose journal is still `running` (the studio quit or was killed in the
 * middle) is resumed automatically once its devices are paired again; finished runs are never run again (the
 * runner's resume). A sweep the user paused (`stopped`) waits for Resume; a cancelled one is left as it is.
 * Closing the service (quitting the studio) stops the sweeps in flight and leaves them `running`, to resume.
 *
 * Progress: every change pushes `sweep.updated` with the sweep's next revision, its summary and only what changed
 * in its journal since the previous one (shared/sweep/delta.ts); `get` answers with the revision its
 * journal is. Revisions count per sweep from 0 at each start of the studio, under a random `epoch`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  StudioDevice,
  StudioEvent,
  SweepDetail,
  SweepEstimate,
  SweepSummary,
} from '../../../shared/protocol/studio-contract';
import { countSweepRuns, expandSweep } from '../../../shared/sweep/expand';
import type { SweepJournal } from '../../../shared/sweep/journal';
import { SweepJournalDiff, type SweepJournalChanges } from '../../../shared/sweep/delta';
import { parseSweepSpec, SweepSpecError, type SweepSpec } from '../../../shared/sweep/spec';
import { percentile } from '../../../shared/metrics/percentile';
import { readSweepJournal, writeSweepFiles } from '../../sweep/journal-file';
import { runSweep } from '../../sweep/runner';
import type { DeviceHub } from './device-hub';
import { StudioServiceError } from './errors';
import type { RunHistory } from './run-history';
import type { RunService } from './run-service';

/** Options of {@link SweepService.open}. */
export interface SweepServiceOptions {
  dataDir: string;
  hub: DeviceHub;
  runs: RunService;
  history: RunHistory;
  emit?: (event: StudioEvent) => void;
  log?: (line: string) => void;
  /** How long a resumed sweep waits for its devices to be paired (default 180 s: the built-in device may convert its model). */
  readyTimeoutMs?: number;
  /** How long a device may stay away mid-sweep (the runner's; default 120 s). */
  deviceTimeoutMs?: number;
}

interface Entry {
  journal: SweepJournal;
  activity: SweepSummary['activity'];
  error: string | null;
  /** Set while a runner works on it. */
  controller: AbortController | null;
  /** What the user asked the running sweep to become once it stops. */
  then: 'pause' | 'cancel' | 'quit' | null;
  done: Promise<void>;
  /** The last revision pushed (0: none yet). */
  revision: number;
  /** The journal as of {@link revision}; null until a client could hold a revision (the first `get` or push). */
  diff: SweepJournalDiff | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
/** Past runs an estimate looks at per device. */
const ESTIMATE_RUNS = 10;

/** The studio's sweeps: list, start, pause, resume, cancel, and their progress as `sweep.updated` events. */
export class SweepService {
  private readonly sweeps = new Map<string, Entry>();
  private readonly wallMs = new Map<string, number | null>();
  /** This start's epoch of the sweeps' revisions (`sweepEpochSchema`). */
  private readonly epoch = randomBytes(8).toString('hex');
  private closed = false;

  private constructor(private readonly opts: SweepServiceOptions) {}

  /** `sweeps/` in the studio's data. */
  get sweepsDir(): string {
    return join(this.opts.dataDir, 'sweeps');
  }

  /** Reads every sweep folder and resumes the ones a stopped studio left `running`. */
  static async open(opts: SweepServiceOptions): Promise<SweepService> {
    const service = new SweepService(opts);
    await mkdir(service.sweepsDir, { recursive: true });
    for (const name of await readdir(service.sweepsDir)) {
      try {
        const journal = await readSweepJournal(join(service.sweepsDir, name));
        if (journal === null) continue;
        service.sweeps.set(name, {
          journal,
          activity: 'idle',
          error: null,
          controller: null,
          then: null,
          done: Promise.resolve(),
          revision: 0,
          diff: null,
        });
      } catch (e) {
        opts.log?.(`sweeps/${name} cannot be read: ${messageOf(e)}`);
      }
    }
    for (const [id, entry] of service.sweeps)
      if (entry.journal.state === 'running') {
        opts.log?.(`sweep ${id} was left unfinished: resuming it once its devices are paired`);
        service.run(id, entry, true);
      }
    return service;
  }

  /** Every sweep, newest first. */
  list(): SweepSummary[] {
    return [...this.sweeps.keys()]
      .map((id) => this.summary(id))
      .sort((a, b) => b.createdAtEpochMs - a.createdAtEpochMs);
  }

  /**
   * One sweep's summary and journal at its revision: what changed since the last `sweep.updated` is pushed first,
   * so the journal returned is exactly the one a client reaches by applying the events up to that revision.
   */
  get(sweepId: string): SweepDetail {
    const entry = this.entry(sweepId);
    if (entry.diff === null) entry.diff = new SweepJournalDiff(entry.journal);
    else {
      const changes = entry.diff.take(entry.journal);
      if (changes !== null) this.emit(sweepId, entry, changes);
    }
    return {
      sweep: this.summary(sweepId),
      journal: entry.journal,
      epoch: this.epoch,
      revision: entry.revision,
    };
  }

  /** The folder of a sweep whose journal is on disk (`sweeps.exportReport` reports on it). */
  folder(sweepId: string): string {
    if (this.entry(sweepId).journal.fingerprint === '')
      throw new StudioServiceError('conflict', `sweep ${sweepId} has not started yet: nothing to report`);
    return join(this.sweepsDir, sweepId);
  }

  /**
   * The run count of a spec and a rough duration: per device, the median wall time of its latest finished runs
   * in history with the spec's steps, frames and size (else of its latest finished runs whatever their settings)
   * times its runs; devices run in parallel, so the sweep takes the slowest device's time.
   */
  async estimate(raw: SweepSpec): Promise<SweepEstimate> {
    const spec = this.parse(raw);
    const plan = expandSweep(spec);
    const devices: SweepEstimate['devices'] = [];
    for (const d of spec.devices) {
      const runs = plan.filter((r) => r.device === d.id).length;
      const entry = this.deviceOf(d);
      const { ms, basis } = entry ? await this.perRunMs(entry, spec) : { ms: null, basis: 'not found' };
      devices.push({ device: d.id, runs, perRunMs: ms, basis });
    }
    const known = devices.every((d) => d.perRunMs !== null);
    return {
      runs: countSweepRuns(spec),
      devices,
      etaMs: known ? Math.max(...devices.map((d) => d.runs * d.perRunMs!)) : null,
    };
  }

  /** Starts a new sweep; every device must be paired now with the role the spec expects. */
  async start(raw: SweepSpec): Promise<SweepSummary> {
    if (this.closed) throw new StudioServiceError('unavailable', 'the studio is shutting down');
    const spec = this.parse(raw);
    const problems = this.deviceProblems(spec);
    if (problems.length > 0)
      throw new StudioServiceError('conflict', `the sweep's devices are not ready: ${problems.join('; ')}`);
    const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
    const now = Date.now();
    const entry: Entry = {
      // A placeholder until the runner writes the real journal (a moment later).
      journal: {
        format: 'odsora-sweep-journal',
        version: 1,
        fingerprint: '',
        spec,
        state: 'running',
        createdAtEpochMs: now,
        updatedAtEpochMs: now,
        runs: [],
        points: [],
      },
      activity: 'running',
      error: null,
      controller: null,
      then: null,
      done: Promise.resolve(),
      revision: 0,
      diff: null,
    };
    this.sweeps.set(id, entry);
    this.run(id, entry, false);
    return this.summary(id);
  }

  /** Pauses a running sweep: the runs in flight are cancelled (they run again on resume). */
  async pause(sweepId: string): Promise<SweepSummary> {
    return this.stop(sweepId, 'pause');
  }

  /** Cancels a sweep for good (running or not); its finished runs and journal stay. */
  async cancel(sweepId: string): Promise<SweepSummary> {
    const entry = this.entry(sweepId);
    if (entry.controller !== null) return this.stop(sweepId, 'cancel');
    if (entry.journal.state === 'finished')
      throw new StudioServiceError('conflict', `sweep ${sweepId} already finished`);
    entry.journal.state = 'cancelled';
    await this.write(sweepId, entry);
    this.push(sweepId);
    return this.summary(sweepId);
  }

  /** Resumes a paused, failed or unfinished sweep (finished runs are not run again). */
  async resume(sweepId: string): Promise<SweepSummary> {
    if (this.closed) throw new StudioServiceError('unavailable', 'the studio is shutting down');
    const entry = this.entry(sweepId);
    if (entry.controller !== null || entry.activity !== 'idle')
      throw new StudioServiceError('conflict', `sweep ${sweepId} is already ${entry.activity}`);
    if (entry.journal.state === 'finished')
      throw new StudioServiceError('conflict', `sweep ${sweepId} already finished`);
    this.run(sweepId, entry, true);
    return this.summary(sweepId);
  }

  /** Stops every sweep in flight (they stay `running`, and resume when the studio starts again). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopping = [...this.sweeps.values()].filter((e) => e.activity !== 'idle');
    for (const e of stopping) {
      e.then = 'quit';
      e.controller?.abort();
    }
    await Promise.all(stopping.map((e) => e.done));
  }

  private entry(sweepId: string): Entry {
    const entry = this.sweeps.get(sweepId);
    if (entry === undefined) throw new StudioServiceError('not-found', `no sweep ${sweepId}`);
    return entry;
  }

  private parse(raw: SweepSpec): SweepSpec {
    try {
      return parseSweepSpec(raw);
    } catch (e) {
      if (e instanceof SweepSpecError) throw new StudioServiceError('bad-request', e.message);
      throw e;
    }
  }

  private async stop(sweepId: string, then: 'pause' | 'cancel'): Promise<SweepSummary> {
    const entry = this.entry(sweepId);
    if (entry.controller === null && entry.activity !== 'waiting')
      throw new StudioServiceError('conflict', `sweep ${sweepId} is not running`);
    entry.then = then;
    entry.activity = then === 'pause' ? 'pausing' : 'cancelling';
    entry.controller?.abort();
    this.push(sweepId);
    await entry.done;
    return this.summary(sweepId);
  }

  /** The studio's device entry a spec device names (the built-in device, an address, an announced name). */
  private deviceOf(d: SweepSpec['devices'][number]): StudioDevice | undefined {
    const all = this.opts.hub.list();
    if (d.builtin) return all.find((x) => x.sources.builtin);
    if (d.address !== undefined) return all.find((x) => `${x.host}:${x.port}` === d.address);
    return all.find((x) => x.name === d.name);
  }

  private deviceProblems(spec: SweepSpec): string[] {
    const problems: string[] = [];
    for (const d of spec.devices) {
      const dev = this.deviceOf(d);
      if (dev === undefined) problems.push(`device ${d.id} is not among the studio's devices`);
      else if (dev.status !== 'paired')
        problems.push(`device ${d.id} (${dev.name}) is ${dev.status}, not paired`);
      else if (dev.role !== d.role)
        problems.push(`device ${d.id} (${dev.name}) presents role ${dev.role}; the sweep expects ${d.role}`);
    }
    return problems;
  }

  /** Runs (or resumes) a sweep in the background; `wait`: first wait for its devices to be paired. */
  private run(sweepId: string, entry: Entry, wait: boolean): void {
    const controller = new AbortController();
    entry.controller = controller;
    entry.then = null;
    entry.error = null;
    entry.activity = wait ? 'waiting' : 'running';
    this.push(sweepId);
    const outDir = join(this.sweepsDir, sweepId);
    const spec = entry.journal.spec;
    entry.done = (async () => {
      try {
        const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 180_000);
        for (;;) {
          const problems = this.deviceProblems(spec);
          if (problems.length === 0) break;
          if (controller.signal.aborted) return;
          if (Date.now() > deadline)
            throw new Error(`the sweep's devices are not ready: ${problems.join('; ')}`);
          await sleep(200);
        }
        if (controller.signal.aborted) return;
        const entryOf = new Map(spec.devices.map((d) => [d.id, this.deviceOf(d)!.id]));
        entry.activity = 'running';
        this.push(sweepId);
        await runSweep({
          spec,
          outDir,
          sweepId,
          signal: controller.signal,
          devices: { hub: this.opts.hub, entryOf, close: async () => undefined },
          runs: this.opts.runs,
          ...(this.opts.deviceTimeoutMs !== undefined ? { deviceTimeoutMs: this.opts.deviceTimeoutMs } : {}),
          onJournal: (journal) => {
            entry.journal = journal;
            this.push(sweepId);
          },
          progress: (line) => this.opts.log?.(`sweep ${sweepId}: ${line}`),
          ...(this.opts.log ? { log: this.opts.log } : {}),
        });
      } catch (e) {
        entry.error = messageOf(e);
        this.opts.log?.(`sweep ${sweepId}: ${entry.error}`);
      } finally {
        entry.controller = null;
        const then = entry.then;
        entry.then = null;
        const state = entry.journal.state;
        if (then === 'cancel' && state !== 'finished') entry.journal.state = 'cancelled';
        // Paused while waiting for its devices: the runner never ran, so the journal still says `running`.
        if (then === 'pause' && state === 'running') entry.journal.state = 'stopped';
        // Quitting mid-sweep leaves it `running`: the next start resumes it.
        if (then === 'quit' && state === 'stopped') entry.journal.state = 'running';
        if (then !== null)
          await this.write(sweepId, entry).catch((e: unknown) => this.opts.log?.(messageOf(e)));
        entry.activity = 'idle';
        this.push(sweepId);
      }
    })();
  }

  private async write(sweepId: string, entry: Entry): Promise<void> {
    if (entry.journal.fingerprint === '') return; // never written: nothing on disk to correct
    await writeSweepFiles(join(this.sweepsDir, sweepId), entry.journal);
  }

  private summary(sweepId: string): SweepSummary {
    const entry = this.entry(sweepId);
    const j = entry.journal;
    const runs = j.runs;
    return {
      sweepId,
      name: j.spec.name ?? null,
      state: j.state,
      activity: entry.activity,
      createdAtEpochMs: j.createdAtEpochMs,
      updatedAtEpochMs: j.updatedAtEpochMs,
      total: runs.length,
      finished: runs.filter((r) => r.status === 'finished').length,
      failed: runs.filter((r) => r.status === 'failed').length,
      devices: j.spec.devices.map((d) => {
        const mine = runs.filter((r) => r.device === d.id);
        const current = mine.find((r) => r.status === 'running');
        return {
          device: d.id,
          total: mine.length,
          finished: mine.filter((r) => r.status === 'finished').length,
          failed: mine.filter((r) => r.status === 'failed').length,
          current: current ? { planRunId: current.id, kind: current.kind, runId: current.runFolder } : null,
        };
      }),
      error: entry.error === null ? null : entry.error.slice(0, 4096),
    };
  }

  /** Pushes the sweep's next revision: its summary and what changed in its journal (maybe nothing). */
  private push(sweepId: string): void {
    const entry = this.entry(sweepId);
    let changes: SweepJournalChanges;
    if (entry.diff === null) {
      // No client can hold a revision of it yet: nothing to patch.
      entry.diff = new SweepJournalDiff(entry.journal);
      changes = { journal: {}, runs: null };
    } else changes = entry.diff.take(entry.journal) ?? { journal: {}, runs: [] };
    this.emit(sweepId, entry, changes);
  }

  private emit(sweepId: string, entry: Entry, changes: SweepJournalChanges): void {
    entry.revision += 1;
    try {
      this.opts.emit?.({
        type: 'sweep.updated',
        sweep: this.summary(sweepId),
        epoch: this.epoch,
        revision: entry.revision,
        ...changes,
      });
    } catch (e) {
      this.opts.log?.(`sweep.updated: ${messageOf(e)}`);
    }
  }

  /** A device's assumed wall time per run, from its latest finished runs in history. */
  private async perRunMs(
    device: StudioDevice,
    spec: SweepSpec,
  ): Promise<{ ms: number | null; basis: string }> {
    const shape = ['steps', 'numFrames', 'heightPx', 'widthPx'] as const;
    const finished = this.opts.runs.list().filter((r) => r.deviceId === device.id && r.state === 'finished');
    const walls = async (ids: readonly string[]): Promise<number[]> => {
      const out: number[] = [];
      for (const id of ids.slice(0, ESTIMATE_RUNS)) {
        if (!this.wallMs.has(id))
          this.wallMs.set(
            id,
            await this.opts.history.detail(id).then(
              (d) => d.wallMs,
              () => null,
            ),
          );
        const ms = this.wallMs.get(id);
        if (ms !== null && ms !== undefined) out.push(ms);
      }
      return out;
    };
    const same = finished.filter((r) => {
      const p = this.opts.runs.file(r.runId).params;
      return shape.every((k) => spec.base[k] === undefined || p[k] === spec.base[k]);
    });
    let xs = await walls(same.map((r) => r.runId));
    if (xs.length > 0)
      return {
        ms: percentile(xs, 50),
        basis: `median of ${xs.length} past run(s) with these steps and size`,
      };
    xs = await walls(finished.map((r) => r.runId));
    if (xs.length > 0)
      return { ms: percentile(xs, 50), basis: `median of ${xs.length} past run(s) with other settings` };
    return { ms: null, basis: 'no finished run of this device in history' };
  }
}
