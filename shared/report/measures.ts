/**
 * Measurements of one run, derived from its event log alone (through the one run fold, run-fold.ts): per-step latency and cosine (leap and merged steps
 * marked), per-block load and compute totals, resident block bytes over time against the budget, the phase
 * breakdown, the wall time and the peak resident bytes. The studio's `runs.get`/`runs.compare` and every report
 * format use these, so the numbers agree everywhere.
 */
import type { BlockPlacement } from '../engine/execution-provider';
import type { Stage } from '../engine/telemetry';
import type { RunEvent, RunState } from '../protocol/run';
import type { RunMetrics } from '../protocol/studio-contract';
import { median } from '../metrics/video';
import type { ThermalState } from '../protocol/thermal';
import { emptyRunView, foldEvent, type RunView } from './run-fold';

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
  /** Where its computes ran (run-fold.ts BlockLane.placement); null when the log does not say. */
  placement: BlockPlacement | null;
}

/** Resident block bytes after an event (`atMs` since the run's first event). */
export interface ResidencyPoint {
  atMs: number;
  residentBytes: number;
  budgetBytes: number | null;
}

/** One pipeline phase. */
export interface PhaseMeasure {
  stage: Stage;
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
  /** The device's thermal state at the run's start and end (null: unknown, or not reported). */
  thermal: { start: ThermalState | null; end: ThermalState | null };
}

/**
 * Derives {@link RunMeasures} from a run's log (events in seq order): every event goes through the one run fold
 * (run-fold.ts), the same one the live views and the phone fold, and the measures are read off its state.
 */
export function measureRun(events: readonly SeqRunEvent[]): RunMeasures {
  const view = emptyRunView();
  // By position, not by the stored seq: every stored event counts, as it always has.
  events.forEach(({ event }, i) => foldEvent(view, i + 1, event));
  return measuresOf(view);
}

const TERMINAL: Partial<Record<RunState, string>> = {
  finished: 'run.finished',
  failed: 'run.failed',
  cancelled: 'run.cancelled',
  interrupted: 'run.interrupted',
};

/** The {@link RunMeasures} of a folded run (times relative to its first event). */
export function measuresOf(view: RunView): RunMeasures {
  const origin = view.originMs ?? 0;
  const steps: StepMeasure[] = [];
  for (const s of view.steps)
    if (s !== undefined && s.latencyMs !== null && s.endMs !== null)
      steps.push({
        step: s.step,
        t: s.t,
        latencyMs: s.latencyMs,
        cosine: s.cosine,
        merged: s.merged,
        leapt: s.leapt,
        endAtMs: s.endMs - origin,
      });
  let peak: number | null = null;
  const residency: ResidencyPoint[] = [];
  for (const p of view.residency) {
    if (peak === null || p.residentBytes > peak) peak = p.residentBytes;
    residency.push({ atMs: p.atMs - origin, residentBytes: p.residentBytes, budgetBytes: p.budgetBytes });
  }
  const f = view.finished;
  return {
    steps,
    blocks: view.lanes.map((l) => ({
      block: l.block,
      bytes: l.bytes,
      loads: l.loads,
      loadMs: l.loadMs,
      computes: l.computes,
      computeMs: l.computeMs,
      releases: l.releases.length,
      placement: l.placement,
    })),
    residency,
    phases: view.stageEnds.map((e) => ({ stage: e.stage, durationMs: e.durationMs })),
    budgetBytes: view.highestBudgetBytes,
    wallMs: f ? f.totalMs : null,
    peakResidentBytes: peak,
    leapStep: view.leapStep,
    mergedSteps: [...view.mergedSteps],
    output: f
      ? { frames: f.frames, width: f.width, height: f.height, fps: f.fps, stepsRun: f.stepsRun }
      : null,
    terminal: view.state === null ? null : (TERMINAL[view.state] ?? null),
    thermal: { ...view.thermal },
  };
}

/** `b / a` when both are positive numbers, else null (a speedup of A over B is `ratio(wallA, wallB)`). */
export function ratio(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && a > 0 && b >= 0 ? b / a : null;
}

/** A run's headline numbers (what history lists and sorts by), read off its measures. */
export function runMetrics(m: RunMeasures): RunMetrics {
  const denoise = m.phases.filter((p) => p.stage === 'denoise');
  return {
    wallMs: m.wallMs,
    denoiseMs: denoise.length === 0 ? null : denoise.reduce((sum, p) => sum + p.durationMs, 0),
    medianStepMs: m.steps.length === 0 ? null : median(m.steps.map((s) => s.latencyMs)),
    peakResidentBytes: m.peakResidentBytes,
    frames: m.output?.frames ?? null,
  };
}
