/**
 * The Node host's composition of engine ports: files, hashing, clock, memory probe and an inference backend
 * (ONNX Runtime in a worker thread by default; `inline` runs it on this thread, for comparison).
 */
import type { GraphTarget } from '../../shared/engine/onnx/graph-target';
import type { Clock, FileSystemPort, InferenceBackend, MemoryProbe, Sha256 } from '../../shared/engine/ports';
import { NodeFileSystem, nodeSha256 } from '../adapters/node-fs';
import { NodeMemoryProbe, nodeClock } from '../adapters/node-memory-probe';
import { openOnnxRuntimeBackend } from '../adapters/onnxruntime-backend';
import type { ExecutionProviderName } from '../../shared/engine/execution-provider';
import { startOrtWorkerBackend } from './ort-worker-backend';

/** Where ONNX Runtime runs relative to the engine thread. */
export type OrtPlacement = 'worker' | 'inline';

/** Options of {@link createNodeEngineHost}. */
export interface NodeEngineHostOptions {
  placement?: OrtPlacement;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /** ONNX Runtime execution provider (default `cpu`); opening fails, saying how to get it, when it is missing. */
  ep?: ExecutionProviderName;
  /** The graphs the stages build (default cpu): `coreml` runs the Core ML graphs on the CPU EP. */
  graphTarget?: GraphTarget;
  /** Per-app memory limit to report through the probe (simulated devices). */
  memoryLimitBytes?: number;
}

/** The ports a Node process hands the engine. Close it to stop the runtime worker. */
export interface NodeEngineHost {
  readonly backend: InferenceBackend;
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
  readonly clock: Clock;
  readonly probe: MemoryProbe;
  readonly placement: OrtPlacement;
  close(): Promise<void>;
}

/** Builds the Node host's ports. */
export async function createNodeEngineHost(options: NodeEngineHostOptions = {}): Promise<NodeEngineHost> {
  const placement = options.placement ?? 'inline';
  const common = {
    fs: new NodeFileSystem(),
    sha256: nodeSha256,
    clock: nodeClock,
    probe: new NodeMemoryProbe(options.memoryLimitBytes),
    placement,
  };
  if (placement === 'worker') {
    const backend = await startOrtWorkerBackend({
      intraOpThreads: options.threads,
      ep: options.ep,
      graphTarget: options.graphTarget,
    });
    return { ...common, backend, close: () => backend.close() };
  }
  const backend = await openOnnxRuntimeBackend({
    intraOpThreads: options.threads,
    ep: options.ep,
    graphTarget: options.graphTarget,
  });
  return { ...common, backend, close: async () => undefined };
}
