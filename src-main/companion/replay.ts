/**
 * A companion engine runner that replays a recorded event log instead of running the model: for `odsora companion
 * --replay <log>`, which `odsora bench studio` uses to stream a long run (10,000+ events) at a controlled rate
 * through the real companion server, wire protocol, studio and renderer. Each recorded engine event is emitted at
 * its scheduled time (`i / rate` seconds after the run starts) with `atMs` restamped from the companion's clock at
 * the moment of emission, so `atMs` is exactly when the "device" produced the event. Run-level events
 * (`run.*`, `preview.ready`) in the log are skipped: the companion's run queue makes its own.
 */
import type { EngineEvent } from '../../shared/engine/telemetry';
import type { Clock } from '../../shared/engine/ports';
import { AbortError } from '../../shared/engine/cidl/abort';
import type { EngineJob, EngineRunner, EngineRunResult } from '../../shared/companion/server-ports';
import { engineEventSchema } from '../../shared/protocol/engine-events';

/** A recorded log read for replay. */
export interface ReplayLog {
  /** The engine events, in log order. */
  events: EngineEvent[];
  /** Run-level events (`run.*`, `preview.ready`) left out. */
  skipped: number;
}

/**
 * Reads a recorded event log: JSON lines that are either `{"seq":N,"event":{…}}` (a studio run folder's
 * `events.jsonl`, a companion's log) or a bare event. Each engine event is validated; a bad line is an error naming
 * its line number.
 */
export function parseReplayLog(text: string): ReplayLog {
  const events: EngineEvent[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new Error(`replay log line ${i + 1}: not JSON`);
    }
    const event: unknown =
      typeof raw === 'object' && raw !== null && 'event' in raw ? (raw as { event: unknown }).event : raw;
    const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
    if (typeof type !== 'string') throw new Error(`replay log line ${i + 1}: no event type`);
    if (type.startsWith('run.') || type === 'preview.ready') {
      skipped += 1;
      continue;
    }
    const parsed = engineEventSchema.safeParse(event);
    if (!parsed.success)
      throw new Error(
        `replay log line ${i + 1}: not an engine event (${parsed.error.issues[0]?.message ?? ''})`,
      );
    events.push(parsed.data as EngineEvent);
  }
  if (events.length === 0) throw new Error('replay log holds no engine events');
  return { events, skipped };
}

/** Options of {@link ReplayEngineRunner}. */
export interface ReplayRunnerOptions {
  /** The recorded engine events; repeated from the start when `count` asks for more. */
  events: readonly EngineEvent[];
  /** Events per second (> 0). */
  ratePerSecond: number;
  /** Events per run (default: the log's length). */
  count?: number;
  /** The companion's monotonic clock (the one that stamps run-level events). */
  clock: Clock;
  /** Waits (default setTimeout); tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Side of the square frames a replayed run returns (there is no model output to replay). */
const REPLAY_FRAME_PX = 16;
const REPLAY_FRAMES = 4;

/**
 * Replays the log for every job. Events are emitted on schedule: each wait sleeps until the next event is due and
 * then emits every event that is due (a late timer catches up rather than drifting), so the mean rate is exact.
 */
export class ReplayEngineRunner implements EngineRunner {
  readonly backendName = 'replay';
  private readonly count: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: ReplayRunnerOptions) {
    if (!(opts.ratePerSecond > 0) || !Number.isFinite(opts.ratePerSecond))
      throw new Error(
        `replay rate must be a positive number of events per second, got ${opts.ratePerSecond}`,
      );
    if (opts.events.length === 0) throw new Error('replay needs at least one recorded event');
    this.count = opts.count ?? opts.events.length;
    if (!Number.isInteger(this.count) || this.count < 1)
      throw new Error(`replay event count must be a positive integer, got ${this.count}`);
    this.sleep = opts.sleep ?? realSleep;
  }

  async run(job: EngineJob): Promise<EngineRunResult> {
    const { clock, ratePerSecond } = this.opts;
    const startMs = clock.nowMs();
    const intervalMs = 1000 / ratePerSecond;
    let stepsRun = 0;
    for (let i = 0; i < this.count;) {
      const wait = startMs + i * intervalMs - clock.nowMs();
      if (wait > 0) await this.sleep(wait);
      if (job.signal.aborted) throw new AbortError('replay cancelled', { cause: job.signal.reason });
      // Emit everything due now (one event normally; several after a late timer).
      const now = clock.nowMs();
      while (i < this.count && startMs + i * intervalMs <= now) {
        const recorded = this.opts.events[i % this.opts.events.length]!;
        if (recorded.type === 'step.end') stepsRun += 1;
        job.emit({ ...recorded, atMs: clock.nowMs() });
        i += 1;
      }
    }
    const totalMs = clock.nowMs() - startMs;
    return {
      width: REPLAY_FRAME_PX,
      height: REPLAY_FRAME_PX,
      fps: 8,
      stepsRun,
      frames: replayFrames(),
      timings: { loadMs: 0, textMs: 0, denoiseMs: totalMs, decodeMs: 0, totalMs },
    };
  }
}

/** Small grey-ramp RGB frames: a replayed run has no model output, but a finished run needs frames. */
function replayFrames(): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let f = 0; f < REPLAY_FRAMES; f++) {
    const rgb = new Uint8Array(REPLAY_FRAME_PX * REPLAY_FRAME_PX * 3);
    for (let p = 0; p < REPLAY_FRAME_PX * REPLAY_FRAME_PX; p++)
      rgb.fill((p * 4 + f * 32) & 255, p * 3, p * 3 + 3);
    frames.push(rgb);
  }
  return frames;
}
