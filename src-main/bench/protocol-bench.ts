/**
 * `odsora bench protocol`: the wire protocol's throughput and latency over loopback, against a real companion
 * process (`odsora companion --json --port 0 --no-advertise`) running real runs on a model directory.
 *
 * - events/s: a finished run's whole log replayed to a fresh subscription (`run.subscribe` fromSeq 1), timed from
 *   the request to the terminal event: pure protocol + JSON + validation cost, no engine in the way;
 * - live events/s and preview throughput: a run with a preview every step, streamed live (frames/s, MiB/s);
 * - engine-event-to-client latency p50/p99: each live event's arrival time minus its `atMs`. The device's clock
 *   has another origin, so the constant offset is removed by taking the smallest difference per clock domain
 *   (run-level events are stamped by the server, engine events by the engine) as the base one-way latency, which
 *   is estimated as half the median JSON ping round trip. Latency = (recv - atMs) - min + rtt/2.
 */
import { percentile } from '../../shared/metrics/percentile';
import { CompanionClient, MemoryKeyStore, type SeqEvent } from '../devices/companion-client';
import { startCompanionChild } from './companion-child';

/** Options of {@link runProtocolBench}. */
export interface ProtocolBenchOptions {
  /** Model directory for `--models` (required: the bench runs the real engine). */
  models: string;
  /** The built command line (default out/cli/odsora.cjs under the current directory). */
  cliPath?: string;
  /** Denoising steps of each run (default 40: many events per run). */
  steps?: number;
  /** Live runs to time (default 3). */
  runs?: number;
  /** Replays of a finished log to time (default 5). */
  replays?: number;
  /** JSON pings for the round-trip estimate (default 50). */
  pings?: number;
  /** Preview edge (default 64). */
  previewEdgePx?: number;
  profile?: 'iphone-15-pro' | 'desktop' | 'gpu';
}

