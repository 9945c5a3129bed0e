/**
 * `odsora sweep`'s engine: expands the spec (shared/sweep), opens or resumes the journal in the output folder,
 * connects the devices (devices.ts) and runs each device's planned runs one at a time, all devices in parallel.
 * Every run goes through the studio's RunService, so `<out>/runs/<id>/` is a studio run folder (run.json,
 * events.jsonl, frames). The journal (and the CSVs) is rewritten atomically after every change.
 *
 * Resuming (docs/sweeps.md): finished runs are never run again; a run that was in flight when the sweep was
 * killed is adopted when its folder shows it finished, otherwise its device job is cancelled, its folder deleted
 * and it runs again; failed runs run again. A different spec in the same folder is refused. A device that drops
 * has `deviceTimeoutMs` to come back (its interrupted run runs again, at most `maxAttempts` times); after that the
 * run in flight and its remaining runs are marked failed with the reason, and the other devices go on. Stopping (the signal) cancels the
 * runs in flight on their devices, marks them pending and leaves a consistent journal. With the spec's `thermal`,
 * each run first waits in the thermal gate (shared/sweep/thermal-gate.ts, the state read with `device.info.get`);
 * every run records its device's thermal state at start and end from its own events.
 */
import { mkdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { RunEvent } from '../../shared/protocol/run';
import { thermalLabel } from '../../shared/protocol/thermal';
import { measureRun } from '../../shared/report/measures';
import { expandSweep, sweepFingerprint } from '../../shared/sweep/expand';
import {
  newSweepJournal,
  type SweepJournal,
  type SweepRunEntry,
  type SweepRunResult,
} from '../../shared/sweep/journal';
import type { SweepSpec } from '../../shared/sweep/spec';
import { psnr, ssim, type Video } from '../../shared/metrics/index';
import { percentile } from '../../shared/metrics/percentile';
import { sweepClipScores } from '../../shared/sweep/clip-scores';
import { sweepBaselines } from '../../shared/sweep/stats';
import { waitForThermal, type ThermalGateResult } from '../../shared/sweep/thermal-gate';
import { StudioServiceError } from '../studio/services/errors';
import { readEvents, type StoredEvent } from '../studio/services/run-folder';
import { readFinalVideo } from '../studio/services/run-frames';
import { RunService } from '../studio/services/run-service';
import { openSweepDevices, type SweepDevices } from './devices';
import { readSweepJournal, writeSweepFiles } from './journal-file';

/** Options of {@link runSweep}. */
export interface SweepRunOptions {
  spec: SweepSpec;
  /** The output folder (created when missing). */
  outDir: string;
  /** Pairing codes by sweep device id. */
  pairCodes?: ReadonlyMap<string, string>;
  /** Stops the sweep (Ctrl-C): runs in flight are cancelled and stay pending. */
  signal?: AbortSignal;
  /** How long a device may stay away while it has runs left (default 120 s). */
  deviceTimeoutMs?: number;
  /** How many times a run interrupted by its device is started (default 3). */
  maxAttempts?: number;
  /** How long to wait for the devices at start (devices.ts). */
  readyTimeoutMs?: number;
  /** One line per run that ends, and what the sweep does. */
  progress?: (line: string) => void;
  log?: (line: string) => void;
  /** Devices already connected (the studio's device hub): used as they are and left open. Default: {@link openSweepDevices}. */
  devices?: SweepDevices;
  /** The run service the runs go through (the studio's, so they land in its history): left open. Default: one on `outDir`. */
  runs?: RunService;
  /** Called with the journal after each write of it (the studio pushes progress from it). */
  onJournal?: (journal: SweepJournal) => void;
  /** The id each run's run.json `sweep` section names (default: the output folder's name). */
  sweepId?: string;
}

/** How a sweep ended. */
export interface SweepOutcome {
  state: SweepJournal['state'];
  finished: number;
  failed: number;
  pending: number;
  /** Runs this invocation started (a resumed sweep skips the finished ones). */
  started: number;
}

/** The output folder holds another sweep. */
export class SweepMismatchError extends Error {
  override readonly name = 'SweepMismatchError';
}

/** How long a stopping sweep waits for its devices to confirm the cancels. */
const STOP_WAIT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A finished run's result summary, from its stored events. */
export function sweepRunResult(events: readonly StoredEvent[]): SweepRunResult | null {
  const done = events.find((e) => e.event.type === 'run.finished')?.event as
    Extract<RunEvent, { type: 'run.finished' }> | undefined;
  if (done === undefined) return null;
  const m = measureRun(events);
  const t = done.timings;
  return {
    wallMs: t.totalMs,
    loadMs: t.loadMs,
    textMs: t.textMs,
    denoiseMs: t.denoiseMs,
    decodeMs: t.decodeMs,
    stepsRun: done.stepsRun,
    stepMs:
      m.steps.length > 0
        ? percentile(
            m.steps.map((s) => s.latencyMs),
            50,
          )
        : null,
    peakResidentBytes: m.peakResidentBytes,
  };
}

/** Runs (or resumes) a sweep to its end, or until `signal` stops it. */
export async function runSweep(opts: SweepRunOptions): Promise<SweepOutcome> {
  const { spec, outDir } = opts;
  const progress = opts.progress ?? ((): void => undefined);
  const maxAttempts = opts.maxAttempts ?? 3;
  await mkdir(outDir, { recursive: true });
  const fingerprint = sweepFingerprint(spec);
  const plan = expandSweep(spec);
  const existing = await readSweepJournal(outDir);
  if (existing !== null && existing.fingerprint !== fingerprint)
    throw new SweepMismatchError(
      `${outDir} holds another sweep (${existing.spec.name ?? 'unnamed'}, ${existing.runs.length} runs): its ` +
        'sweep.json was written for a different spec. Resume it with the spec it was started with, or choose ' +
        'another --out folder.',
    );
  const resumed = existing !== null;
  const journal = existing ?? newSweepJournal(spec, fingerprint, plan, Date.now());
  journal.spec = spec; // the same sweep; device addresses may have changed
  journal.state = 'running';
  let saving = Promise.resolve();
  const save = (): Promise<void> => {
    saving = saving.then(async () => {
      await writeSweepFiles(outDir, journal);
      opts.onJournal?.(journal);
    });
    return saving;
  };
  await save();

  const devices: SweepDevices =
    opts.devices ??
    (await openSweepDevices(spec, {
      outDir,
      ...(opts.pairCodes ? { pairCodes: opts.pairCodes } : {}),
      ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    }));
  const { hub, entryOf } = devices;
  let runs: RunService;
  try {
    runs =
      opts.runs ?? (await RunService.open({ dataDir: outDir, hub, ...(opts.log ? { log: opts.log } : {}) }));
  } catch (e) {
    if (opts.devices === undefined) await devices.close();
    throw e;
  }
  const sweepId = opts.sweepId ?? basename(resolve(outDir));
  let started = 0;
  const frameMetrics = new FrameMetricsFiller(runs, opts.log);
  try {
    if (resumed) await reconcile(journal, runs, devices, progress);
    await frameMetrics.fill(journal);
    await save();
    const total = journal.runs.length;
    const done = (): number => journal.runs.filter((r) => r.status === 'finished').length;
    progress(
      `sweep ${spec.name ?? ''}: ${total} runs on ${spec.devices.length} device(s), ${done()} already finished`.replace(
        '  ',
        ' ',
      ),
    );
    let stopping = opts.signal?.aborted === true;
    const inFlight = new Map<string, { device: string; deviceRunId: string }>();
    const onStop = (): void => {
      if (!stopping) stoppedAtMs = Date.now();
      stopping = true;
      progress(`stopping: cancelling ${inFlight.size} run(s) in flight`);
      for (const f of inFlight.values()) {
        try {
          void hub
            .pairedClient(entryOf.get(f.device)!)
            .client.cancel(f.deviceRunId)
            .catch(() => undefined);
        } catch {
          // not connected: the run stays pending and runs again on resume
        }
      }
    };
    opts.signal?.addEventListener('abort', onStop, { once: true });

    const deviceTimeoutMs = opts.deviceTimeoutMs ?? 120_000;
    let stoppedAtMs = 0;
    /** Null while the device is paired, else what it is (`disconnected: …`). */
    const absence = (id: string): string | null => {
      try {
        const d = hub.get(entryOf.get(id)!);
        if (d.status === 'paired') return null;
        return `${d.status}${d.diagnostics.lastError ? `: ${d.diagnostics.lastError}` : ''}`;
      } catch (e) {
        return messageOf(e);
      }
    };
    const awayMessage = (id: string, last: string): string =>
      `device ${id} did not come back within ${deviceTimeoutMs} ms (${last})`;

    /** Waits until the device is paired; the reason when it stayed away too long (null: paired, or stopping). */
    const waitForDevice = async (id: string): Promise<string | null> => {
      const until = Date.now() + deviceTimeoutMs;
      while (!stopping) {
        const last = absence(id);
        if (last === null) return null;
        if (Date.now() > until) return awayMessage(id, last);
        await sleep(100);
      }
      return null;
    };

    /**
     * Resolves while a run is in flight when waiting for its end is pointless: its device stayed away longer than
     * the device timeout, or the sweep is stopping and the device did not confirm the cancel within 15 s.
     */
    const watchInFlight = async (id: string, ended: { value: boolean }): Promise<string> => {
      let awaySince: number | null = null;
      for (;;) {
        await sleep(200);
        if (ended.value) return '';
        const last = absence(id);
        awaySince = last === null ? null : (awaySince ?? Date.now());
        if (last !== null && Date.now() - awaySince! > deviceTimeoutMs) return awayMessage(id, last);
        if (stopping && Date.now() - stoppedAtMs > STOP_WAIT_MS)
          return 'the sweep stopped before the device confirmed the cancel';
      }
    };

    /** When each device's last run in this invocation ended (the thermal gate's cool-down counts from it). */
    const lastEndMs = new Map<string, number>();
    /** The thermal gate before a run on device `id` (`off` without the spec's `thermal`). */
    const thermalGate = async (id: string): Promise<ThermalGateResult> => {
      if (spec.thermal === undefined) return { outcome: 'off', waitedMs: 0, state: null };
      const gate = spec.thermal;
      const result = await waitForThermal(
        gate,
        {
          read: async () => (await hub.pairedClient(entryOf.get(id)!).client.deviceInfo()).thermalState,
          nowMs: () => Date.now(),
          sleep,
          stopped: () => stopping,
          onHot: (state, waitedMs) =>
            progress(
              `${id}: thermal state ${state}, waiting for ${gate.maxState} (${Math.round(waitedMs / 1000)} s)`,
            ),
        },
        lastEndMs.get(id) ?? null,
      );
      if (result.outcome === 'expired')
        progress(
          `${id}: still ${thermalLabel(result.state)} after ${gate.maxWaitMs} ms: the run goes ahead, marked expired`,
        );
      return result;
    };

    /** Runs one planned run; the reason when its device stayed away (its remaining runs then fail). */
    const attempt = async (entry: SweepRunEntry): Promise<string | null> => {
      const gated = await thermalGate(entry.device);
      if (stopping) return null;
      entry.status = 'running';
      entry.attempts += 1;
      entry.error = null;
      entry.result = null;
      entry.quality = null;
      entry.clip = null;
      entry.thermal = { start: null, end: null, waitedMs: gated.waitedMs, gate: gated.outcome };
      started += 1;
      await save();
      let runFolder: string;
      try {
        const summary = await runs.start(entryOf.get(entry.device)!, entry.params, {
          label: `sweep ${spec.name ?? ''} ${entry.kind} ${entry.id}`.replace('  ', ' '),
          sweep: { sweepId, planRunId: entry.id, kind: entry.kind, pointId: entry.pointId },
        });
        runFolder = summary.runId;
        entry.runFolder = runFolder;
        inFlight.set(entry.id, { device: entry.device, deviceRunId: summary.deviceRunId });
        await save();
      } catch (e) {
        const retry = e instanceof StudioServiceError && e.code === 'unavailable';
        entry.status = retry ? 'pending' : 'failed';
        entry.error = `the device refused the run: ${messageOf(e)}`;
        if (retry) entry.attempts -= 1;
        await save();
        return null;
      }
      if (stopping) onStop();
      const ended = { value: false };
      const end = await Promise.race([runs.waitForEnd(runFolder), watchInFlight(entry.device, ended)]);
      ended.value = true;
      inFlight.delete(entry.id);
      if (typeof end === 'string') {
        // Still followed by the run service until the sweep closes; a resumed sweep cancels it and runs it again.
        entry.status = stopping ? 'pending' : 'failed';
        entry.error = end;
        await save();
        return stopping ? null : end;
      }
      lastEndMs.set(entry.device, Date.now());
      const events = await readEvents(runs.runDir(runFolder));
      entry.thermal = { ...entry.thermal, ...measureRun(events).thermal };
      const line = `${entry.device} ${entry.kind} ${entry.id}`;
      if (end.state === 'finished') {
        entry.result = sweepRunResult(events);
        entry.status = 'finished';
        await frameMetrics.fill(journal);
        progress(`[${done()}/${total}] ${line} finished in ${Math.round(entry.result?.wallMs ?? 0)} ms`);
      } else if (end.state === 'failed') {
        const failure = events.find((e) => e.event.type === 'run.failed')?.event as
          Extract<RunEvent, { type: 'run.failed' }> | undefined;
        entry.status = 'failed';
        entry.error = `run failed (${failure?.code ?? 'unknown'}): ${failure?.message ?? 'no reason given'}`;
        progress(`[${done()}/${total}] ${line} failed: ${entry.error}`);
      } else if (end.state === 'cancelled' && stopping) {
        entry.status = 'pending';
        entry.error = 'cancelled: the sweep was stopped';
      } else if (end.state === 'cancelled') {
        entry.status = 'failed';
        entry.error = 'cancelled on the device';
        progress(`[${done()}/${total}] ${line} was cancelled on the device`);
      } else {
        const reason = end.interruption?.reason ?? 'interrupted';
        const retry = entry.attempts < maxAttempts;
        entry.status = retry ? 'pending' : 'failed';
        entry.error = `interrupted (${reason})${retry ? '; it runs again' : ` ${entry.attempts} times`}`;
        progress(`${line}: ${entry.error}`);
        if (retry) {
          await runs.delete(runFolder).catch(() => false);
          entry.runFolder = null;
        }
      }
      await save();
      return null;
    };

    const worker = async (id: string): Promise<void> => {
      for (const entry of journal.runs) {
        if (entry.device !== id) continue;
        while ((entry.status === 'pending' || entry.status === 'running') && !stopping) {
          const away = (await waitForDevice(id)) ?? (stopping ? null : await attempt(entry));
          if (away !== null) {
            for (const r of journal.runs)
              if (r.device === id && r.status === 'pending') {
                r.status = 'failed';
                r.error = away;
              }
            progress(`${away}: its remaining runs are marked failed`);
            await save();
            return;
          }
        }
        if (stopping) return;
      }
    };
    await Promise.all(spec.devices.map((d) => worker(d.id)));
    opts.signal?.removeEventListener('abort', onStop);
    const count = (s: SweepRunEntry['status']): number => journal.runs.filter((r) => r.status === s).length;
    journal.state = stopping ? 'stopped' : count('failed') > 0 ? 'failed' : 'finished';
    await save();
    return {
      state: journal.state,
      finished: count('finished'),
      failed: count('failed'),
      pending: count('pending') + count('running'),
      started,
    };
  } finally {
    if (opts.runs === undefined) await runs.close();
    if (opts.devices === undefined) await devices.close();
    await saving.catch(() => undefined);
  }
}

/**
 * Brings a resumed journal in line with the run folders: a run left `running` whose folder finished is adopted;
 * any other unfinished run with a folder has its device job cancelled and its folder deleted, and runs again.
 */
async function reconcile(
  journal: SweepJournal,
  runs: RunService,
  devices: SweepDevices,
  progress: (line: string) => void,
): Promise<void> {
  let adopted = 0;
  let again = 0;
  for (const entry of journal.runs) {
    if (entry.status === 'finished') continue;
    if (entry.status === 'failed') entry.attempts = 0;
    const folder = entry.runFolder;
    if (folder !== null) {
      let file: ReturnType<RunService['file']> | null = null;
      try {
        file = runs.file(folder);
      } catch {
        file = null;
      }
      if (file?.state === 'finished' && entry.status === 'running') {
        const events = await readEvents(runs.runDir(folder));
        entry.result = sweepRunResult(events);
        if (entry.thermal !== null) entry.thermal = { ...entry.thermal, ...measureRun(events).thermal };
        entry.status = 'finished';
        entry.error = null;
        adopted += 1;
        continue;
      }
      if (file !== null) {
        try {
          const { client } = devices.hub.pairedClient(devices.entryOf.get(entry.device)!);
          await client.cancel(file.deviceRunId).catch(() => undefined);
        } catch {
          // the device is not paired: nothing to cancel there
        }
        await runs.delete(folder).catch(() => false);
      }
      entry.runFolder = null;
    }
    if (entry.status !== 'pending') again += 1;
    entry.status = 'pending';
  }
  if (adopted + again > 0)
    progress(
      `resuming: ${adopted} run(s) finished while the sweep was away, ${again} interrupted or failed run(s) run again`,
    );
}

/**
 * Fills in what a sweep reads from the runs' final frames, decoding each clip once per fill: every finished run's
 * own clip scores (`clip`: flicker, and adherence where the prompt is in the Nano vocabulary; baselines and warm-ups
 * too), and each finished measured run's PSNR / SSIM against its baseline's final frames (`quality`) once both are
 * on disk (a baseline may finish after runs of another device of its role). Baseline clips are kept decoded. What is
 * in the journal is not computed again (a resumed sweep neither); a run whose frames cannot be read, or a pair that
 * cannot be compared (another shape), is logged and not tried again.
 */
class FrameMetricsFiller {
  private readonly baselineVideos = new Map<string, Promise<Video | null>>();
  private readonly given = new Set<string>();

  constructor(
    private readonly runs: RunService,
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  private read(folder: string): Promise<Video | null> {
    return readFinalVideo(this.runs.runDir(folder)).catch(() => null);
  }

  private baselineVideo(folder: string): Promise<Video | null> {
    let v = this.baselineVideos.get(folder);
    if (v === undefined) this.baselineVideos.set(folder, (v = this.read(folder)));
    return v;
  }

  /** True the first time it is asked for `what` of run `id`: each is tried once. */
  private first(what: 'clip' | 'quality', id: string): boolean {
    const key = `${what}/${id}`;
    if (this.given.has(key)) return false;
    this.given.add(key);
    return true;
  }

  async fill(journal: SweepJournal): Promise<void> {
    const baselines = sweepBaselines(journal);
    for (const run of journal.runs) {
      if (run.status !== 'finished' || run.runFolder === null) continue;
      const base = baselines.get(run.id);
      const clip = run.clip === null && this.first('clip', run.id);
      const baseFolder = base?.status === 'finished' ? base.runFolder : null;
      const quality = baseFolder !== null && run.quality === null && this.first('quality', run.id);
      if (!clip && !quality) continue;
      const video =
        run.kind === 'baseline' ? await this.baselineVideo(run.runFolder) : await this.read(run.runFolder);
      // Each score is a few milliseconds of work in the studio's main process: let the events it forwards in first.
      await yieldToEventLoop();
      if (clip) {
        try {
          if (video === null) throw new Error('its final frames cannot be read');
          run.clip = sweepClipScores(video, run.params.prompt);
        } catch (e) {
          this.log?.(`run ${run.id}: no flicker / adherence (${messageOf(e)})`);
        }
      }
      if (!quality) continue;
      const b = await this.baselineVideo(baseFolder);
      if (
        video === null ||
        b === null ||
        video.width !== b.width ||
        video.height !== b.height ||
        video.frames.length !== b.frames.length
      ) {
        this.log?.(`run ${run.id}: no PSNR / SSIM against its baseline (frames missing or of another shape)`);
        continue;
      }
      await yieldToEventLoop();
      const psnrDb = psnr(video, b).clip;
      await yieldToEventLoop();
      run.quality = { psnrDb, ssim: ssim(video, b).mean };
    }
  }
}
