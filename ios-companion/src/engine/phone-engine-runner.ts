/**
 * The app's EngineRunner: `generateVideo` in the JavaScript thread. onnxruntime-react-native runs each session on a
 * native thread and resolves a promise, so sockets, Bonjour and the screens stay responsive while a block computes
 * (the Node host runs its engine in a child process for that; the phone does not). Runs use the installed block
 * set chosen in settings; one that names no CI-DL budget gets the settings' default budget. An observer sees every
 * event and preview (the run screen). The engine cannot be killed here: a cancelled run ends at the server's cancel
 * deadline, and the next run waits until the engine has returned.
 */
import {
  engineRunFailure,
  engineRunResult,
  previewImages,
  previewMaxFrames,
  validateRunParams,
} from '../../../shared/companion/engine-job';
import {
  RunFailure,
  type EngineJob,
  type EngineRunResult,
  type EngineRunner,
  type PreviewImages,
  type RunVerdict,
} from '../../../shared/companion/server-ports';
import type { BlockSet } from '../../../shared/engine/blockset/load';
import type { RequestBudgetSpec } from '../../../shared/engine/cidl/budget';
import { GenerateCaches, generateVideo } from '../../../shared/engine/pipeline/generate';
import type { Clock, InferenceBackend, MemoryProbe } from '../../../shared/engine/ports';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import type { RunParams } from '../../../shared/protocol/run';

/** What the run screen hears. */
export interface RunObserver {
  onStart?(runId: string, params: RunParams): void;
  onEvent?(runId: string, event: EngineEvent): void;
  onPreview?(runId: string, step: number, images: PreviewImages): void;
  onEnd?(runId: string, outcome: 'finished' | 'failed' | 'cancelled', message: string | null): void;
}

/** Options of {@link PhoneEngineRunner}. */
export interface PhoneEngineRunnerOptions {
  backend: () => InferenceBackend;
  clock: Clock;
  probe?: MemoryProbe;
  /** Budget for runs that name none (read at each run: the settings screen changes it). */
  defaultBudget: () => RequestBudgetSpec | null;
  encodePng?: (rgb: Uint8Array, width: number, height: number) => Uint8Array;
  observer?: RunObserver;
}

/** Runs jobs in-process, one at a time. */
export class PhoneEngineRunner implements EngineRunner {
  private blockSet: BlockSet | null = null;
  private caches = new GenerateCaches();
  private running: Promise<unknown> | null = null;

  constructor(private readonly options: PhoneEngineRunnerOptions) {}

  /** The block set runs use (null: none installed). */
  get model(): BlockSet | null {
    return this.blockSet;
  }

  /** Switches the block set (after the running job, if any); compiled sessions of the old one are released. */
  async useBlockSet(blockSet: BlockSet | null): Promise<void> {
    await this.running?.catch(() => undefined);
    const old = this.caches;
    this.caches = new GenerateCaches();
    this.blockSet = blockSet;
    await old.clear();
  }

  /** Releases compiled sessions (the backend changed: Core ML switched on or off). */
  async resetSessions(): Promise<void> {
    await this.useBlockSet(this.blockSet);
  }

  /** What a run is given: the default budget where it names none. */
  effectiveParams(params: RunParams): RunParams {
    const budget = this.options.defaultBudget();
    if (params.cidl?.budget !== undefined || budget === null) return params;
    return { ...params, cidl: { ...(params.cidl ?? {}), budget } };
  }

  /**
   * Resolves the parameters against the installed block set, then admission control (shared/companion/admission.ts)
   * against what iOS lets this app hold: its footprint now plus `os_proc_available_memory`.
   */
  async validate(params: RunParams): Promise<RunVerdict> {
    const blockSet = this.blockSet;
    if (blockSet === null)
      return {
        ok: false,
        field: '',
        message: 'no model is installed on this phone: push one from the studio',
      };
    const probe = this.options.probe;
    return validateRunParams(blockSet, this.effectiveParams(params), async () => {
      if (probe === undefined) return null;
      const [baseBytes, available] = await Promise.all([probe.footprintBytes(), probe.availableBytes()]);
      return {
        capacityBytes: baseBytes + available,
        baseBytes,
        what: 'what iOS lets this app hold (its footprint + os_proc_available_memory)',
      };
    });
  }

  run(job: EngineJob): Promise<EngineRunResult> {
    const p = this.runNow(job);
    this.running = p;
    return p;
  }

  private async runNow(job: EngineJob): Promise<EngineRunResult> {
    const blockSet = this.blockSet;
    if (blockSet === null) throw new RunFailure('engine-error', 'no model is installed on this phone');
    const params = this.effectiveParams(job.params);
    const obs = this.options.observer;
    obs?.onStart?.(job.runId, params);
    const preview = job.preview;
    try {
      const r = await generateVideo(
        {
          blockSet,
          backend: this.options.backend(),
          clock: this.options.clock,
          ...(this.options.probe ? { probe: this.options.probe } : {}),
          caches: this.caches,
          signal: job.signal,
          emit: (event) => {
            job.emit(event);
            obs?.onEvent?.(job.runId, event);
          },
          ...(preview !== null
            ? {
                previews: {
                  everySteps: preview.everySteps,
                  decode: 'vae' as const,
                  maxFrames: previewMaxFrames(blockSet, params),
                  onPreview: (pv) => {
                    const images = previewImages(pv, preview, this.options.encodePng);
                    job.emitPreview(pv.step, images);
                    obs?.onPreview?.(job.runId, pv.step, images);
                  },
                },
              }
            : {}),
        },
        params,
      );
      obs?.onEnd?.(job.runId, 'finished', null);
      return engineRunResult(r);
    } catch (e) {
      const failure = engineRunFailure(e);
      obs?.onEnd?.(job.runId, failure.name === 'AbortError' ? 'cancelled' : 'failed', failure.message);
      throw failure;
    }
  }

  /** Waits for the running job and releases every compiled session. */
  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.caches.clear();
  }
}
