/**
 * The current run as the run screen shows it: stage, step, last step latency, resident block bytes against the
 * budget (all read off the one run fold, shared/report/run-fold.ts, that the studio's live view and report use),
 * and the newest preview frame.
 */
import type { PreviewImages } from '../../../shared/companion/server-ports';
import type { EngineEvent, Stage } from '../../../shared/engine/telemetry';
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
  /** The newest preview: its first frame as RGB (`image-rgb8`), or null. */
  preview: { step: number; width: number; height: number; rgb: Uint8Array } | null;
  /**
   * The run's fold, owned by the run's latest view: folding mutates it, and each snapshot copies the numbers it
   * shows out of it (so an older snapshot keeps its own).
   */
  fold: RunFold;
}

/** A new running run. */
export function startRunView(runId: string, stepsRequested: number | null): RunView {
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
