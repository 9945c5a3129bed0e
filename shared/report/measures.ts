/**
 * Measurements of one run, derived from its event log alone: per-step latency and cosine (leap and merged steps
 * marked), per-block load and compute totals, resident block bytes over time against the budget, the phase
 * breakdown, the wall time and the peak resident bytes. The studio's `runs.get`/`runs.compare` and every report
 * format use these, so the numbers agree everywhere.
 */
import type { RunEvent } from '../protocol/run';

/** One event of a stored log. */
export interface SeqRunEvent {
  readonly seq: number;
  readonly event: RunEvent;
}

/** One denoising step. */
export interface StepMeasure {
  step: number;
  t: number;
  latencyMs: number;
  cosine: number | null;
  merged: boolean;
  leapt: boolean;
  /** Since the run's first event. */
  endAtMs: number;
}

/** One CI-DL block. */
export interface BlockMeasure {
  block: string;
  bytes: number;
  loads: number;
  loadMs: number;
  computes: number;
  computeMs: number;
  releases: number;
}

/** Resident block bytes after an event (`atMs` since the run's first event). */
export interface ResidencyPoint {
  atMs: number;
  residentBytes: number;
  budgetBytes: number | null;
}

/** One pipeline phase. */
export interface PhaseMeasure {
  stage: 'load' | 'text' | 'denoise' | 'decode';
  durationMs: number;
}

/** Everything measured from one run's log. */
export interface RunMeasures {
  steps: StepMeasure[];
  blocks: BlockMeasure[];
  residency: ResidencyPoint[];
  phases: PhaseMeasure[];
  /** The highest budget seen in `plan` and block events (null: unlimited or no CI-DL events). */
  budgetBytes: number | null;
  /** `run.finished`'s total time; null until the run finished. */
  wallMs: number | null;
  /** Highest resident block bytes in the block events; null when the log has none. */
  peakResidentBytes: number | null;
  /** The step the LPL leap happened at (the first step marked `leapt`), or null. */
  leapStep: number | null;
  mergedSteps: number[];
  /** `run.finished`'s frame geometry, or null. */
  output: { frames: number; width: number; height: number; fps: number; stepsRun: number } | null;
  /** The terminal event type (`run.finished`, …) or null while the log has none. */
  terminal: string | null;
}

/** Derives {@link RunMeasures} from a run's log (events in seq order). */
export function measureRun(events: readonly SeqRunEvent[]): RunMeasures {
  const origin = events[0]?.event.atMs ?? 0;
  const steps: StepMeasure[] = [];
  const blocks = new Map<string, BlockMeasure>();
  const loadStart = new Map<string, number>();
  const computeStart = new Map<string, number>();
  const residency: ResidencyPoint[] = [];
  const phases: PhaseMeasure[] = [];
  let budgetBytes: number | null = null;
  let wallMs: number | null = null;
  let peak: number | null = null;
  let output: RunMeasures['output'] = null;
  let terminal: string | null = null;
  const block = (id: string, bytes = 0): BlockMeasure => {
    let b = blocks.get(id);
    if (!b) {
      b = { block: id, bytes, loads: 0, loadMs: 0, computes: 0, computeMs: 0, releases: 0 };
      blocks.set(id, b);
    }
    if (bytes > b.bytes) b.bytes = bytes;
    return b;
  };
  const budget = (bytes: number | null): void => {
    if (bytes !== null && (budgetBytes === null || bytes > budgetBytes)) budgetBytes = bytes;
  };
  for (const { event: e } of events) {
    const at = e.atMs - origin;
    switch (e.type) {
      case 'step.end':
        steps.push({
          step: e.step,
          t: e.t,
          latencyMs: e.latencyMs,
          cosine: e.cosine,
          merged: e.merged,
          leapt: e.leapt,
          endAtMs: at,
        });
        break;
      case 'stage.end':
        phases.push({ stage: e.stage, durationMs: e.durationMs });
        break;
      case 'plan':
        budget(e.budgetBytes);
        break;
      case 'block.load.start':
      case 'block.load.end':
      case 'block.release': {
        const b = block(e.block, e.bytes);
        budget(e.budgetBytes);
        residency.push({ atMs: at, residentBytes: e.residentBytes, budgetBytes: e.budgetBytes });
        if (peak === null || e.residentBytes > peak) peak = e.residentBytes;
        if (e.type === 'block.load.start') loadStart.set(e.block, e.atMs);
        else if (e.type === 'block.load.end') {
          b.loads++;
          b.loadMs += e.atMs - (loadStart.get(e.block) ?? e.atMs);
        } else b.releases++;
        break;
      }
      case 'block.compute.start':
        block(e.block);
        computeStart.set(e.block, e.atMs);
        break;
      case 'block.compute.end': {
        const b = block(e.block);
        b.computes++;
        b.computeMs += e.atMs - (computeStart.get(e.block) ?? e.atMs);
        break;
      }
      case 'run.finished':
        wallMs = e.timings.totalMs;
        output = { frames: e.frames, width: e.width, height: e.height, fps: e.fps, stepsRun: e.stepsRun };
        terminal = e.type;
        break;
      case 'run.failed':
      case 'run.cancelled':
      case 'run.interrupted':
        terminal = e.type;
        break;
      default:
        break;
    }
  }
  const leap = steps.find((s) => s.leapt);
  return {
    steps,
    blocks: [...blocks.values()],
    residency,
    phases,
    budgetBytes,
    wallMs,
    peakResidentBytes: peak,
    leapStep: leap ? leap.step : null,
    mergedSteps: steps.filter((s) => s.merged).map((s) => s.step),
    output,
    terminal,
  };
}

/** `b / a` when both are positive numbers, else null (a speedup of A over B is `ratio(wallA, wallB)`). */
export function ratio(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && a > 0 && b >= 0 ? b / a : null;
}
