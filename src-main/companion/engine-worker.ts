/**
 * The companion's engine worker (bundled as out/cli/companion-engine-worker.cjs): owns an ONNX Runtime host
 * (node-engine, inline in this thread) and the opened block set, runs `generateVideo` for each request and posts
 * events, previews and the final frames back. The main thread's event loop (sockets, mDNS) never blocks on the
 * engine; cancelling a run aborts it cooperatively at the next block boundary (see engine-protocol.ts).
 *
 * Previews are decoded: after every `everySteps`-th step the engine decodes x̂0 (the clean-sample estimate) through
 * the VAE — one frame per latent frame, evenly spaced over the video (`maxFrames` = latent frames), under what the
 * denoise budget leaves free (see generate.ts) — and the frames are shrunk to `maxEdgePx` and encoded as asked.
 * When the engine refuses the decode (no room in the budget, or a failed decode) the preview falls back to a latent
 * preview of x̂0 (first three channels as RGB, engine-worker-preview.ts) and the message says so (`source`,
 * `fallback`). A preview decode is awaited before the next step, so previews slow the run by their cost; they never
 * change its result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openBlockSet } from '../../shared/engine/blockset/load';
import { engineRunFailure, previewMaxFrames } from '../../shared/companion/engine-job';
import type { RunFailure } from '../../shared/companion/server-ports';
import { GenerateCaches, generateVideo, type GeneratePreview } from '../../shared/engine/pipeline/generate';
import type { PreviewSettings } from '../../shared/protocol/run';
import { createNodeEngineHost } from '../engine-host/node-engine';
import { encodePng } from '../output/video-files';
import type { EngineWorkerData, EngineWorkerMessage, EngineWorkerRequest } from './engine-protocol';
import { decodedPreview, latentPreview } from './engine-worker-preview';

const port = parentPort;
if (port === null) throw new Error('engine-worker must run in a worker thread');
const data = workerData as EngineWorkerData;
const post = (m: EngineWorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

/** The worker message of one engine preview, in the requested size and format. */
function previewMessage(p: GeneratePreview, settings: PreviewSettings, atMs: number): EngineWorkerMessage {
  const img = p.frames
    ? decodedPreview(p.frames, settings.maxEdgePx)
    : latentPreview({ dims: p.x0.dims.slice(1), data: p.x0.data }, settings.maxEdgePx);
  return {
    op: 'preview',
    step: p.step,
    atMs,
    width: img.width,
    height: img.height,
    format: settings.format,
    frames:
      settings.format === 'png' ? img.frames.map((f) => encodePng(f, img.width, img.height)) : img.frames,
    source: p.frames ? 'vae' : 'latent',
    ...(p.frames ? { frameIndices: [...p.frames.indices] } : {}),
    ...(p.fallback !== null ? { fallback: p.fallback } : {}),
    ...(p.cost ? { decodeMs: p.cost.ms } : {}),
  };
}

async function main(): Promise<void> {
  const host = await createNodeEngineHost({
    placement: 'inline',
    threads: data.threads,
    memoryLimitBytes: data.memoryLimitBytes,
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
    const controller = new AbortController();
    current = { runId: req.runId, controller };
    const runId = req.runId;
    const preview = req.preview;
    generateVideo(
      {
        blockSet,
        backend: host.backend,
        clock: host.clock,
        probe: host.probe,
        caches,
        signal: controller.signal,
        emit: (event) => post({ op: 'event', event }),
        ...(preview !== null
          ? {
              previews: {
                everySteps: preview.everySteps,
                decode: 'vae' as const,
                maxFrames: previewMaxFrames(blockSet, req.params),
                onPreview: (p: GeneratePreview) => post(previewMessage(p, preview, host.clock.nowMs())),
              },
            }
          : {}),
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
          const failure = engineRunFailure(e);
          if (failure.name === 'AbortError') post({ op: 'cancelled', runId });
          else {
            const f = failure as RunFailure;
            post({
              op: 'error',
              code: f.code,
              message: f.message,
              ...(f.field !== undefined ? { field: f.field } : {}),
            });
          }
        },
      );
  });
}

main().catch((e: unknown) => post({ op: 'start-failed', message: (e as Error)?.message ?? String(e) }));
