/** Messages between the engine thread and the ONNX Runtime worker (see ort-worker-backend.ts). */
import type { ExecutionPlacement, ExecutionProviderName } from '../../shared/engine/execution-provider';
import type { GraphTarget } from '../../shared/engine/onnx/graph-target';
import type { Tensor } from '../../shared/engine/tensor';

/** What the worker is started with (`workerData`). */
export interface OrtWorkerData {
  intraOpThreads?: number;
  ep?: ExecutionProviderName;
  graphTarget?: GraphTarget;
}

/** Engine thread → ORT worker. */
export type OrtWorkerRequest =
  | { op: 'create'; id: number; model: Uint8Array; label: string }
  | { op: 'run'; id: number; session: number; feeds: Record<string, Tensor>; outputs?: readonly string[] }
  | { op: 'release'; id: number; session: number };

/** ORT worker → engine thread. */
export type OrtWorkerResponse =
  | { op: 'ready'; backendName: string }
  | { op: 'start-failed'; message: string }
  /** `placement`: where the session runs (BackendSession.placement); the engine thread checks it. */
  | { op: 'created'; id: number; session: number; placement?: ExecutionPlacement }
  | { op: 'result'; id: number; outputs: Record<string, Tensor> }
  | { op: 'released'; id: number }
  | { op: 'error'; id: number; message: string };
