/**
 * Typed telemetry the engine emits while it works. Every event carries a monotonic timestamp (`atMs`, from the
 * injected Clock). The companion appends these to a run's event log; the studio draws its timelines from them.
 */
import type { BlockPlacement } from './execution-provider';

/** Pipeline phases, in order. `load` covers graph compilation and block-set checks. */
export type Stage = 'load' | 'text' | 'denoise' | 'decode';

/** Why a block left memory. */
export type ReleaseReason = 'not-retained' | 'end-of-run' | 'leap' | 'cancelled' | 'error';

/** Everything the engine reports. `block` ids are stage-qualified, e.g. `denoiser/pair.3`. */
export type EngineEvent =
  | { type: 'stage.start'; atMs: number; stage: Stage }
  | { type: 'stage.end'; atMs: number; stage: Stage; durationMs: number }
  | {
      type: 'plan';
      atMs: number;
      stage: Stage;
      budgetBytes: number | null;
      totalBlockBytes: number;
      predictedPeakBytes: number;
      retained: readonly string[];
      prefetch: boolean;
      fits: boolean;
    }
  | { type: 'step.start'; atMs: number; step: number; t: number; merged: boolean }
  | {
      type: 'step.end';
      atMs: number;
      step: number;
      t: number;
      latencyMs: number;
      /** Cosine similarity of this step's guided velocity to the previous one (null on step 0). */
      cosine: number | null;
      merged: boolean;
      leapt: boolean;
    }
  | {
      type: 'block.load.start';
      atMs: number;
      block: string;
      bytes: number;
      residentBytes: number;
      budgetBytes: number | null;
    }
  | {
      type: 'block.load.end';
      atMs: number;
      block: string;
      bytes: number;
      residentBytes: number;
      budgetBytes: number | null;
    }
  | { type: 'block.compute.start'; atMs: number; block: string; step: number; variant: 'plain' | 'tdtm' }
  | {
      type: 'block.compute.end';
      atMs: number;
      block: string;
      step: number;
      variant: 'plain' | 'tdtm';
      /**
       * Where the block's sessions ran (`mixed`: on different placements); absent when unknown. Protocol 3 on:
       * devices leave it out of older sessions (shared/protocol/engine-events.ts `engineEventForVersion`).
       */
      placement?: BlockPlacement;
    }
  | {
      type: 'block.release';
      atMs: number;
      block: string;
      bytes: number;
      residentBytes: number;
      budgetBytes: number | null;
      reason: ReleaseReason;
    };

/** Receives engine events as they happen. Must not throw; must be cheap. */
export type EventSink = (event: EngineEvent) => void;
