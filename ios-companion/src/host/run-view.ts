/**
 * The current run as the run screen shows it, folded from the engine's own events (no second source of truth):
 * stage, step, last step latency, resident block bytes against the budget, and the newest preview frame.
 */
import type { PreviewImages } from '../../../shared/companion/server-ports';
import type { EngineEvent, Stage } from '../../../shared/engine/telemetry';

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
  };
}

/** Folds one engine event into the view. */
export function reduceRunView(view: RunView, event: EngineEvent): RunView {
  switch (event.type) {
    case 'stage.start':
      return { ...view, stage: event.stage };
    case 'plan':
      return { ...view, budgetBytes: event.budgetBytes };
    case 'step.end':
      return { ...view, stepsDone: view.stepsDone + 1, lastStepMs: event.latencyMs };
    case 'block.load.end':
    case 'block.release':
      return {
        ...view,
        residentBytes: event.residentBytes,
        peakResidentBytes: Math.max(view.peakResidentBytes, event.residentBytes),
        budgetBytes: event.budgetBytes,
      };
    default:
      return view;
  }
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
