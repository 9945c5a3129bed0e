/**
 * The companion's engine process (bundled as out/cli/companion-engine-worker.cjs, started by engine-runner.ts with
 * `fork`): owns an ONNX Runtime host (node-engine, inline) and the opened block set, runs `generateVideo` for each
 * request and sends events, previews and the final frames back over the IPC channel. A separate process rather
 * than a worker thread so that the companion can always stop it: killing a thread inside an ONNX Runtime call
 * aborts the whole process, killing a child process does not. Cancelling a run aborts it cooperatively at the next
 * block boundary; the runner kills the process when that takes longer than the cancel deadline. The process exits
 * when its parent goes away.
 *
 * Previews are decoded: after every `everySteps`-th step the engine decodes x̂0 (the clean-sample estimate) through
 * the VAE — one frame per latent frame, evenly spaced over the video (`maxFrames` = latent frames), under what the
 * denoise budget leaves free (see generate.ts) — and the frames are shrunk to `maxEdgePx` and encoded as asked.
 * When the engine refuses the decode (no room in the budget, or a failed decode) the preview falls back to a latent
 * preview of x̂0 (first three channels as RGB, engine-worker-preview.ts) and the message says so (`source`,
 * `fallback`). A preview decode is awaited before the next step, so previews slow the run by their cost; they never
 * change its result.
 */
import { openBlockSet } from '../../shared/engine/blockset/load';
import { engineRunFailure, engineRunResult, previewMaxFrames } from '../../shared/companion/engine-job';
import type { RunFailure } from '../../shared/companion/server-ports';
import { GenerateCaches, generateVideo, type GeneratePreview } from '../../shared/engine/pipeline/generate';
import type { PreviewSettings } from '../../shared/protocol/run';
import { createNodeEngineHost } from '../engine-host/node-engine';
import { encodePng } from '../output/video-files';
import type { EngineWorkerData, EngineWorkerMessage, EngineWorkerRequest } from './engine-protocol';
import { decodedPreview, latentPreview } from './engine-worker-preview';

const send = process.send?.bind(process);
if (send === undefined)
  throw new Error('engine-worker must run as a child process with an IPC channel (fork)');
const data = JSON.parse(process.argv[2] ?? '{}') as EngineWorkerData;
const post = (m: EngineWorkerMessage): void => void send(m);
/** The companion's clock (its performance.now()), read in this process. */
const clock = { nowMs: (): number => performance.timeOrigin - data.timeOriginMs + performance.now() };
// The companion went away (or closed the channel): nothing is left to run for.
process.on('disconnect', () => process.exit(0));

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
    ep: data.ep,
    memoryLimitBytes: data.memoryLimitBytes,
  });
  const blockSet = await openBlockSet(host.fs, host.sha256, data.blockSetDir);
  const caches = new GenerateCaches();
  post({ op: 'ready', backendName: host.backend.name, rssBytes: process.memoryUsage().rss });
  let current: { runId: string; controller: AbortController } | null = null;
  process.on('message', (req: EngineWorkerRequest) => {
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
        clock,
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
                onPreview: (p: GeneratePreview) => post(previewMessage(p, preview, clock.nowMs())),
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
        (r) => post({ op: 'done', result: engineRunResult(r) }),
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
