/**
 * The companion's engine worker (bundled as out/cli/companion-engine-worker.cjs): owns an ONNX Runtime host
 * (node-engine, inline in this thread) and the opened block set, runs `generateVideo` for each request and posts
 * events, previews and the final frames back. The main thread's event loop (sockets, mDNS) never blocks on the
 * engine; cancelling a run aborts it cooperatively at the next block boundary (see engine-protocol.ts).
 *
 * Previews are latent previews: the denoiser's `x` input of the step (the current latent z, CFG row 0) is read
 * through a tap on the inference backend, its first three channels are mapped to RGB (min-max normalised over the
 * preview) and scaled up by pixel repetition to at most `maxEdgePx`. They are not VAE-decoded (the engine has no
 * hook for that yet), one frame per latent frame.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openBlockSet } from '../../shared/engine/blockset/load';
import { GenerateCaches, GenerateParamsError, generateVideo } from '../../shared/engine/pipeline/generate';
import type { BackendSession, InferenceBackend } from '../../shared/engine/ports';
import type { Tensor } from '../../shared/engine/tensor';
import { createNodeEngineHost } from '../engine-host/node-engine';
import { encodePng } from '../output/video-files';
import type { EngineWorkerData, EngineWorkerMessage, EngineWorkerRequest } from './engine-protocol';
import { latentPreview, type Latent } from './engine-worker-preview';

const port = parentPort;
if (port === null) throw new Error('engine-worker must run in a worker thread');
const data = workerData as EngineWorkerData;
const post = (m: EngineWorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

/** Wraps a backend so the latest 5-D CFG batch fed as `x` is kept (row 0 only). */
function tapBackend(inner: InferenceBackend, sink: (l: Latent) => void): InferenceBackend {
  return {
    name: inner.name,
    async createSession(model: Uint8Array, label: string): Promise<BackendSession> {
      const s = await inner.createSession(model, label);
      return {
        run: (feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]) => {
          const x = feeds['x'] as (Tensor & { data: unknown }) | undefined;
          if (x && x.dims.length === 5 && x.dims[0] === 2 && x.data instanceof Float32Array) {
            const per = x.data.length / 2;
            sink({ dims: [...x.dims.slice(1)], data: x.data.slice(0, per) });
          }
          return s.run(feeds, outputs);
        },
        release: () => s.release(),
      };
    },
  };
}

async function main(): Promise<void> {
  const host = await createNodeEngineHost({
    placement: 'inline',
    threads: data.threads,
    memoryLimitBytes: data.memoryLimitBytes,
  });
  let latest: Latent | null = null;
  const backend = tapBackend(host.backend, (l) => {
    latest = l;
  });
  const blockSet = await openBlockSet(host.fs, host.sha256, data.blockSetDir);
  const caches = new GenerateCaches();
  post({ op: 'ready', backendName: host.backend.name });
  let current: { runId: string; controller: AbortController } | null = null;
  port!.on('message', (req: EngineWorkerRequest) => {
    if (req.op === 'cancel') {
      if (current?.runId === req.runId) current.controller.abort();
      return;
    }
    if (req.op !== 'run') return;
    latest = null;
    const controller = new AbortController();
    current = { runId: req.runId, controller };
    const runId = req.runId;
    const preview = req.preview;
    generateVideo(
      {
        blockSet,
        backend,
        clock: host.clock,
        probe: host.probe,
        caches,
        signal: controller.signal,
        emit: (event) => {
          post({ op: 'event', event });
          if (
            preview !== null &&
            event.type === 'step.end' &&
            (event.step + 1) % preview.everySteps === 0 &&
            latest !== null
          ) {
            const p = latentPreview(latest, preview.maxEdgePx);
            const frames =
              preview.format === 'png' ? p.frames.map((f) => encodePng(f, p.width, p.height)) : p.frames;
            post({
              op: 'preview',
              step: event.step,
              width: p.width,
              height: p.height,
              format: preview.format,
              frames,
            });
          }
        },
      },
      req.params,
    )
      .finally(() => {
        if (current?.controller === controller) current = null;
      })
      .then(
        (r) =>
          post(
            {
              op: 'done',
              width: r.frames.width,
              height: r.frames.height,
              fps: r.params.fps,
              stepsRun: r.denoise.steps.length,
              frames: r.frames.frames,
              timings: r.timings,
            },
            r.frames.frames.map((f) => f.buffer as ArrayBuffer),
          ),
        (e: unknown) => {
          const error = e as Error;
          if (error?.name === 'AbortError') post({ op: 'cancelled', runId });
          else if (error instanceof GenerateParamsError)
            post({ op: 'error', code: 'invalid-params', message: error.message, field: error.field });
          else if (
            /out of memory|bad_alloc|allocation failed|does not fit its memory budget/i.test(
              String(error?.message),
            )
          )
            post({ op: 'error', code: 'out-of-memory', message: String(error.message) });
          else post({ op: 'error', code: 'engine-error', message: String(error?.message ?? error) });
        },
      );
  });
}

main().catch((e: unknown) => post({ op: 'start-failed', message: (e as Error)?.message ?? String(e) }));
