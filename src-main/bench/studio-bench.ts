/**
 * `odsora bench studio`: event-to-screen latency and frame time of the real studio in real Chromium while it
 * streams a long run. The path measured is the product's own: device (a companion) → wire protocol → studio main
 * (run folder on disk, then the WebSocket bridge) → renderer (views consume the event, next animation frame).
 *
 * 1. Starts `odsora studio --web` (temporary HOME) and records a real run on its built-in device (the bundled
 *    Open-Sora Nano, `recordSteps` steps): the run folder's events.jsonl is the recorded log.
 * 2. Starts `odsora companion --replay <that log> --replay-rate R --replay-count N`, adds it to the studio by
 *    host:port and pairs with the code it printed, like a user on a network without mDNS.
 * 3. For each measured run: opens the live view, starts a run on the replay device, and when it finished reads
 *    the renderer's `window.__odsoraPerf.samples()` (per seq: received, painted; epoch ms), the page's animation
 *    frames and long tasks, and the run folder (per seq: `atMs` stamped by the companion at emission; plus the
 *    companion's `performance.timeOrigin` that is epoch ms).
 * 4. With `sweepRuns` > 0, a second phase: a real sweep on the built-in device (studio-bench-sweep.ts, at least
 *    `sweepRuns` measured runs of the bundled nano model) is started through the studio's API and a second window
 *    shows its Sweeps screen; the same measured runs are made again while the sweep streams, and the result gives both
 *    phases' medians and their ratio.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBenchReplayDevice, startBenchStudio, type BenchStudio } from './studio-bench-process';
import { rendererPids, startPhaseCpu, type PhaseCpu } from './studio-bench-cpu';
import { BenchSweep, benchSweepSpec, type BenchSweepReport } from './studio-bench-sweep';
import { FRAME_RECORDER_SCRIPT, launchBenchChromium, PAGE, type PageRecording } from './studio-bench-page';
import {
  achievedRate,
  frameIntervals,
  longTaskStats,
  matchLatencies,
  median,
  summarize,
  type RendererSample,
  type Summary,
} from './studio-stats';

/** Options of {@link runStudioBench}. */
export interface StudioBenchOptions {
  /** The built command line (out/cli/odsora.cjs). */
  cliPath: string;
  /** The checkout (for playwright-core). */
  root: string;
  /** Events per measured run (default 10,000). */
  events: number;
  /** Events per second the device emits (default 200). */
  ratePerSecond: number;
  /** Measured runs (the summary gives the median over them). */
  runs: number;
  /** Steps of the recorded nano run. */
  recordSteps: number;
  /** 0: no sweep phase; else the measured runs of the background sweep (at least; the grid rounds up). */
  sweepRuns: number;
  /** Denoising steps of each background sweep run. */
  sweepSteps: number;
  /** Show the sweep's Sweeps screen in a second window while measuring (default true). */
  sweepsWindow: boolean;
  log: (line: string) => void;
}

/** One measured run. */
export interface StudioBenchRun {
  runId: string;
  eventsEmitted: number;
  achievedEventsPerSecond: number;
  eventToScreenMs: Summary;
  transportMs: Summary;
  renderMs: Summary;
  /** Events the renderer has no sample for, and the first few of their seqs. */
  eventsWithoutSample: { count: number; firstSeqs: number[] };
  frameIntervalMs: Summary;
  longTasks: { count: number; totalMs: number; maxMs: number };
  /** WebSocket messages (and characters) the live page received during the run: its pushed events and replies. */
  socket: { messages: number; chars: number };
  /** The live page's JS heap when the run ended. */
  heapUsedBytes: number | null;
  wallMs: number;
}

/** The median of the runs of one phase. */
export interface PhaseMedian {
  eventToScreenP50Ms: number;
  eventToScreenP95Ms: number;
  frameIntervalP50Ms: number;
  frameIntervalP95Ms: number;
  longTasks: number;
  achievedEventsPerSecond: number;
}

/** The second phase: the same measured runs while a sweep streams into the studio. */
export interface DuringSweepPhase {
  sweep: BenchSweepReport;
  runs: StudioBenchRun[];
  median: PhaseMedian;
  /** The second window (the sweep's Sweeps screen) while the measured runs streamed; null without it. */
  sweepsWindow: {
    frameIntervalMs: Summary;
    longTasks: { count: number; totalMs: number; maxMs: number };
    socket: { messages: number; chars: number };
    heapUsedBytes: number | null;
  } | null;
  /** CPU time of each process over the phase (Linux only). */
  cpu: PhaseCpu | null;
  /** This phase's median over the first phase's (1 = unchanged). */
  ratio: { eventToScreenP50: number | null; eventToScreenP95: number | null };
}

