/**
 * ONNX graphs of the VAE decode blocks (spec 7.4, 7.5), one per CI-DL block and static shape. Weights are graph
 * inputs named by their full checkpoint key; the activation input is `x`, the block's result is the output `y`.
 * With `probes`, a graph also outputs named intermediates (the fixture's tensor names below `temporal.chunk{k}.` /
 * `spatial.mb{m}.`); production graphs are built without them (an output costs a copy).
 *
 * Temporal blocks take [B, C, t, H, W]; spatial blocks take [n, C, h, w] (n frames of one micro-batch).
 */
import { storageOf, weightInput, type Precision } from '../blockset/precision';
import { GraphBuilder, type Value } from '../onnx/graph-builder';
import type { GraphTarget } from '../onnx/graph-target';
import {
  SD_LATENT_DIVISOR,
  SPATIAL_GN_EPS,
  SPATIAL_KEY_PREFIX,
  TEMPORAL_GN_EPS,
  TEMPORAL_KEY_PREFIX,
  spatialUpInWidth,
  spatialUpWidth,
  temporalStageInWidth,
  temporalStageUpsamples,
  temporalStageWidth,
  vaeWeightNames,
  type VaeConfig,
} from './config';
import { causalConv3d, conv2d, depthToTime, groupNorm, upsampleNearest2x } from './ops';

/** A built block graph and what it reads and writes. */
export interface VaeBlockGraph {
  /** Serialized ModelProto. */
  readonly bytes: Uint8Array;
  /** Shape of the activation input `x`. */
  readonly inputDims: readonly number[];
  /** Shape of the result `y`. */
  readonly outputDims: readonly number[];
  /** Weight inputs (full checkpoint keys). */
  readonly weights: readonly string[];
  /** How each weight input is stored (blockset/precision.ts). */
  readonly storage: Readonly<Record<string, Precision>>;
  /** Probe outputs (when built with probes), in graph order. */
  readonly probes: readonly string[];
}

/** The static activation shape of one block run: temporal [B, t, H, W] latent sizes, spatial [n, H, W]. */
export interface VaeBlockShape {
  /** Batch B (temporal) or frames n of the micro-batch (spatial). */
  readonly batch: number;
  /** Latent frames t of the chunk (temporal blocks; ignored by spatial blocks). */
  readonly frames: number;
  /** Latent height H and width W. */
  readonly height: number;
  readonly width: number;
}

class Ctx {
  readonly g: GraphBuilder;
  readonly probes: string[] = [];
  private readonly declared = new Map<string, Value>();
  readonly storage: Record<string, Precision> = {};
  constructor(
    name: string,
    private readonly known: ReadonlySet<string>,
    private readonly withProbes: boolean,
    private readonly precision: Precision,
    target: GraphTarget,
  ) {
    this.g = new GraphBuilder(name, target);
  }

  /** The float32 value of a checkpoint key's weight input (declared on first use, with its shape). */
  w(name: string, shapes: ReadonlyMap<string, readonly number[]>): Value {
    if (!this.known.has(name)) throw new Error(`VAE graph: ${name} is not a weight of this block`);
    let v = this.declared.get(name);
    if (v === undefined) {
      const dims = shapes.get(name) as readonly number[];
      const storage = storageOf(this.precision, name, dims);
      v = weightInput(this.g, name, dims, storage);
      this.storage[name] = storage;
      this.declared.set(name, v);
    }
    return v;
  }

  probe(v: Value, name: string, dims: readonly number[]): void {
    if (!this.withProbes) return;
    this.g.output(v, name, dims);
    this.probes.push(name);
  }

  get weights(): string[] {
    return [...this.declared.keys()];
  }
}

function shapesOf(cfg: VaeConfig, blockId: string): Map<string, readonly number[]> {
  const group = vaeWeightNames(cfg).find((gr) => gr.id === blockId);
  if (!group) throw new Error(`VAE: the config has no decode block "${blockId}"`);
  return new Map(group.keys.map((k) => [k.name, k.shape]));
}

