/**
 * InferenceBackend that runs ONNX Runtime in a worker thread.
 *
 * Why: onnxruntime-node blocks its thread during InferenceSession.create and session.run. With the runtime in a
 * worker, the engine thread keeps running while a block computes: the CI-DL scheduler's next-block load (file
 * read + hash) completes on time, telemetry timestamps are true, and a companion's sockets stay responsive.
 * Measured cost: one postMessage round trip plus a copy of the activations per block (see `odsora bench engine`).
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphTarget } from '../../shared/engine/onnx/graph-target';
import type { BackendSession, InferenceBackend } from '../../shared/engine/ports';
import type { Tensor } from '../../shared/engine/tensor';
import {
  graphTargetOf,
  parseExecutionProvider,
  type ExecutionPlacement,
  type ExecutionProviderName,
} from '../../shared/engine/execution-provider';
import type { OrtWorkerData, OrtWorkerRequest, OrtWorkerResponse } from './ort-worker-protocol';
import { noteRuntimeStarted } from '../adapters/node-memory-probe';

type Pending = { resolve: (msg: OrtWorkerResponse) => void; reject: (err: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Options for the worker-hosted runtime. */
export interface OrtWorkerBackendOptions {
  /** ONNX Runtime intra-op threads (default: all cores). */
  intraOpThreads?: number;
  /** Execution provider (default `cpu`). */
  ep?: ExecutionProviderName;
  /** The graphs the stages build (default cpu; see OnnxRuntimeBackendOptions.graphTarget). */
  graphTarget?: GraphTarget;
  /** Path of the bundled worker script (default: out/cli/ort-worker.cjs next to this bundle). */
  workerScript?: string;
}

/** Starts the worker and resolves once ONNX Runtime is loaded in it. */
export async function startOrtWorkerBackend(
  options: OrtWorkerBackendOptions = {},
): Promise<OrtWorkerBackend> {
  const script = options.workerScript ?? defaultWorkerScript();
  const workerData: OrtWorkerData = {
    intraOpThreads: options.intraOpThreads,
    ep: options.ep,
    graphTarget: options.graphTarget,
  };
  const worker = new Worker(script, { workerData });
  const name = await new Promise<string>((resolve, reject) => {
    worker.once('message', (msg: OrtWorkerResponse) => {
      if (msg.op === 'ready') resolve(msg.backendName);
      else reject(new Error(msg.op === 'start-failed' ? msg.message : 'ort worker did not start'));
    });
    worker.once('error', reject);
  }).catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  return new OrtWorkerBackend(worker, name, graphTargetOf(options.ep ?? 'cpu', options.graphTarget));
}

/** The engine-thread side of the ORT worker. Call `close()` when done. */
class OrtWorkerBackend implements InferenceBackend {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(
    private readonly worker: Worker,
    readonly name: string,
    readonly graphTarget: GraphTarget = 'cpu',
  ) {
    worker.on('message', (msg: OrtWorkerResponse) => {
      if (msg.op === 'ready' || msg.op === 'start-failed') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.op === 'error') p.reject(new Error(msg.message));
      else p.resolve(msg);
    });
    const fail = (err: Error): void => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`onnxruntime worker crashed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`onnxruntime worker exited (code ${code})`)));
  }

  private call(
    msg: DistributiveOmit<OrtWorkerRequest, 'id'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<OrtWorkerResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id } as OrtWorkerRequest, transfer);
    });
  }

  async createSession(model: Uint8Array, label: string): Promise<BackendSession> {
    const copy = model.slice();
    const reply = await this.call({ op: 'create', model: copy, label }, [copy.buffer as ArrayBuffer]);
    if (reply.op !== 'created') throw new Error(`unexpected reply ${reply.op}`);
    noteRuntimeStarted();
    const session = reply.session;
    let placement: ExecutionPlacement | undefined;
    try {
      placement = workerPlacement(reply.placement, label);
    } catch (e) {
      await this.call({ op: 'release', session }).catch(() => undefined);
      throw e;
    }
    return {
      ...(placement === undefined ? {} : { placement }),
      run: async (feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]) => {
        const r = await this.call({ op: 'run', session, feeds: { ...feeds }, outputs });
        if (r.op !== 'result') throw new Error(`unexpected reply ${r.op}`);
        return r.outputs;
      },
      release: async () => {
        if (this.failure) return;
        await this.call({ op: 'release', session });
      },
    };
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.failure ??= new Error('onnxruntime worker closed');
    await this.worker.terminate();
  }
}

/** The placement the worker reported for a new session, checked (it crossed a thread's message boundary). */
export function workerPlacement(reported: unknown, label: string): ExecutionPlacement | undefined {
  if (reported === undefined) return undefined;
  if (typeof reported !== 'string')
    throw new Error(`${label}: the onnxruntime worker reported a placement that is not a string`);
  return parseExecutionProvider(reported, `${label}: the onnxruntime worker's session placement`);
}

/** The bundled worker: beside this bundle in out/cli, or built there from a source checkout (tests). */
function defaultWorkerScript(): string {
  const beside = join(__dirname, 'ort-worker.cjs');
  return existsSync(beside) ? beside : join(__dirname, '..', '..', 'out', 'cli', 'ort-worker.cjs');
}
