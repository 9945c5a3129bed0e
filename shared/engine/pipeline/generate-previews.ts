/**
 * Denoising previews of a generation (see generate.ts). Re-exported from `generate.ts`.
 *
 * Previews (`ctx.previews`): after every N-th denoising step the host gets x̂0 = z_i + v_i·t_i/1000, the clean-sample
 * estimate an LPL leap at that step would return, and in `vae` mode its decoded frames. A preview decode runs the
 * decode stage *inside* the denoise stage, with the denoiser's retained (and prefetched) blocks still resident, so
 * it gets only what the denoise stage's resolved budget has left: allowance = budget − denoiser resident bytes at
 * that step boundary, and the decode's own CI-DL plan is made under that allowance (blocks streamed through it as
 * the final decode would be). When the decode stage cannot fit the allowance (a block larger than what is left) the
 * preview falls back to x̂0 alone and says why (`fallback`); an unlimited budget always decodes. The job's resident
 * block bytes therefore never exceed the denoise budget because of previews. On the step that ends the run (last
 * step or leap) x̂0 is the final latent, so its frames are taken from the final decode instead of decoding twice.
 * Previews never change the result: the sampler only reads its tensors, and the final video is bit-identical with
 * previews on or off. The preview decodes' telemetry stays out of `ctx.emit` (the run's stages stay in order); each
 * preview reports its own cost instead.
 */
import type { Precision } from '../blockset/precision';
import { isAbortError } from '../cidl/abort';
import { stagePorts, type StagePorts } from '../cidl/stage-scheduler';
import type { InferenceBackend } from '../ports';
import type { StepRecord, StepState } from '../sampler/rectified-flow';
import type { EngineEvent } from '../telemetry';
import type { FloatTensor } from '../tensor';
import {
  decodeConfig,
  decodePrecision,
  planDecodeStage,
  runDecodeStage,
  toUint8Frames,
  type Uint8Frames,
} from '../vae/decode-stage';
import type { VaeConfig } from '../vae/config';
import type { VaeDecoderModel } from '../vae/model';
import { bad, checkPosInt, type ResolvedGenerateParams } from './generate-params';

/** What preview decodes take from the generation's caches (GenerateCaches has it). */
export interface PreviewCaches {
  vaeFor(backend: InferenceBackend, cfg: VaeConfig, precision?: Precision): VaeDecoderModel;
}

/** Previews during denoising (a host concern, not a generation parameter: they never change the result). */
export interface GeneratePreviewOptions {
  /** A preview after every `everySteps`-th step (steps everySteps−1, 2·everySteps−1, …). */
  readonly everySteps: number;
  /** `vae`: decode x̂0 when the budget has room (else fall back to `latent`); `latent`: x̂0 only, no decode. */
  readonly decode: 'vae' | 'latent';
  /** Decode at most this many frames, evenly spaced over the video (first and last included). Default: all. */
  readonly maxFrames?: number;
  /** Receives each preview; awaited before the next step (backpressure). A throw fails the run. */
  readonly onPreview: (preview: GeneratePreview) => void | Promise<void>;
}

/** One denoising preview. */
export interface GeneratePreview {
  readonly step: number;
  readonly t: number;
  /** This step ends the run (last step or LPL leap): x0 is the final latent. */
  readonly final: boolean;
  /** x̂0 = z_i + v_i·t_i/1000 [1, C, T, H, W]: exactly what an LPL leap at this step would return. Read-only. */
  readonly x0: FloatTensor;
  /** Decoded RGB frames of x̂0 (`vae` mode) at the video's size; `indices` are their video frame numbers. */
  readonly frames: (Uint8Frames & { readonly channels: 3; readonly indices: readonly number[] }) | null;
  /** Why a `vae` preview carries no frames (null when it does, or in `latent` mode). */
  readonly fallback: string | null;
  /**
   * What the preview decode cost: wall time, its CI-DL allowance (the denoise budget minus `denoiserResidentBytes`;
   * null = unlimited), its peak block bytes and loads. Null when nothing was decoded for it (latent mode, a
   * fallback, or the final step, whose frames come from the final decode).
   */
  readonly cost: {
    readonly ms: number;
    readonly allowanceBytes: number | null;
    readonly denoiserResidentBytes: number;
    readonly peakBytes: number;
    readonly loads: { readonly count: number; readonly bytes: number };
  } | null;
}

/** Validates preview options (a throw names the field). */
function checkPreviewOptions(o: GeneratePreviewOptions): void {
  checkPosInt('previews.everySteps', o.everySteps);
  if (o.decode !== 'vae' && o.decode !== 'latent')
    bad('previews.decode', `must be vae or latent, got ${JSON.stringify(o.decode)}`);
  if (o.maxFrames !== undefined) checkPosInt('previews.maxFrames', o.maxFrames);
  if (typeof o.onPreview !== 'function') bad('previews.onPreview', 'must be a function');
}

