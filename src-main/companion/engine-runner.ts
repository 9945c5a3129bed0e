/**
 * EngineRunner of the Node companion: each run executes `generateVideo` in a worker thread
 * (engine-worker.ts, bundled as out/cli/companion-engine-worker.cjs) that owns ONNX Runtime, so the event loop
 * serving sockets and mDNS never blocks on the engine. Cancelling a run terminates the worker at once (the engine
 * is free immediately); the next run starts a fresh one. Parameters are validated on the main thread against the
 * opened block set with `resolveGenerateParams` before a run is accepted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  RunFailure,
  type EngineJob,
  type EngineRunResult,
  type EngineRunner,
} from '../../shared/companion/server';
import type { BlockSet } from '../../shared/engine/blockset/load';
import type { RequestBudgetSpec } from '../../shared/engine/cidl/budget';
import { GenerateParamsError, resolveGenerateParams } from '../../shared/engine/pipeline/generate';
import type { RunParams } from '../../shared/protocol/run';
import type { EngineWorkerData, EngineWorkerMessage, EngineWorkerRequest } from './engine-protocol';
import { applyProfileLimit, type EffectiveRunParams } from './profiles';

/** Options of {@link WorkerEngineRunner}. */
export interface WorkerEngineRunnerOptions {
  blockSet: BlockSet;
  threads?: number;
  /** The profile's limit applied to every run (bytes null: none): on the whole process, or on block bytes. */
  limit: { bytes: number | null; kind: 'process' | 'blocks' };
  /** Budget for runs that name none (`--memory-budget`). */
  defaultBudget?: RequestBudgetSpec | null;
  /** The bundled worker script (default: out/cli/companion-engine-worker.cjs). */
  workerScript?: string;
}

/** Total bytes of every stage's blocks in a block set's manifest. */
export function blockSetBytes(blockSet: BlockSet): number {
  return blockSizes(blockSet).reduce((a, b) => a + b, 0);
}

/** The largest block's bytes. */
export function largestBlockBytes(blockSet: BlockSet): number {
  return blockSizes(blockSet).reduce((a, b) => Math.max(a, b), 0);
}

function blockSizes(blockSet: BlockSet): number[] {
  const out: number[] = [];
  for (const stage of Object.values(blockSet.manifest.stages as Record<string, unknown>)) {
    const blocks = (stage as { blocks?: unknown } | undefined)?.blocks;
    if (!Array.isArray(blocks)) continue;
    for (const b of blocks) {
      const bytes = (b as { bytes?: unknown }).bytes;
      if (typeof bytes === 'number') out.push(bytes);
    }
  }
  return out;
}

/** The bundled worker: beside this bundle in out/cli, or there from a source checkout (tests). */
export function defaultEngineWorkerScript(): string {
  const beside = join(__dirname, 'companion-engine-worker.cjs');
  if (existsSync(beside)) return beside;
  return join(__dirname, '..', '..', 'out', 'cli', 'companion-engine-worker.cjs');
}

/** Runs jobs in a worker thread, one at a time. */
export class WorkerEngineRunner implements EngineRunner {
  private worker: Worker | null = null;
  private ready: Promise<Worker> | null = null;
  backendName = 'onnxruntime-node';

  constructor(private readonly options: WorkerEngineRunnerOptions) {}

  /** What a run is actually given: the profile's limit applied to its budget. */
  effectiveParams(params: RunParams): EffectiveRunParams {
    return applyProfileLimit(params, this.options.limit, this.options.defaultBudget ?? null);
  }

  validate(params: RunParams): { ok: true } | { ok: false; field: string; message: string } {
    try {
      resolveGenerateParams(this.options.blockSet, this.effectiveParams(params));
      return { ok: true };
    } catch (e) {
      if (e instanceof GenerateParamsError) return { ok: false, field: e.field, message: e.message };
      return { ok: false, field: '', message: (e as Error).message };
    }
  }

  /** Starts the worker ahead of the first run (loads ONNX Runtime). */
  async warm(): Promise<void> {
    await this.start();
  }

