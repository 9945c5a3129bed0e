/**
 * What every host's EngineRunner does around `generateVideo` (the Node companion's engine process, the iPhone app's in-process
 * runner): the check of a run's parameters before it is accepted ({@link validateRunParams}), how many decoded frames
 * a preview carries, preview images in the requested size and format, the run result of a finished generation
 * ({@link engineRunResult}), the wire failure code of an engine error, and the `runModel` a host publishes for the
 * block set its runs use.
 */
import { isAbortError } from '../engine/cidl/abort';
import type { BlockSet } from '../engine/blockset/load';
import type { GenerateParams, GeneratePreview, GenerateResult } from '../engine/pipeline/generate';
import { GenerateParamsError, modelRunDefaults, resolveGenerateParams } from '../engine/pipeline/generate';
import { decodedPreview, latentPreview } from '../engine/pipeline/preview-images';
import { spatialFactorOf } from '../engine/vae/config';
import { decodeConfig } from '../engine/vae/decode-stage';
import type { RunModel } from '../protocol/device';
import type { PreviewSettings } from '../protocol/run';
import { admitJob, type EngineMemory } from './admission';
import { RunFailure, type EngineRunResult, type PreviewImages, type RunVerdict } from './server-ports';

/**
 * The device info's `runModel` for the block set a host's runs use, listed in `blockSets` as `name`: its run
 * defaults and the VAE's spatial factor. Null when the set cannot generate (no VAE decoder, a malformed sampling
 * config): such a device refuses every run anyway.
 */
export function describeRunModel(blockSet: BlockSet, name: string): RunModel | null {
  try {
    return {
      blockSet: name,
      defaults: modelRunDefaults(blockSet),
      spatialFactor: spatialFactorOf(decodeConfig(blockSet)),
    };
  } catch {
    return null;
  }
}

/**
 * Whether a run may be accepted on this host (`EngineRunner.validate`): its parameters (already the protocol's
 * `RunParams`, as the host will run them) resolved against the block set its runs use — `invalid-params` naming the
 * field — then admission control against `memory` (what the device can give the engine; null: not known, no
 * admission check), `job-too-large` with the numbers.
 */
export async function validateRunParams(
  blockSet: BlockSet,
  params: GenerateParams,
  memory: () => Promise<EngineMemory | null>,
): Promise<RunVerdict> {
  let resolved;
  try {
    resolved = resolveGenerateParams(blockSet, params);
  } catch (e) {
    if (e instanceof GenerateParamsError) return { ok: false, field: e.field, message: e.message };
    return { ok: false, field: '', message: (e as Error).message };
  }
  const m = await memory();
  return m === null ? { ok: true } : admitJob(blockSet, resolved, m);
}

/** What a finished generation gives the run queue (frames, size, rate, steps run, timings). */
export function engineRunResult(r: GenerateResult): EngineRunResult {
  return {
    width: r.frames.width,
    height: r.frames.height,
    fps: r.params.fps,
    stepsRun: r.denoise.steps.length,
    frames: r.frames.frames,
    timings: r.timings,
  };
}

/** Decoded frames per preview: one per latent frame (the count latent previews had); undefined if unknown. */
export function previewMaxFrames(blockSet: BlockSet, params: GenerateParams): number | undefined {
  try {
    const p = resolveGenerateParams(blockSet, params);
    return Math.min(p.numFrames, p.latent.frames);
  } catch {
    return undefined; // generateVideo reports the bad parameter
  }
}

/** The images of one engine preview, shrunk to `maxEdgePx` and encoded as asked (PNG needs `encodePng`). */
export function previewImages(
  p: GeneratePreview,
  settings: PreviewSettings,
  encodePng?: (rgb: Uint8Array, width: number, height: number) => Uint8Array,
): PreviewImages & { source: 'vae' | 'latent' } {
  const img = p.frames
    ? decodedPreview(p.frames, settings.maxEdgePx)
    : latentPreview({ dims: p.x0.dims.slice(1), data: p.x0.data }, settings.maxEdgePx);
  if (settings.format === 'png' && encodePng === undefined)
    throw new RunFailure('internal', 'this host cannot encode PNG previews');
  return {
    width: img.width,
    height: img.height,
    format: settings.format,
    frames:
      settings.format === 'png' ? img.frames.map((f) => encodePng!(f, img.width, img.height)) : img.frames,
    source: p.frames ? 'vae' : 'latent',
  };
}

/** The wire failure of an engine error; a cancellation (AbortError) is returned as it is. */
export function engineRunFailure(error: unknown): Error {
  if (isAbortError(error)) return error as Error;
  if (error instanceof RunFailure) return error;
  if (error instanceof GenerateParamsError)
    return new RunFailure('invalid-params', error.message, error.field);
  const message = String((error as Error | undefined)?.message ?? error);
  if (/out of memory|bad_alloc|allocation failed|does not fit its memory budget/i.test(message))
    return new RunFailure('out-of-memory', message);
  return new RunFailure('engine-error', message);
}
