/**
 * The read side of history: one run's detail (`runs.get`), pages of its stored events (`runs.events`) and frames
 * (`runs.frames`), and the comparison of two runs' final frames (`runs.compare`) with `shared/metrics`.
 */
import { psnr, ssim, temporalFlicker } from '../../../shared/metrics/index';
import type { Video } from '../../../shared/metrics/video';
import type { CompareResult, RunDetail } from '../../../shared/protocol/studio-contract';
import { measureRun, ratio, type RunMeasures } from '../../../shared/report/measures';
import { StudioServiceError } from './errors';
import { readEventLog, type EventLogRead, type StoredEvent } from './run-folder';
import { readFinalVideo, readFramePage, type FrameSet, type StoredFramePage } from './run-frames';
import type { RunService } from './run-service';

/** Reads run folders through the run service (which knows which runs exist and which are live). */
export class RunHistory {
  /** Runs whose damaged event log was already logged. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly runs: RunService,
    private readonly log?: (line: string) => void,
  ) {}

  /** The stored events of a run (the whole log; lines that cannot be read are skipped, logged once per run). */
  async events(runId: string): Promise<StoredEvent[]> {
    return (await this.eventLog(runId)).events;
  }

  /** The stored events of a run and what was skipped reading them. */
  private async eventLog(runId: string): Promise<EventLogRead> {
    const read = await readEventLog(this.runs.runDir(runId), { live: this.runs.isLive(runId) });
    if (read.problem !== null && !this.reported.has(runId)) {
      this.reported.add(runId);
      this.log?.(`run ${runId}: ${read.problem}`);
    }
    return read;
  }

  /** The measurements of a run's log. */
  async measures(runId: string): Promise<RunMeasures> {
    return measureRun(await this.events(runId));
  }

  /** `runs.get`. */
  async detail(runId: string): Promise<RunDetail> {
    const run = this.runs.get(runId);
    const file = this.runs.file(runId);
    const stored = await this.eventLog(runId);
    const m = measureRun(stored.events);
    return {
      run,
      params: file.params,
      preview: file.preview,
      device: {
        name: file.device.name,
        model: file.device.model,
        simulated: file.device.simulated,
        engineVersion: file.device.engineVersion,
      },
      baselineOf: file.baselineOf,
      baselineRunId: file.baselineRunId,
      wallMs: m.wallMs,
      peakResidentBytes: m.peakResidentBytes,
      eventLogProblem: stored.problem,
    };
  }

  /** `runs.events`: up to `limit` events with seq > `afterSeq`, and the last stored seq. */
  async eventPage(
    runId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ events: StoredEvent[]; lastSeq: number }> {
    const all = await this.events(runId);
    const start = all.findIndex((e) => e.seq > afterSeq);
    return {
      events: start < 0 ? [] : all.slice(start, start + limit),
      lastSeq: all.at(-1)?.seq ?? 0,
    };
  }

  /** `runs.frames`. */
  async framePage(runId: string, which: FrameSet, from: number, limit: number): Promise<StoredFramePage> {
    return readFramePage(this.runs.runDir(runId), which, from, limit);
  }

  /** A run's final frames, or a `bad-request` naming why there are none. */
  async finalVideo(runId: string): Promise<Video> {
    const video = await readFinalVideo(this.runs.runDir(runId));
    if (video === null) {
      const state = this.runs.get(runId).state;
      throw new StudioServiceError(
        'bad-request',
        state === 'finished'
          ? `run ${runId} has no stored frames`
          : `run ${runId} is ${state}: only finished runs have frames to compare`,
      );
    }
    return video;
  }

  /** `runs.compare`: A against B on the final frames, with A's speedup over B and A's peak memory over B's. */
  async compare(runA: string, runB: string): Promise<CompareResult> {
    const [a, b] = [await this.finalVideo(runA), await this.finalVideo(runB)];
    if (a.frames.length !== b.frames.length)
      throw new StudioServiceError(
        'bad-request',
        `the runs have different frame counts: ${runA} has ${a.frames.length}, ${runB} has ${b.frames.length}`,
      );
    if (a.width !== b.width || a.height !== b.height)
      throw new StudioServiceError(
        'bad-request',
        `the runs have different frame sizes: ${runA} is ${a.width}×${a.height}, ${runB} is ${b.width}×${b.height}`,
      );
    const [ma, mb] = [await this.measures(runA), await this.measures(runB)];
    return compareVideos(a, b, ma, mb);
  }
}

/** The comparison numbers of two same-shaped clips and their runs' measurements. */
function compareVideos(a: Video, b: Video, ma: RunMeasures, mb: RunMeasures): CompareResult {
  const p = psnr(a, b);
  const s = ssim(a, b);
  const fa = temporalFlicker(a);
  const fb = temporalFlicker(b);
  const pairScore = (mad: number | undefined): number | null =>
    mad === undefined ? null : (255 - mad) / 255;
  return {
    frames: a.frames.length,
    width: a.width,
    height: a.height,
    perFrame: a.frames.map((_, i) => ({
      index: i,
      psnr: p.perFrame[i]!,
      ssim: s.perFrame[i]!,
      flickerA: i === 0 ? null : pairScore(fa.perPair[i - 1]),
      flickerB: i === 0 ? null : pairScore(fb.perPair[i - 1]),
    })),
    clip: { psnr: p.clip, ssim: s.mean, flickerA: fa.score, flickerB: fb.score },
    timing: { wallMsA: ma.wallMs, wallMsB: mb.wallMs, speedup: ratio(ma.wallMs, mb.wallMs) },
    memory: {
      peakA: ma.peakResidentBytes,
      peakB: mb.peakResidentBytes,
      ratio: ratio(mb.peakResidentBytes, ma.peakResidentBytes),
    },
  };
}
