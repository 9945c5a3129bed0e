/**
 * The ONNX Runtime worker: owns every inference session (a session lives in the thread that created it) and runs
 * them here, so the engine thread stays free to load the next block, emit telemetry and serve sockets while a
 * block computes. Weights arrive in SharedArrayBuffers (no copy); activations are copied; outputs are transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendSession, InferenceBackend } from '../../shared/engine/ports';
import type { Tensor } from '../../shared/engine/tensor';
import { openOnnxRuntimeBackend } from '../adapters/onnxruntime-backend';
import type { OrtWorkerData, OrtWorkerRequest, OrtWorkerResponse } from './ort-worker-protocol';

const port = parentPort;
if (!port) throw new Error('ort-worker must run in a worker thread');

const options = (workerData ?? {}) as OrtWorkerData;
const sessions = new Map<number, BackendSession>();
let nextSession = 1;

const send = (msg: OrtWorkerResponse, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

void openOnnxRuntimeBackend({
  intraOpThreads: options.intraOpThreads,
  ep: options.ep,
  graphTarget: options.graphTarget,
}).then(
  (backend) => {
    port.on('message', (msg: OrtWorkerRequest) => {
      void handle(backend, msg).catch((err: unknown) =>
        send({ op: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) }),
      );
    });
    send({ op: 'ready', backendName: backend.name });
  },
  (err: unknown) => send({ op: 'start-failed', message: err instanceof Error ? err.message : String(err) }),
);

async function handle(backend: InferenceBackend, msg: OrtWorkerRequest): Promise<void> {
  switch (msg.op) {
    case 'create': {
      const session = await backend.createSession(msg.model, msg.label);
      const id = nextSession++;
      sessions.set(id, session);
      send({ op: 'created', id: msg.id, session: id, placement: session.placement });
      return;
    }
    case 'run': {
      const session = sessions.get(msg.session);
      if (!session) throw new Error(`unknown session ${msg.session}`);
      const outputs = await session.run(msg.feeds, msg.outputs);
      send({ op: 'result', id: msg.id, outputs }, transferables(outputs));
      return;
    }
    case 'release': {
      const session = sessions.get(msg.session);
      sessions.delete(msg.session);
      await session?.release();
      send({ op: 'released', id: msg.id });
      return;
    }
  }
}

function transferables(outputs: Record<string, Tensor>): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const t of Object.values(outputs)) {
    const buf = t.data.buffer;
    if (buf instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === buf.byteLength)
      seen.add(buf);
  }
  return [...seen];
}