/** Builds the graph of decode block `blockId` (see `vaeWeightNames`) for one static shape. */
export function buildVaeBlockGraph(
  cfg: VaeConfig,
  blockId: string,
  shape: VaeBlockShape,
  opts: { probes?: boolean; precision?: Precision; target?: GraphTarget } = {},
): VaeBlockGraph {
  const shapes = shapesOf(cfg, blockId);
  const c = new Ctx(
    `vae/${blockId}`,
    new Set(shapes.keys()),
    opts.probes ?? false,
    opts.precision ?? 'f32',
    opts.target ?? 'cpu',
  );
  const W = (k: string): Value => c.w(k, shapes);
  const g = c.g;
  let inputDims: number[];
  let y: Value;
  let outputDims: number[];
  if (blockId.startsWith('temporal.')) {
    const t = cfg.temporalVae;
    if (!t) throw new Error(`VAE: block ${blockId} needs a temporal VAE config`);
    const P = TEMPORAL_KEY_PREFIX;
    const { batch: B, frames: T0, height: H, width: Wd } = shape;
    const res = (x: Value, prefix: string, cin: number, cout: number, T: number): Value => {
      const d = [B, cin, T, H, Wd];
      let h = g.silu(
        groupNorm(
          g,
          x,
          d,
          t.numGroups,
          TEMPORAL_GN_EPS,
          W(`${prefix}.norm1.weight`),
          W(`${prefix}.norm1.bias`),
        ),
      );
      h = causalConv3d(g, h, W(`${prefix}.conv1.conv.weight`), undefined, 3);
      const d2 = [B, cout, T, H, Wd];
      h = g.silu(
        groupNorm(
          g,
          h,
          d2,
          t.numGroups,
          TEMPORAL_GN_EPS,
          W(`${prefix}.norm2.weight`),
          W(`${prefix}.norm2.bias`),
        ),
      );
      h = causalConv3d(g, h, W(`${prefix}.conv2.conv.weight`), undefined, 3);
      const skip = cin === cout ? x : causalConv3d(g, x, W(`${prefix}.conv3.conv.weight`), undefined, 1);
      return g.add(h, skip);
    };
    const n = t.channelMultipliers.length;
    if (blockId === 'temporal.in') {
      inputDims = [B, t.embedDim, T0, H, Wd];
      const x = g.input('x', inputDims);
      const pq = causalConv3d(
        g,
        x,
        W(`${P}post_quant_conv.conv.weight`),
        W(`${P}post_quant_conv.conv.bias`),
        1,
      );
      c.probe(pq, 'post_quant_conv', [B, t.latentEmbedDim, T0, H, Wd]);
      const top = temporalStageWidth(t, n - 1);
      let h = causalConv3d(g, pq, W(`${P}decoder.conv1.conv.weight`), W(`${P}decoder.conv1.conv.bias`), 3);
      c.probe(h, 'decoder.conv1', [B, top, T0, H, Wd]);
      for (let r = 0; r < t.numResBlocks; r++) h = res(h, `${P}decoder.res_blocks.${r}`, top, top, T0);
      y = h;
      outputDims = [B, top, T0, H, Wd];
    } else {
      const m = /^temporal\.stage(\d+)$/.exec(blockId);
      const i = Number(m?.[1] ?? NaN);
      if (!m || i >= n) throw new Error(`VAE: unknown decode block "${blockId}"`);
      const w = temporalStageWidth(t, i);
      const cin = temporalStageInWidth(t, i);
      inputDims = [B, cin, T0, H, Wd];
      let h: Value = g.input('x', inputDims);
      for (let j = 0; j < t.numResBlocks; j++)
        h = res(h, `${P}decoder.block_res_blocks.${i}.${j}`, j === 0 ? cin : w, w, T0);
      let T = T0;
      if (temporalStageUpsamples(t, i)) {
        c.probe(h, `decoder.stage${i}.res_blocks`, [B, w, T, H, Wd]);
        const up = causalConv3d(
          g,
          h,
          W(`${P}decoder.conv_blocks.${i - 1}.conv.weight`),
          W(`${P}decoder.conv_blocks.${i - 1}.conv.bias`),
          3,
        );
        c.probe(up, `decoder.stage${i}.time_up_conv`, [B, 2 * w, T, H, Wd]);
        h = depthToTime(g, up, [B, 2 * w, T, H, Wd]);
        T *= 2;
      } else if (i > 0) {
        c.probe(h, `decoder.stage${i}.res_blocks`, [B, w, T, H, Wd]);
      }
      if (i === 0) {
        c.probe(h, 'decoder.stage0.res_blocks', [B, w, T, H, Wd]);
        const nrm = groupNorm(
          g,
          h,
          [B, w, T, H, Wd],
          t.numGroups,
          TEMPORAL_GN_EPS,
          W(`${P}decoder.norm1.weight`),
          W(`${P}decoder.norm1.bias`),
        );
        c.probe(nrm, 'decoder.norm1', [B, w, T, H, Wd]);
        h = causalConv3d(
          g,
          g.silu(nrm),
          W(`${P}decoder.conv_out.conv.weight`),
          W(`${P}decoder.conv_out.conv.bias`),
          3,
        );
        outputDims = [B, t.inOutChannels, T, H, Wd];
      } else {
        outputDims = [B, w, T, H, Wd];
      }
      y = h;
    }
  } else {
    const s = cfg.spatial;
    const S = `${SPATIAL_KEY_PREFIX}decoder.`;
    const G = s.normGroups;
    const { batch: N } = shape;
    const resnet = (x: Value, prefix: string, cin: number, cout: number, h: number, wd: number): Value => {
      let v = g.silu(
        groupNorm(
          g,
          x,
          [N, cin, h, wd],
          G,
          SPATIAL_GN_EPS,
          W(`${prefix}.norm1.weight`),
          W(`${prefix}.norm1.bias`),
        ),
      );
      v = conv2d(g, v, W(`${prefix}.conv1.weight`), W(`${prefix}.conv1.bias`), 3);
      v = g.silu(
        groupNorm(
          g,
          v,
          [N, cout, h, wd],
          G,
          SPATIAL_GN_EPS,
          W(`${prefix}.norm2.weight`),
          W(`${prefix}.norm2.bias`),
        ),
      );
      v = conv2d(g, v, W(`${prefix}.conv2.weight`), W(`${prefix}.conv2.bias`), 3);
      const skip =
        cin === cout
          ? x
          : conv2d(g, x, W(`${prefix}.conv_shortcut.weight`), W(`${prefix}.conv_shortcut.bias`), 1);
      return g.add(skip, v);
    };
    const nUp = s.blockOutChannels.length;
    if (blockId === 'spatial.pre') {
      const { height: H, width: Wd } = shape;
      const L = s.latentChannels;
      const C = spatialUpWidth(s, 0);
      inputDims = [N, L, H, Wd];
      const x = g.input('x', inputDims);
      const din = g.div(x, g.scalar(SD_LATENT_DIVISOR));
      c.probe(din, 'decode_in', inputDims);
      const pq = conv2d(
        g,
        din,
        W(`${SPATIAL_KEY_PREFIX}post_quant_conv.weight`),
        W(`${SPATIAL_KEY_PREFIX}post_quant_conv.bias`),
        1,
      );
      c.probe(pq, 'post_quant_conv', inputDims);
      let h = conv2d(g, pq, W(`${S}conv_in.weight`), W(`${S}conv_in.bias`), 3);
      const d = [N, C, H, Wd];
      c.probe(h, 'decoder.conv_in', d);
      h = resnet(h, `${S}mid_block.resnets.0`, C, C, H, Wd);
      c.probe(h, 'decoder.mid_block.resnets.0', d);
      // Single-head self-attention over the H·W positions of each frame, with the residual.
      const A = `${S}mid_block.attentions.0`;
      const HW = H * Wd;
      const normed = groupNorm(
        g,
        h,
        d,
        G,
        SPATIAL_GN_EPS,
        W(`${A}.group_norm.weight`),
        W(`${A}.group_norm.bias`),
      );
      const tokens = g.reshape(g.transpose(g.reshape(normed, [N, C, HW]), [0, 2, 1]), [N * HW, C]);
      const lin = (v: Value, m: string): Value => g.gemm(v, W(`${A}.${m}.weight`), W(`${A}.${m}.bias`));
      const q = g.reshape(lin(tokens, 'to_q'), [N, HW, C]);
      const k = g.reshape(lin(tokens, 'to_k'), [N, HW, C]);
      const v = g.reshape(lin(tokens, 'to_v'), [N, HW, C]);
      const scores = g.mul(g.matmul(q, g.transpose(k, [0, 2, 1])), g.scalar(1 / Math.sqrt(C)));
      const o = g.matmul(g.softmax(scores, -1), v);
      const out = lin(g.reshape(o, [N * HW, C]), 'to_out.0');
      const back = g.reshape(g.transpose(g.reshape(out, [N, HW, C]), [0, 2, 1]), d);
      h = g.add(back, h);
      c.probe(h, 'decoder.mid_block.attentions.0', d);
      h = resnet(h, `${S}mid_block.resnets.1`, C, C, H, Wd);
      y = h;
      outputDims = d;
    } else if (blockId === 'spatial.out') {
      const f = 2 ** (nUp - 1);
      const H = shape.height * f;
      const Wd = shape.width * f;
      const c0 = s.blockOutChannels[0] as number;
      inputDims = [N, c0, H, Wd];
      const x = g.input('x', inputDims);
      const nrm = groupNorm(
        g,
        x,
        inputDims,
        G,
        SPATIAL_GN_EPS,
        W(`${S}conv_norm_out.weight`),
        W(`${S}conv_norm_out.bias`),
      );
      c.probe(nrm, 'decoder.conv_norm_out', inputDims);
      y = conv2d(g, g.silu(nrm), W(`${S}conv_out.weight`), W(`${S}conv_out.bias`), 3);
      outputDims = [N, s.outChannels, H, Wd];
    } else {
      const m = /^spatial\.up\.(\d+)$/.exec(blockId);
      const i = Number(m?.[1] ?? NaN);
      if (!m || i >= nUp) throw new Error(`VAE: unknown decode block "${blockId}"`);
      const f = 2 ** i;
      const H = shape.height * f;
      const Wd = shape.width * f;
      const cin = spatialUpInWidth(s, i);
      const cout = spatialUpWidth(s, i);
      inputDims = [N, cin, H, Wd];
      let h: Value = g.input('x', inputDims);
      for (let j = 0; j <= s.layersPerBlock; j++) {
        h = resnet(h, `${S}up_blocks.${i}.resnets.${j}`, j === 0 ? cin : cout, cout, H, Wd);
        c.probe(h, `decoder.up_blocks.${i}.resnets.${j}`, [N, cout, H, Wd]);
      }
      if (i < nUp - 1) {
        h = upsampleNearest2x(g, h, [N, cout, H, Wd]);
        h = conv2d(
          g,
          h,
          W(`${S}up_blocks.${i}.upsamplers.0.conv.weight`),
          W(`${S}up_blocks.${i}.upsamplers.0.conv.bias`),
          3,
        );
        outputDims = [N, cout, 2 * H, 2 * Wd];
      } else {
        outputDims = [N, cout, H, Wd];
      }
      y = h;
    }
  }
  g.output(y, 'y', outputDims);
  // Every weight of the block must be an input, so a block file and its graph can never drift apart.
  const missing = [...shapes.keys()].filter((k) => !c.weights.includes(k) && k !== 'scale' && k !== 'shift');
  if (missing.length > 0) throw new Error(`VAE graph ${blockId}: weights not used: ${missing.join(', ')}`);
  return {
    bytes: g.build(),
    inputDims,
    outputDims,
    weights: c.weights,
    storage: { ...c.storage },
    probes: c.probes,
  };
}
