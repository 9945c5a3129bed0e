/**
 * Every ONNX graph a generation job builds, in run order, each once per distinct (kind, shape): the T5 block and
 * final norm (the embedding lookup is TypeScript), STDiT3 part1, the block pair (plain, and TDTM when the job
 * merges), part2, and every VAE decode block at every shape the decode runs it (each temporal chunk length, each
 * micro-batch size). The same builders and options the stages use (T5Encoder, Stdit3Model, VaeDecoderModel), so
 * `odsora check-graphs` / `export-graphs` see exactly what a run compiles (a test holds them to a real run).
 *
 * `target` picks the graph variant (onnx/graph-target.ts): `cpu`, or `coreml`, the variant Core ML takes whole.
 */
import { GRAPH_TARGETS, type GraphTarget } from '../onnx/graph-target';
import type { BlockSet } from '../blockset/load';
import type { Precision } from '../blockset/precision';
import { buildPairGraph } from '../stdit3/block-graph';
import { stdit3Dims, type Stdit3Config } from '../stdit3/config';
import { buildPart1Graph } from '../stdit3/part1-graph';
import { buildPart2Graph } from '../stdit3/part2-graph';
import type { T5Config } from '../t5/config';
import { buildT5BlockGraph, buildT5FinalGraph } from '../t5/graphs';
import { textBlocks } from '../t5/text-stage';
import {
  latentOf,
  spatialMicroBatches,
  temporalChunkPlan,
  timeFactorOf,
  vaeWeightNames,
  type VaeConfig,
} from '../vae/config';
import { decodeConfig, decodePrecision } from '../vae/decode-stage';
import { buildVaeBlockGraph } from '../vae/graphs';
import { denoiserConfig, denoiserPrecision } from '../stdit3/denoise-stage';
import type { ResolvedGenerateParams } from './generate-params';

/** The models of a job: configs and storage precision per stage. */
export interface JobModels {
  readonly t5: T5Config;
  readonly stdit3: Stdit3Config;
  readonly vae: VaeConfig;
  readonly precision: { readonly text: Precision; readonly denoiser: Precision; readonly decode: Precision };
}

/** The job's sizes that decide the graphs (ResolvedGenerateParams has them). */
export interface JobGraphShape {
  /** Pixel frames decoded. */
  readonly numFrames: number;
  /** Latent frames, height and width. */
  readonly latent: { readonly frames: number; readonly height: number; readonly width: number };
  /** Caption tokens L. */
  readonly captionLength: number;
  /** Whether some steps run TDTM (mergeSteps > 0). */
  readonly tdtm: boolean;
}

/** One graph of a job. */
export interface JobGraph {
  /** `t5` | `stdit3` | `vae`. */
  readonly family: 't5' | 'stdit3' | 'vae';
  /** The graph kind or block: `block`, `final`, `part1`, `pair`, `pair-tdtm`, `part2`, `temporal.in`, `spatial.up.0`, … */
  readonly block: string;
  /** The static shape it is built for, e.g. `B2 T5 8x8 L16`. */
  readonly shape: string;
  /** A file-name-safe id: `<family>.<block>.<shape>` (`stdit3.pair.B2-T5-8x8-L16`). */
  readonly id: string;
  /** Serializes the graph (built on demand: full-size graphs are large). */
  build(): Uint8Array;
}

const graph = (
  family: JobGraph['family'],
  block: string,
  shape: string,
  build: () => Uint8Array,
): JobGraph => ({ family, block, shape, id: `${family}.${block}.${shape.replace(/ /g, '-')}`, build });

