/** Messages between the companion and its engine process (engine-worker.ts; IPC with `advanced` serialization). */
import type { ExecutionProviderName } from '../../shared/engine/execution-provider';
import type { PreviewSettings } from '../../shared/protocol/run';
import type { EffectiveRunParams } from './profiles';
import type { EngineRunResult, RunFailureCode } from '../../shared/companion/server';
import type { EngineEvent } from '../../shared/engine/telemetry';

/** What the engine process is started with (JSON, its first argument). */
export interface EngineWorkerData {
  /** A converted block set directory (the main thread converts a model directory first). */
  blockSetDir: string;
  threads?: number;
  ep?: ExecutionProviderName;
  /**
   * The companion's `performance.timeOrigin`: the engine process reads its clock on the companion's time line, so
   * engine events and the companion's own (`run.started`, …) share one clock in a run's log.
   */
  timeOriginMs: number;
  memoryLimitBytes?: number;
}

/** Companion → engine process. */
export type EngineWorkerRequest =
  | { op: 'run'; runId: string; params: EffectiveRunParams; preview: PreviewSettings | null }
  /** Cooperative cancel: the engine stops at its next block boundary (the runner kills the process when that takes
   * longer than the cancel deadline). */
  | { op: 'cancel'; runId: string };

/** Engine process → companion. */
export type EngineWorkerMessage =
  /** The engine is up; `rssBytes`: its resident memory then (runtime loaded, block set open). */
  | { op: 'ready'; backendName: string; rssBytes: number }
  | { op: 'start-failed'; message: string }
  | { op: 'event'; event: EngineEvent }
  | {
      op: 'preview';
      step: number;
      /** When the worker made it (the engine clock of its events), for the `preview.ready` event's `atMs`. */
      atMs: number;
      width: number;
      height: number;
      format: 'image-rgb8' | 'png';
      frames: Uint8Array[];
      /** `vae`: decoded frames of x̂0; `latent`: x̂0's first three latent channels (a refused or failed decode). */
      source: 'vae' | 'latent';
      /** Decoded previews: the video frame each preview frame shows. */
      frameIndices?: number[];
      /** Why a decoded preview fell back to a latent one. */
      fallback?: string;
      /** Wall time of the preview decode (absent when none ran for it). */
      decodeMs?: number;
    }
  | { op: 'done'; result: EngineRunResult }
  | { op: 'error'; code: RunFailureCode; message: string; field?: string }
  | { op: 'cancelled'; runId: string };