  private start(): Promise<Worker> {
    if (this.ready) return this.ready;
    const script = this.options.workerScript ?? defaultEngineWorkerScript();
    const wd: EngineWorkerData = {
      blockSetDir: this.options.blockSet.dir,
      threads: this.options.threads,
      ...(this.options.limit.bytes === null ? {} : { memoryLimitBytes: this.options.limit.bytes }),
    };
    const worker = new Worker(script, { workerData: wd });
    this.worker = worker;
    this.ready = new Promise<Worker>((resolve, reject) => {
      const onMessage = (m: EngineWorkerMessage): void => {
        if (m.op === 'ready') {
          this.backendName = m.backendName;
          worker.off('message', onMessage);
          resolve(worker);
        } else if (m.op === 'start-failed') reject(new RunFailure('engine-error', m.message));
      };
      worker.on('message', onMessage);
      worker.once('error', (e) => reject(new RunFailure('engine-crashed', e.message)));
      worker.once('exit', (code) =>
        reject(new RunFailure('engine-crashed', `engine worker exited (${code})`)),
      );
    });
    this.ready.catch(() => this.discard(worker));
    return this.ready;
  }

  private discard(worker: Worker): void {
    if (this.worker === worker) {
      this.worker = null;
      this.ready = null;
    }
    void worker.terminate();
  }

  async run(job: EngineJob): Promise<EngineRunResult> {
    const worker = await this.start();
    const result = this.runOn(worker, job);
    this.inFlight = {
      runId: job.runId,
      done: result.then(
        () => undefined,
        () => undefined,
      ),
    };
    return result;
  }

  /** The run the worker is busy with, so close() can cancel it and wait instead of killing a busy thread. */
  private inFlight: { runId: string; done: Promise<void> } | null = null;

  private runOn(worker: Worker, job: EngineJob): Promise<EngineRunResult> {
    return new Promise<EngineRunResult>((resolve, reject) => {
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        job.signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (m: EngineWorkerMessage): void => {
        switch (m.op) {
          case 'event':
            job.emit(m.event);
            return;
          case 'preview':
            job.emitPreview(m.step, {
              width: m.width,
              height: m.height,
              format: m.format,
              frames: m.frames,
              atMs: m.atMs,
            });
            return;
          case 'done':
            cleanup();
            resolve({
              width: m.width,
              height: m.height,
              fps: m.fps,
              stepsRun: m.stepsRun,
              frames: m.frames,
              timings: m.timings,
            });
            return;
          case 'error':
            cleanup();
            reject(new RunFailure(m.code, m.message, m.field));
            return;
          case 'cancelled':
            cleanup();
            reject(Object.assign(new Error('run cancelled'), { name: 'AbortError' }));
            return;
          default:
            return;
        }
      };
      const onError = (e: Error): void => {
        cleanup();
        this.discard(worker);
        reject(new RunFailure('engine-crashed', `engine worker crashed: ${e.message}`));
      };
      const onExit = (code: number): void => {
        cleanup();
        this.discard(worker);
        reject(new RunFailure('engine-crashed', `engine worker exited (${code})`));
      };
      // Cooperative: the worker stops at its next block boundary and answers 'cancelled' (or 'done'/'error' if it
      // finished first). Terminating the worker instead would kill a thread inside ONNX Runtime and abort the process.
      const onAbort = (): void => {
        const cancel: EngineWorkerRequest = { op: 'cancel', runId: job.runId };
        worker.postMessage(cancel);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (job.signal.aborted) {
        cleanup();
        reject(Object.assign(new Error('run cancelled'), { name: 'AbortError' }));
        return;
      }
      job.signal.addEventListener('abort', onAbort, { once: true });
      const req: EngineWorkerRequest = {
        op: 'run',
        runId: job.runId,
        params: this.effectiveParams(job.params),
        preview: job.preview,
      };
      worker.postMessage(req);
    });
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    const busy = this.inFlight;
    if (w && busy) {
      const cancel: EngineWorkerRequest = { op: 'cancel', runId: busy.runId };
      w.postMessage(cancel);
      await Promise.race([busy.done, new Promise((r) => setTimeout(r, 10_000))]);
    }
    if (w) await w.terminate();
  }
}