/** `count` frame indices evenly spaced over 0..frames−1 (first and last included; the middle one for 1). */
export function previewFrameIndices(frames: number, count?: number): number[] {
  const m = Math.min(frames, count ?? frames);
  if (m === frames) return Array.from({ length: frames }, (_, i) => i);
  if (m === 1) return [Math.floor((frames - 1) / 2)];
  return Array.from({ length: m }, (_, j) => Math.round((j * (frames - 1)) / (m - 1)));
}

/** Makes the previews of one generation (see the module comment). */
export class Previewer {
  private readonly indices: number[];
  /** The spatial decode's frame subset (undefined: every frame). */
  private readonly subset: number[] | undefined;
  private pending: { record: StepRecord; x0: FloatTensor } | null = null;
  /** Set after a preview decode fails: later previews do not retry. */
  private broken: string | null = null;

  constructor(
    private readonly ctx: StagePorts,
    private readonly opts: GeneratePreviewOptions,
    private readonly caches: PreviewCaches,
    private readonly p: ResolvedGenerateParams,
  ) {
    checkPreviewOptions(opts);
    this.indices = previewFrameIndices(p.numFrames, opts.maxFrames);
    this.subset = this.indices.length < p.numFrames ? this.indices : undefined;
  }

  readonly afterStep = async (
    record: StepRecord,
    state: StepState,
    info: { final: boolean; cidl: { budgetBytes: number | null; residentBytes: number } },
  ): Promise<void> => {
    if ((record.step + 1) % this.opts.everySteps !== 0) return;
    const x0 = state.cleanEstimate();
    if (info.final && this.opts.decode === 'vae') {
      this.pending = { record, x0 };
      return;
    }
    const base = { step: record.step, t: record.t, final: info.final, x0 };
    if (this.opts.decode === 'latent') {
      await this.opts.onPreview({ ...base, frames: null, fallback: null, cost: null });
      return;
    }
    const decoded = await this.decode(x0, info.cidl);
    await this.opts.onPreview({ ...base, ...decoded });
  };

  /** The final step's preview, from the final decode's frames (its x̂0 is the final latent). */
  async afterFinalDecode(video: Uint8Frames): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    const pick = this.indices.map((i) => video.frames[i]!.slice());
    await this.opts.onPreview({
      step: pending.record.step,
      t: pending.record.t,
      final: true,
      x0: pending.x0,
      frames: { width: video.width, height: video.height, channels: 3, indices: this.indices, frames: pick },
      fallback: null,
      cost: null,
    });
  }

  private async decode(
    x0: FloatTensor,
    cidl: { budgetBytes: number | null; residentBytes: number },
  ): Promise<Pick<GeneratePreview, 'frames' | 'fallback' | 'cost'>> {
    if (this.broken) return { frames: null, fallback: this.broken, cost: null };
    const { ctx, p } = this;
    const allowance = cidl.budgetBytes === null ? null : Math.max(0, cidl.budgetBytes - cidl.residentBytes);
    const plan = planDecodeStage(ctx.blockSet, p.latent.frames, allowance, {
      numFrames: p.numFrames,
      policy: p.cidl.policy,
      prefetch: p.cidl.prefetch,
      frames: this.subset,
    });
    if (!plan.fits)
      return {
        frames: null,
        fallback:
          `no room to decode: the denoise budget is ${String(cidl.budgetBytes)} B with ${cidl.residentBytes} B of ` +
          `denoiser blocks resident, leaving ${String(allowance)} B; ${plan.reason ?? 'the decode stage does not fit'}`,
        cost: null,
      };
    let peakBytes = 0;
    const loads = { count: 0, bytes: 0 };
    const sink = (e: EngineEvent): void => {
      if (e.type === 'block.load.start' || e.type === 'block.load.end')
        peakBytes = Math.max(peakBytes, e.residentBytes);
      if (e.type === 'block.load.end') {
        loads.count++;
        loads.bytes += e.bytes;
      }
    };
    const t0 = ctx.clock.nowMs();
    try {
      const video = await runDecodeStage(
        {
          ...stagePorts(ctx),
          emit: sink,
          models: this.caches.vaeFor(ctx.backend, decodeConfig(ctx.blockSet), decodePrecision(ctx.blockSet)),
        },
        x0,
        {
          numFrames: p.numFrames,
          budget: allowance === null ? { kind: 'unlimited' } : { kind: 'bytes', bytes: allowance },
          policy: p.cidl.policy,
          prefetch: p.cidl.prefetch,
          verify: p.cidl.verify,
          frames: this.subset,
        },
      );
      const u8 = toUint8Frames(video, { format: 'rgb' })[0]!;
      return {
        frames: { width: u8.width, height: u8.height, channels: 3, indices: this.indices, frames: u8.frames },
        fallback: null,
        cost: {
          ms: ctx.clock.nowMs() - t0,
          allowanceBytes: allowance,
          denoiserResidentBytes: cidl.residentBytes,
          peakBytes,
          loads,
        },
      };
    } catch (e) {
      if (isAbortError(e)) throw e;
      this.broken = `the preview decode failed (${(e as Error)?.message ?? String(e)}); previews stay latent for this run`;
      return { frames: null, fallback: this.broken, cost: null };
    }
  }
}