/** What the bench prints. */
export interface StudioBenchResult {
  bench: 'studio';
  spans: Record<string, string>;
  /** `loadAverage1m`: the 1-minute load average at the start and the end (a busy 2-core VM skews every number). */
  machine: { cpus: number; chromium: string; node: string; loadAverage1m: { start: number; end: number } };
  config: {
    events: number;
    ratePerSecond: number;
    runs: number;
    recordSteps: number;
    sweepRuns: number;
    sweepSteps: number;
  };
  recorded: { engineEvents: number; steps: number; wallMs: number };
  /** The first phase (nothing else streams). */
  runs: StudioBenchRun[];
  median: PhaseMedian;
  /** CPU time of each process over the first phase (Linux only). */
  cpu: PhaseCpu | null;
  /** Present with `sweepRuns` > 0. */
  duringSweep?: DuringSweepPhase;
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

interface ListedRun {
  runId: string;
  state: string;
}
interface ListedDevice {
  id: string;
  port: number;
  status: string;
  sources: { builtin: boolean };
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
  intervalMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Waits for a run to end, asking `runs.list` once a second: the bench's own calls are work for the studio's main
 * process, which also forwards the events measured (each list is every run's summary, validated).
 */
async function waitForRunEnd(studio: BenchStudio, runId: string, timeoutMs: number): Promise<string> {
  return waitFor(
    `run ${runId} to end`,
    timeoutMs,
    async () => {
      const { runs } = await studio.call<{ runs: ListedRun[] }>('runs.list');
      const state = runs.find((r) => r.runId === runId)?.state;
      return state !== undefined && !['queued', 'running'].includes(state) ? state : null;
    },
    1000,
  );
}

/** The run folder's events: seq and the device's `atMs`. */
function readRunEvents(studio: BenchStudio, runId: string): { seq: number; type: string; atMs: number }[] {
  const text = readFileSync(join(studio.dataDir, 'runs', runId, 'events.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { seq: number; event: { type: string; atMs: number } })
    .map((e) => ({ seq: e.seq, type: e.event.type, atMs: e.event.atMs }));
}

/** Runs the bench; see the module comment. */
export async function runStudioBench(opts: StudioBenchOptions): Promise<StudioBenchResult> {
  const home = mkdtempSync(join(tmpdir(), 'odsora-bench-studio-'));
  const loadAtStart = loadavg()[0]!;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    opts.log('starting the studio (web mode) with its built-in device');
    const studio = await startBenchStudio(opts.cliPath, home);
    cleanups.push(() => studio.stop());
    await waitFor('the built-in device to pair', 240_000, async () => {
      const { devices } = await studio.call<{ devices: ListedDevice[] }>('devices.list');
      const builtin = devices.find((d) => d.sources.builtin);
      return builtin?.status === 'paired' ? builtin : null;
    });

    opts.log(`recording a ${opts.recordSteps}-step nano run on the built-in device`);
    const recordStart = Date.now();
    const recordRun = await studio.call<{ run: ListedRun }>('runs.start', {
      deviceId: 'builtin',
      params: { prompt: 'a red ball bouncing on green grass', seed: 1, steps: opts.recordSteps },
      label: 'bench studio: recording',
    });
    const recordState = await waitForRunEnd(studio, recordRun.run.runId, 600_000);
    if (recordState !== 'finished') throw new Error(`the recording run ended ${recordState}`);
    const logPath = join(studio.dataDir, 'runs', recordRun.run.runId, 'events.jsonl');
    const recorded = readRunEvents(studio, recordRun.run.runId);
    const engineEvents = recorded.filter((e) => !e.type.startsWith('run.') && e.type !== 'preview.ready');
    const recordedInfo = {
      engineEvents: engineEvents.length,
      steps: opts.recordSteps,
      wallMs: Date.now() - recordStart,
    };
    opts.log(`recorded ${engineEvents.length} engine events in ${recordedInfo.wallMs} ms`);
    if (engineEvents.length < opts.events)
      opts.log(`the log is shorter than ${opts.events} events: the replay repeats it (raise --record-steps)`);

    const device = await startBenchReplayDevice(opts.cliPath, home, {
      logPath,
      ratePerSecond: opts.ratePerSecond,
      count: opts.events,
    });
    cleanups.push(() => device.stop());
    const added = await studio.call<{ device: { id: string } }>('devices.addManual', {
      host: '127.0.0.1',
      port: device.ready.port,
    });
    // The entry is found by port: its id changes from `manual-…` to the device's own id once it answered.
    const answered = await waitFor('the replay device to answer', 30_000, async () => {
      const { devices } = await studio.call<{ devices: ListedDevice[] }>('devices.list');
      const d = devices.find((x) => x.id === added.device.id || x.port === device.ready.port);
      return d !== undefined && d.status !== 'connecting' && d.status !== 'discovered' ? d : null;
    });
    const paired = await studio.call<{ device: { id: string } }>('devices.pair', {
      deviceId: answered.id,
      code: device.ready.pairingCode,
    });
    const deviceId = paired.device.id;

    const browser = await launchBenchChromium(opts.root);
    cleanups.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.addInitScript({ content: FRAME_RECORDER_SCRIPT });
    const page = await context.newPage();
    await page.goto(studio.url);
    await page.getByTestId('nav-live').click({ timeout: 30_000 });
    if (!(await page.evaluate(PAGE.hasPerfProbe)))
      throw new Error('the studio page exposes no window.__odsoraPerf probe');

    const runs: StudioBenchRun[] = [];
    const quietCpu = startPhaseCpu();
    for (let r = 0; r < opts.runs; r++) {
      opts.log(`run ${r + 1}/${opts.runs}: ${opts.events} events at ${opts.ratePerSecond}/s`);
      runs.push(await measureRun(studio, page, deviceId, device.ready.timeOriginEpochMs, opts, r));
    }
    const median = phaseMedian(runs);
    const cpu = quietCpu();

    let duringSweep: DuringSweepPhase | undefined;
    if (opts.sweepRuns > 0) {
      opts.log(`starting a sweep of at least ${opts.sweepRuns} measured runs on the built-in device`);
      const sweep = await BenchSweep.start(studio, benchSweepSpec(opts.sweepRuns, opts.sweepSteps));
      // Its own window (a second browser context): a second tab of the same window would hide the live view's tab,
      // and Chromium throttles the animation frames of hidden tabs.
      const sweepsContext = opts.sweepsWindow
        ? await browser.newContext({ viewport: { width: 1440, height: 900 } })
        : null;
      const renderersBefore = rendererPids();
      const sweepsTab = sweepsContext === null ? null : await sweepsContext.newPage();
      if (sweepsContext !== null && sweepsTab !== null) {
        await sweepsContext.addInitScript({ content: FRAME_RECORDER_SCRIPT });
        await sweepsTab.goto(`${studio.url}#/sweeps/${encodeURIComponent(sweep.sweepId)}`);
        await sweepsTab.getByTestId('sweep-done').waitFor({ timeout: 30_000 });
      }
      const first = await waitFor('the sweep to finish its first run', 600_000, async () => {
        const p = await sweep.progress();
        if (p.state !== 'running')
          throw new Error(`the sweep ended ${p.state} before it ran: ${p.error ?? ''}`);
        return p.finished >= 1 ? p : null;
      });
      // Renderers that appeared with the second window are its own (a fresh browser context never shares one).
      const sweepsRenderers = new Set([...rendererPids()].filter((pid) => !renderersBefore.has(pid)));
      await sweepsTab?.evaluate(PAGE.startRecording);
      const sweepCpu = startPhaseCpu();
      const sweepRuns: StudioBenchRun[] = [];
      let runningThroughout = true;
      for (let r = 0; r < opts.runs; r++) {
        opts.log(`run ${r + 1}/${opts.runs} while the sweep streams`);
        if (!BenchSweep.running(await sweep.progress())) runningThroughout = false;
        sweepRuns.push(
          await measureRun(studio, page, deviceId, device.ready.timeOriginEpochMs, opts, opts.runs + r),
        );
        if (!BenchSweep.running(await sweep.progress())) runningThroughout = false;
      }
      const tab = (await sweepsTab?.evaluate(PAGE.stopRecording)) as PageRecording | undefined;
      const duringCpu = sweepCpu();
      for (const p of duringCpu?.processes ?? [])
        if (sweepsRenderers.has(p.pid)) p.label = `${p.label} (Sweeps window)`;
      await sweepsContext?.close();
      const atEnd = await sweep.progress();
      opts.log(`measured; waiting for the sweep to end (${atEnd.finished}/${atEnd.total} finished)`);
      const final = await sweep.finish(900_000);
      const sweepMedian = phaseMedian(sweepRuns);
      duringSweep = {
        sweep: {
          sweepId: sweep.sweepId,
          steps: opts.sweepSteps,
          planned: first.total,
          finishedAtMeasureStart: first.finished,
          finishedAtMeasureEnd: atEnd.finished,
          runningThroughout,
          final,
        },
        runs: sweepRuns,
        median: sweepMedian,
        sweepsWindow:
          tab === undefined
            ? null
            : {
                frameIntervalMs: summarize(frameIntervals(tab.frames)),
                longTasks: longTaskStats(tab.longTasks),
                socket: { messages: tab.socketMessages, chars: tab.socketChars },
                heapUsedBytes: tab.heapUsedBytes,
              },
        cpu: duringCpu,
        ratio: {
          eventToScreenP50: ratioOf(sweepMedian.eventToScreenP50Ms, median.eventToScreenP50Ms),
          eventToScreenP95: ratioOf(sweepMedian.eventToScreenP95Ms, median.eventToScreenP95Ms),
        },
      };
    }
    return {
      bench: 'studio',
      spans: {
        eventToScreenMs:
          'companion emit (its performance.timeOrigin + the event atMs, stamped when the replay runner hands the ' +
          'event to the companion server) -> first animation frame after the renderer views consumed it ' +
          '(__odsoraPerf paintedAtMs)',
        transportMs:
          'companion emit -> arrival of the pushed run.event in the renderer (__odsoraPerf receivedAtMs)',
        renderMs: 'arrival in the renderer -> painted',
        frameIntervalMs: 'intervals between requestAnimationFrame callbacks while the run streamed',
      },
      machine: {
        cpus: availableParallelism(),
        chromium: browser.version(),
        node: process.version,
        loadAverage1m: { start: loadAtStart, end: loadavg()[0]! },
      },
      config: {
        events: opts.events,
        ratePerSecond: opts.ratePerSecond,
        runs: opts.runs,
        recordSteps: opts.recordSteps,
        sweepRuns: opts.sweepRuns,
        sweepSteps: opts.sweepSteps,
      },
      recorded: recordedInfo,
      runs,
      median,
      cpu,
      ...(duringSweep !== undefined ? { duringSweep } : {}),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
}

function phaseMedian(runs: readonly StudioBenchRun[]): PhaseMedian {
  return {
    eventToScreenP50Ms: median(runs.map((r) => r.eventToScreenMs.p50)),
    eventToScreenP95Ms: median(runs.map((r) => r.eventToScreenMs.p95)),
    frameIntervalP50Ms: median(runs.map((r) => r.frameIntervalMs.p50)),
    frameIntervalP95Ms: median(runs.map((r) => r.frameIntervalMs.p95)),
    longTasks: median(runs.map((r) => r.longTasks.count)),
    achievedEventsPerSecond: median(runs.map((r) => r.achievedEventsPerSecond)),
  };
}

const ratioOf = (a: number, b: number): number | null =>
  b > 0 && Number.isFinite(a) ? Math.round((a / b) * 1000) / 1000 : null;

async function measureRun(
  studio: BenchStudio,
  page: Page,
  deviceId: string,
  timeOriginEpochMs: number,
  opts: StudioBenchOptions,
  index: number,
): Promise<StudioBenchRun> {
  await page.evaluate(PAGE.resetPerf);
  await page.evaluate(PAGE.startRecording);
  const started = Date.now();
  const { run } = await studio.call<{ run: ListedRun }>('runs.start', {
    deviceId,
    params: { prompt: 'replayed run', seed: index + 1, steps: 30 },
    label: `bench studio: replay ${index + 1}`,
  });
  // The run's own route: with a sweep running, "the newest run" is soon one of the sweep's.
  await page.evaluate(`window.location.hash = ${JSON.stringify(`#/live/${encodeURIComponent(run.runId)}`)}`);
  const expectedMs = (opts.events / opts.ratePerSecond) * 1000;
  const state = await waitForRunEnd(studio, run.runId, expectedMs * 3 + 60_000);
  if (state !== 'finished') throw new Error(`replayed run ${run.runId} ended ${state}`);
  // Let the last events reach the screen.
  await sleep(1000);
  const recording = (await page.evaluate(PAGE.stopRecording)) as PageRecording;
  const samples = (await page.evaluate(PAGE.perfSamples)) as RendererSample[];
  const events = readRunEvents(studio, run.runId);
  const emitted = new Map(events.map((e) => [e.seq, timeOriginEpochMs + e.atMs] as const));
  const spans = matchLatencies(emitted, samples);
  if (spans.eventToScreen.length < events.length / 2)
    throw new Error(
      `the renderer timed only ${spans.eventToScreen.length} of ${events.length} events of run ${run.runId}: ` +
        'the live view did not follow the measured run',
    );
  const engine = events.filter((e) => !e.type.startsWith('run.')).map((e) => e.atMs);
  return {
    runId: run.runId,
    eventsEmitted: events.length,
    achievedEventsPerSecond: achievedRate(engine),
    eventToScreenMs: summarize(spans.eventToScreen),
    transportMs: summarize(spans.transport),
    renderMs: summarize(spans.render),
    eventsWithoutSample: { count: spans.missing.length, firstSeqs: spans.missing.slice(0, 10) },
    frameIntervalMs: summarize(frameIntervals(recording.frames)),
    longTasks: longTaskStats(recording.longTasks),
    socket: { messages: recording.socketMessages, chars: recording.socketChars },
    heapUsedBytes: recording.heapUsedBytes,
    wallMs: Date.now() - started,
  };
}
