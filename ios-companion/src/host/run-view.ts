/**
 * The current run as the run screen shows it: stage, step, last step latency, resident block bytes against the
 * budget, where the blocks ran (all read off the one run fold, shared/report/run-fold.ts, that the studio's live
 * view and report use), the thermal state at its start and end, and the newest preview frame.
 */
import type { PreviewImages } from '../../../shared/companion/server-ports';
import type { EngineEvent, Stage } from '../../../shared/engine/telemetry';
import { thermalLabel, type ThermalState } from '../../../shared/protocol/thermal';
import { placementSummary } from '../../../shared/report/placement';
import { emptyRunView, foldEvent, type RunView as RunFold } from '../../../shared/report/run-fold';

/** The run screen's state. */
export interface RunView {
  runId: string;
  status: 'running' | 'finished' | 'failed' | 'cancelled';
  /** Why it failed or was cancelled. */
  message: string | null;
  stage: Stage | null;
  /** Steps finished so far, and the number asked for (null: the model's default). */
  stepsDone: number;
  stepsRequested: number | null;
  lastStepMs: number | null;
  /** Block bytes resident now, the most ever resident in this run, and the CI-DL budget (null: none). */
  residentBytes: number;
  peakResidentBytes: number;
  budgetBytes: number | null;
  /** Blocks per placement, in the studio's words (`CPU 5 blocks · Core ML 8 blocks`); '' while no block said. */
  placements: string;
  /**
   * The thermal state recorded on the run's `run.started` (`start`) and terminal event (`end`): the same readings
   * (see {@link noteRunThermal}); undefined until read, null when the device could not tell.
   */
  thermal: { start: ThermalState | null | undefined; end: ThermalState | null | undefined };
  /** The newest preview: its first frame as RGB (`image-rgb8`), or null. */
  preview: { step: number; width: number; height: number; rgb: Uint8Array } | null;
  /**
   * The run's fold, owned by the run's latest view: folding mutates it, and each snapshot copies the numbers it
   * shows out of it (so an older snapshot keeps its own).
   */
  fold: RunFold;
}

/** A new running run; `thermalAtStart`: the reading its `run.started` carries. */
export function startRunView(
  runId: string,
  stepsRequested: number | null,
  thermalAtStart?: ThermalState | null,
): RunView {
  return {
    runId,
    status: 'running',
    message: null,
    stage: null,
    stepsDone: 0,
    stepsRequested,
    lastStepMs: null,
    residentBytes: 0,
    peakResidentBytes: 0,
    budgetBytes: null,
    placements: '',
    thermal: { start: thermalAtStart, end: undefined },
    preview: null,
    fold: emptyRunView(),
  };
}

/** Folds one engine event into the view. */
export function reduceRunView(view: RunView, event: EngineEvent): RunView {
  const f = view.fold;
  foldEvent(f, f.lastSeq + 1, event);
  return {
    ...view,
    stage: view.status === 'running' ? f.stage : null,
    stepsDone: f.stepsDone,
    lastStepMs: f.lastStepLatencyMs,
    residentBytes: f.residentBytes,
    peakResidentBytes: f.peakResidentBytes,
    budgetBytes: f.budgetBytes,
    // Only a compute's end can change a block's placement.
    placements: event.type === 'block.compute.end' ? placementSummary(f.lanes) : view.placements,
  };
}

/** Keeps the newest preview's first frame when it is raw RGB (PNG previews are for the studio). */
export function withPreview(view: RunView, step: number, images: PreviewImages): RunView {
  const first = images.frames[0];
  if (images.format !== 'image-rgb8' || first === undefined) return view;
  return { ...view, preview: { step, width: images.width, height: images.height, rgb: first } };
}

/** Marks the run ended. */
export function endRunView(view: RunView, status: RunView['status'], message: string | null): RunView {
  return { ...view, status, message, stage: null };
}

/**
 * Where a thermal reading the run queue made belongs. The run queue reads the thermal state once right before each
 * run it starts (for `run.started`) and once right after the run's engine returned (for its terminal event, after
 * the runner's `onEnd` has ended the view): a reading while the current view has ended without an end state is that
 * run's end; any other reading is the start of the next run (held until `onStart` makes its view).
 */
export function noteRunThermal(
  view: RunView | null,
  state: ThermalState | null,
): { end: RunView } | { nextStart: ThermalState | null } {
  if (view !== null && view.status !== 'running' && view.thermal.end === undefined)
    return { end: { ...view, thermal: { ...view.thermal, end: state } } };
  return { nextStart: state };
}

/**
 * The run screen's thermal line, in the studio's words (`thermalLabel`): `thermal: nominal → fair` (start → end), or
 * while the run goes on `thermal: nominal → fair now` (start → the state now); a state not read yet is left out.
 */
export function thermalLine(view: RunView, now: ThermalState | null): string {
  const { start, end } = view.thermal;
  const last =
    view.status === 'running' ? `${thermalLabel(now)} now` : end === undefined ? null : thermalLabel(end);
  const parts = [...(start === undefined ? [] : [thermalLabel(start)]), ...(last === null ? [] : [last])];
  return `thermal: ${parts.length === 0 ? 'not read yet' : parts.join(' → ')}`;
}

/**
 * The run screen's placement line, worded as the report's residency chart words it: `blocks ran on CPU 5 blocks
 * · Core ML 8 blocks · mixed 1 block`.
 */
export function placementLine(view: RunView): string {
  return view.placements === '' ? 'blocks ran on: none yet' : `blocks ran on ${view.placements}`;
}