/** The graphs a job with `models` and `job` builds, in run order (see the module comment). */
export function jobGraphs(
  models: JobModels,
  job: JobGraphShape,
  opts: { target?: GraphTarget } = {},
): JobGraph[] {
  const target = opts.target ?? 'cpu';
  if (!GRAPH_TARGETS.includes(target))
    throw new Error(`unknown graph target '${String(target)}' (cpu or coreml)`);
  const out: JobGraph[] = [];
  const { t5, stdit3, vae, precision } = models;
  const L = job.captionLength;
  const { frames: T, height: H, width: W } = job.latent;

  // Text stage: one prompt (the null caption is STDiT3's y_embedding).
  const t5Shape = { batch: 1, length: L };
  const tp = precision.text === 'f32' ? '' : ` ${precision.text}`;
  out.push(
    graph('t5', 'block', `B1 L${L}${tp}`, () => buildT5BlockGraph(t5, t5Shape, precision.text, target)),
  );
  out.push(graph('t5', 'final', `B1 L${L}`, () => buildT5FinalGraph(t5, t5Shape, target)));

  // Denoise stage: CFG batch 2; the pair graph always has x_mid (Stdit3Model's PAIR_GRAPH_WITH_MID).
  const shape = { batch: 2, frames: T, height: H, width: W, captionLength: L };
  const dp = precision.denoiser;
  const ds = `B2 T${T} ${H}x${W} L${L}${dp === 'f32' ? '' : ` ${dp}`}`;
  out.push(graph('stdit3', 'part1', ds, () => buildPart1Graph(stdit3, shape, dp, target)));
  out.push(
    graph('stdit3', 'pair', ds, () =>
      buildPairGraph(stdit3, shape, false, { withMid: true, precision: dp, target }),
    ),
  );
  if (job.tdtm && stdit3Dims(stdit3, shape).Tp >= 2)
    out.push(
      graph('stdit3', 'pair-tdtm', ds, () =>
        buildPairGraph(stdit3, shape, true, { withMid: true, precision: dp, target }),
      ),
    );
  out.push(graph('stdit3', 'part2', ds, () => buildPart2Graph(stdit3, shape, dp, target)));

  // Decode stage: the temporal VAE per distinct chunk length (each block's input frames follow from the one before),
  // then the SD-VAE per distinct micro-batch size.
  const vp = precision.decode;
  const vs = vp === 'f32' ? '' : ` ${vp}`;
  const ids = vaeWeightNames(vae).map((g) => g.id);
  const seen = new Set<string>();
  const vaeGraph = (
    id: string,
    s: { batch: number; frames: number; height: number; width: number },
    tag: string,
  ): void => {
    if (seen.has(`${id}|${tag}`)) return;
    seen.add(`${id}|${tag}`);
    out.push(graph('vae', id, tag, () => buildVaeBlockGraph(vae, id, s, { precision: vp, target }).bytes));
  };
  if (vae.temporal) {
    const chunks = temporalChunkPlan(T, job.numFrames, vae.microFrameSize, timeFactorOf(vae));
    const temporalIds = ids.filter((id) => id.startsWith('temporal.'));
    for (const zt of new Set(chunks.map((c) => c.zFrames))) {
      let frames = zt;
      for (const id of temporalIds) {
        const s = { batch: 1, frames, height: H, width: W };
        vaeGraph(id, s, `B1 T${frames} ${H}x${W}${vs}`);
        frames = buildVaeBlockGraph(vae, id, s, { precision: vp, target }).outputDims[2] as number;
      }
    }
  }
  for (const n of new Set(spatialMicroBatches(job.numFrames, vae.microBatchSize)))
    for (const id of ids.filter((i) => i.startsWith('spatial.')))
      vaeGraph(id, { batch: n, frames: 1, height: H, width: W }, `N${n} ${H}x${W}${vs}`);
  return out;
}

/** A block set's models (configs and per-stage precision), as its stages read them. */
export function jobModelsOf(blockSet: BlockSet): JobModels {
  const text = textBlocks(blockSet.manifest);
  return {
    t5: text.config,
    stdit3: denoiserConfig(blockSet),
    vae: decodeConfig(blockSet),
    precision: {
      text: text.precision,
      denoiser: denoiserPrecision(blockSet),
      decode: decodePrecision(blockSet),
    },
  };
}

/** The graph-deciding sizes of resolved generate parameters. */
export function jobGraphShapeOf(p: ResolvedGenerateParams): JobGraphShape {
  return {
    numFrames: p.numFrames,
    latent: p.latent,
    captionLength: p.captionLength,
    tdtm: p.tdtm.mergeSteps > 0,
  };
}

/**
 * The graph-deciding sizes of a job on `models` without a block set (a preset's configs): the same latent rule as
 * resolveGenerateParams; caption length is the denoiser's model_max_length; TDTM needs 2 latent frames.
 */
export function jobGraphShapeFor(
  models: JobModels,
  job: { numFrames: number; heightPx: number; widthPx: number; tdtm: boolean },
): JobGraphShape {
  const latent = latentOf(models.vae, job.numFrames, job.heightPx, job.widthPx);
  if (!Number.isInteger(latent.height) || !Number.isInteger(latent.width))
    throw new Error(`${job.heightPx}×${job.widthPx} px is not a multiple of the VAE's spatial factor`);
  return {
    numFrames: job.numFrames,
    latent,
    captionLength: models.stdit3.modelMaxLength,
    tdtm: job.tdtm && latent.frames >= 2,
  };
}
