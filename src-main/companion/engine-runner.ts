/**
 * EngineRunner of the Node companion. Each run executes `generateVideo` in a child process (engine-worker.ts, bundled
 * as out/cli/companion-engine-worker.cjs, started with `fork` and kept between runs) that owns ONNX Runtime, so the
 * event loop serving sockets and mDNS never blocks on the engine, and the engine can always be stopped.
 *
 * - Before a run is accepted (`validate`, on this side): its parameters are resolved against the opened block set
 *   (`invalid-params` naming the field), then admission control (shared/companion/admission.ts) plans its memory
 *   against what the device can give the engine process — the profile's limit (the simulated iPhone's 3.3 GB
 *   per-app limit, `--memory-limit`) or this machine's available memory — and refuses a job that cannot fit
 *   (`job-too-large`, with the numbers).
 * - Cancel: the engine is asked to stop at its next block boundary; if the run has not ended by the server's cancel
 *   deadline, the server ends it (`run.cancelled`) and calls {@link WorkerEngineRunner.terminate}, which kills the
 *   process. The next run starts a fresh one.
 * - A crashed or killed engine process fails its run as `engine-crashed` (`run.interrupted`); the companion lives on.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineMemory } from '../../shared/companion/admission';
import { validateRunParams } from '../../shared/companion/engine-job';
import {
  RunFailure,
  type EngineJob,
  type EngineRunResult,
  type EngineRunner,
  type RunVerdict,
} from '../../shared/companion/server';
import type { BlockSet } from '../../shared/engine/blockset/load';
import { manifestBlocks } from '../../shared/engine/blockset/manifest';
import type { RequestBudgetSpec } from '../../shared/engine/cidl/budget';
import type { ExecutionProviderName } from '../../shared/engine/execution-provider';
import type { RunParams } from '../../shared/protocol/run';
import { NodeMemoryProbe } from '../adapters/node-memory-probe';
import type { EngineWorkerData, EngineWorkerMessage, EngineWorkerRequest } from './engine-protocol';
import { applyProfileLimit, type EffectiveRunParams } from './profiles';

/** Options of {@link WorkerEngineRunner}. */
export interface WorkerEngineRunnerOptions {
  blockSet: BlockSet;
  threads?: number;
  /** ONNX Runtime execution provider (default `cpu`); the engine fails to start, saying why, when it is missing. */
  ep?: ExecutionProviderName;
  /** The profile's limit applied to every run (bytes null: none): on the whole process, or on block bytes. */
  limit: { bytes: number | null; kind: 'process' | 'blocks' };
  /** Budget for runs that name none (`--memory-budget`). */
  defaultBudget?: RequestBudgetSpec | null;
  /**
   * What the engine process may hold, for admission control: bytes (the profile's device limit) and how to say it;
   * bytes null: this machine's available memory.
   */
  capacity: { bytes: number | null; what: string };
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
  return [...manifestBlocks(blockSet.manifest)].map(({ block }) => block.bytes);
}

/** The bundled worker: beside this bundle in out/cli, or there from a source checkout (tests). */
export function defaultEngineWorkerScript(): string {
  const beside = join(__dirname, 'companion-engine-worker.cjs');
  if (existsSync(beside)) return beside;
  return join(__dirname, '..', '..', 'out', 'cli', 'companion-engine-worker.cjs');
}