/** What {@link runProtocolBench} returns (printed as JSON). */
export interface ProtocolBenchResult {
  transport: 'ws loopback';
  steps: number;
  runs: number;
  eventsPerRun: number;
  replay: { eventsPerSecond: number; events: number; ms: number[] };
  live: { eventsPerSecond: number; runMs: number[] };
  previews: {
    framesPerSecond: number;
    mebibytesPerSecond: number;
    frames: number;
    bytes: number;
    width: number;
    height: number;
  };
  latencyMs: { p50: number; p99: number; max: number; samples: number; method: string };
  pingRttMs: { p50: number; p99: number };
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

/** Runs the bench; resolves with numbers. Spawns and kills its own companion process. */
export async function runProtocolBench(opts: ProtocolBenchOptions): Promise<ProtocolBenchResult> {
  const steps = opts.steps ?? 40;
  const runs = opts.runs ?? 3;
  const replays = opts.replays ?? 5;
  const companion = await startCompanionChild({
    models: opts.models,
    ...(opts.cliPath === undefined ? {} : { cliPath: opts.cliPath }),
    profile: opts.profile ?? 'desktop',
  });
  const client = new CompanionClient({ keyStore: new MemoryKeyStore(), clientName: 'protocol bench' });
  try {
    const ready = companion;
    await client.connect('127.0.0.1', ready.port);
    await client.pair(ready.pairingCode);

    const rtts: number[] = [];
    for (let i = 0; i < (opts.pings ?? 50); i++) rtts.push(await client.ping());
    rtts.sort((a, b) => a - b);
    const halfRtt = percentile(rtts, 50, 'nearest-rank') / 2;

    // Warm-up run (model load, first-use conversion).
    const edge = opts.previewEdgePx ?? 64;
    const preview = { everySteps: 1, maxEdgePx: edge, format: 'image-rgb8' as const };
    const params = { prompt: 'a red ball rolls on grass', seed: 1, steps };
    const warm = await client.startRun(params, { preview });
    const warmSub = await client.subscribe(warm.runId, 1, () => undefined);
    await warmSub.done;

    const runMs: number[] = [];
    const latencies: number[] = [];
    let liveEvents = 0;
    let previewFrames = 0;
    let previewBytes = 0;
    let previewMs = 0;
    let pw = 0;
    let ph = 0;
    let lastRunId = warm.runId;
    for (let r = 0; r < runs; r++) {
      const { runId } = await client.startRun({ ...params, seed: r + 2 }, { preview });
      lastRunId = runId;
      const arrivals: { e: SeqEvent; at: number }[] = [];
      let firstPreviewAt = 0;
      let lastPreviewAt = 0;
      const t0 = performance.now();
      const sub = await client.subscribe(runId, 1, (e) => arrivals.push({ e, at: performance.now() }), {
        onPreview: (p) => {
          const now = performance.now();
          if (firstPreviewAt === 0) firstPreviewAt = now;
          lastPreviewAt = now;
          previewFrames++;
          previewBytes += p.frame.payload.length;
          pw = p.frame.dims[1] ?? 0;
          ph = p.frame.dims[0] ?? 0;
        },
      });
      await sub.done;
      runMs.push(performance.now() - t0);
      liveEvents += arrivals.length;
      previewMs += lastPreviewAt - firstPreviewAt;
      // Per clock domain: run-level events (server) and engine events.
      const domains = new Map<string, { d: number }[]>();
      for (const a of arrivals) {
        const t = a.e.event.type;
        const domain = t.startsWith('run.') || t === 'preview.ready' ? 'server' : 'engine';
        if (a.e.seq === 1) continue; // run.queued predates the subscription
        const list = domains.get(domain) ?? [];
        list.push({ d: a.at - a.e.event.atMs });
        domains.set(domain, list);
      }
      for (const list of domains.values()) {
        const min = Math.min(...list.map((x) => x.d));
        for (const x of list) latencies.push(x.d - min + halfRtt);
      }
    }

    // Replay throughput.
    const replayMs: number[] = [];
    let replayEvents = 0;
    for (let i = 0; i < replays; i++) {
      let n = 0;
      const t0 = performance.now();
      const sub = await client.subscribe(lastRunId, 1, () => n++);
      await sub.done;
      replayMs.push(performance.now() - t0);
      replayEvents = n;
      await sub.close();
    }
    latencies.sort((a, b) => a - b);
    const totalReplayMs = replayMs.reduce((a, b) => a + b, 0);
    const totalRunMs = runMs.reduce((a, b) => a + b, 0);
    return {
      transport: 'ws loopback',
      steps,
      runs,
      eventsPerRun: replayEvents,
      replay: {
        eventsPerSecond: round((replayEvents * replays) / (totalReplayMs / 1000), 0),
        events: replayEvents,
        ms: replayMs.map((x) => round(x, 1)),
      },
      live: {
        eventsPerSecond: round(liveEvents / (totalRunMs / 1000), 0),
        runMs: runMs.map((x) => round(x, 1)),
      },
      previews: {
        framesPerSecond: previewMs > 0 ? round(previewFrames / (previewMs / 1000), 1) : 0,
        mebibytesPerSecond: previewMs > 0 ? round(previewBytes / 2 ** 20 / (previewMs / 1000), 2) : 0,
        frames: previewFrames,
        bytes: previewBytes,
        width: pw,
        height: ph,
      },
      latencyMs: {
        p50: round(percentile(latencies, 50, 'nearest-rank')),
        p99: round(percentile(latencies, 99, 'nearest-rank')),
        max: round(latencies[latencies.length - 1] ?? NaN),
        samples: latencies.length,
        method: '(recv - atMs) - min per clock domain + median ping RTT / 2',
      },
      pingRttMs: {
        p50: round(percentile(rtts, 50, 'nearest-rank')),
        p99: round(percentile(rtts, 99, 'nearest-rank')),
      },
    };
  } finally {
    await client.close().catch(() => undefined);
    await companion.stop();
  }
}