/** Resident bytes of a process, from /proc (Linux); null elsewhere or when it is gone. */
function processRssBytes(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs jobs in a child process, one at a time. */
export class WorkerEngineRunner implements EngineRunner {
  private engine: ChildProcess | null = null;
  private ready: Promise<ChildProcess> | null = null;
  /** The engine's resident bytes when it was last ready (where /proc cannot say). */
  private readyRssBytes = 0;
  backendName = 'onnxruntime-node';

  constructor(private readonly options: WorkerEngineRunnerOptions) {}

  /** What a run is actually given: the profile's limit applied to its budget. */
  effectiveParams(params: RunParams): EffectiveRunParams {
    return applyProfileLimit(params, this.options.limit, this.options.defaultBudget ?? null);
  }

  validate(params: RunParams): Promise<RunVerdict> {
    return validateRunParams(this.options.blockSet, this.effectiveParams(params), () => this.engineMemory());
  }

  /** What the engine process holds now and may hold at most (see the module comment). */
  async engineMemory(): Promise<EngineMemory> {
    const baseBytes = processRssBytes(this.engine?.pid) ?? this.readyRssBytes;
    const { bytes, what } = this.options.capacity;
    if (bytes !== null) return { capacityBytes: bytes, baseBytes, what };
    const available = await new NodeMemoryProbe().availableBytes();
    return { capacityBytes: baseBytes + available, baseBytes, what };
  }

  /** Starts the engine ahead of the first run (loads ONNX Runtime and opens the block set). */
  async warm(): Promise<void> {
    await this.start();
  }

  private start(): Promise<ChildProcess> {
    if (this.ready) return this.ready;
    const script = this.options.workerScript ?? defaultEngineWorkerScript();
    const wd: EngineWorkerData = {
      blockSetDir: this.options.blockSet.dir,
      threads: this.options.threads,
      timeOriginMs: performance.timeOrigin,
      ...(this.options.ep === undefined ? {} : { ep: this.options.ep }),
      ...(this.options.limit.bytes === null ? {} : { memoryLimitBytes: this.options.limit.bytes }),
    };
    // No inherited execArgv (a test runner's loader flags); stdout/stderr go where the companion's go.
    const engine = fork(script, [JSON.stringify(wd)], { serialization: 'advanced', execArgv: [] });
    this.engine = engine;
    this.ready = new Promise<ChildProcess>((resolve, reject) => {
      const onMessage = (m: EngineWorkerMessage): void => {
        if (m.op === 'ready') {
          this.backendName = m.backendName;
          this.readyRssBytes = m.rssBytes;
          engine.off('message', onMessage);
          resolve(engine);
        } else if (m.op === 'start-failed') reject(new RunFailure('engine-error', m.message));
      };
      engine.on('message', onMessage);
      engine.once('error', (e) => reject(new RunFailure('engine-crashed', e.message)));
      engine.once('exit', (code, signal) =>
        reject(new RunFailure('engine-crashed', `engine process exited (${signal ?? code})`)),
      );
    });
    this.ready.catch(() => this.discard(engine));
    return this.ready;
  }

  private discard(engine: ChildProcess): void {
    if (this.engine === engine) {
      this.engine = null;
      this.ready = null;
    }
    if (engine.exitCode === null && engine.signalCode === null) engine.kill('SIGKILL');
  }

  async run(job: EngineJob): Promise<EngineRunResult> {
    const engine = await this.start();
    const result = this.runOn(engine, job);
    this.inFlight = {
      runId: job.runId,
      done: result.then(
        () => undefined,
        () => undefined,
      ),
    };
    return result;
  }

  /** The run the engine is busy with, so close() can cancel it and wait instead of killing it at once. */
  private inFlight: { runId: string; done: Promise<void> } | null = null;

  private runOn(engine: ChildProcess, job: EngineJob): Promise<EngineRunResult> {
    return new Promise<EngineRunResult>((resolve, reject) => {
      const cleanup = (): void => {
        engine.off('message', onMessage);
        engine.off('error', onError);
        engine.off('exit', onExit);
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
            resolve(m.result);
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
        this.discard(engine);
        reject(new RunFailure('engine-crashed', `engine process failed: ${e.message}`));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        this.discard(engine);
        reject(new RunFailure('engine-crashed', `engine process exited (${signal ?? code})`));
      };
      // Cooperative first: the engine stops at its next block boundary and answers 'cancelled' (or 'done'/'error'
      // if it finished first); the server's cancel deadline calls terminate() when that takes too long.
      const onAbort = (): void => {
        const cancel: EngineWorkerRequest = { op: 'cancel', runId: job.runId };
        engine.send(cancel);
      };
      engine.on('message', onMessage);
      engine.on('error', onError);
      engine.on('exit', onExit);
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
      engine.send(req);
    });
  }

  /** Kills the engine process now (the run in flight fails, the next run starts a fresh engine). */
  async terminate(): Promise<void> {
    const engine = this.engine;
    if (engine === null) return;
    const exited = new Promise<void>((resolve) => {
      if (engine.exitCode !== null || engine.signalCode !== null) resolve();
      else engine.once('exit', () => resolve());
    });
    this.discard(engine);
    await exited;
  }

  /** Stops the engine: a run in flight is cancelled and given 10 s to stop, then the process is killed. */
  async close(): Promise<void> {
    const engine = this.engine;
    const busy = this.inFlight;
    if (engine && busy) {
      const cancel: EngineWorkerRequest = { op: 'cancel', runId: busy.runId };
      engine.send(cancel);
      await Promise.race([busy.done, new Promise((r) => setTimeout(r, 10_000))]);
    }
    await this.terminate();
  }
}
