/**
 * Single measurements behind `odsora bench scale`: this machine's GEMM rate on a block's own shapes, one STDiT3-XL
 * pair, one VAE chunk and micro-batch at any shape — each with the engine's graphs and real (loaded) block weights.
 */
import type { BlockSet } from '../../shared/engine/blockset/load';
import { GraphBuilder } from '../../shared/engine/onnx/graph-builder';
import { denoiserConfig, denoiserPrecision } from '../../shared/engine/stdit3/denoise-stage';
import type { InferenceBackend } from '../../shared/engine/ports';
import type { Stdit3Shape } from '../../shared/engine/stdit3/config';
import { estimateStdit3Flops } from '../../shared/engine/stdit3/denoise-manifest';
import { Stdit3Model } from '../../shared/engine/stdit3/model';
import { floatTensor } from '../../shared/engine/tensor';
import { readDecodeStage } from '../../shared/engine/vae/decode-manifest';
import { decodeConfig } from '../../shared/engine/vae/decode-stage';
import { buildVaeBlockGraph } from '../../shared/engine/vae/graphs';
import { VaeDecoderModel } from '../../shared/engine/vae/model';
import { percentile } from '../../shared/metrics/percentile';

/** The median of `runs` timed calls of `fn` after one untimed warm-up, ms. */
async function medianMs(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return percentile(times, 50);
}

/** One GEMM shape `[M, K] · [K, N]ᵀ` (the weight as a graph input, as the engine feeds it). */
export interface GemmShape {
  readonly name: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

/** The GEMMs of one STDiT3 pair at batch `B` (CFG) over `N` tokens and `L` caption tokens, twice (two blocks). */
export function pairGemms(C: number, F: number, B: number, N: number, L: number): GemmShape[] {
  return [
    { name: 'qkv', m: B * N, k: C, n: 3 * C },
    { name: 'attn.proj', m: B * N, k: C, n: C },
    { name: 'cross.q', m: B * N, k: C, n: C },
    { name: 'cross.kv', m: B * L, k: C, n: 2 * C },
    { name: 'cross.proj', m: B * N, k: C, n: C },
    { name: 'mlp.fc1', m: B * N, k: C, n: F },
    { name: 'mlp.fc2', m: B * N, k: F, n: C },
  ];
}

/**
 * This machine's rate on `shapes`: each as one ONNX Runtime Gemm (transB, weights as inputs, as the engine's
 * graphs), FLOP-weighted over the shapes. Returns GFLOP/s overall and per shape.
 */
export async function gemmRate(
  backend: InferenceBackend,
  shapes: readonly GemmShape[],
  runs: number,
): Promise<{ gflops: number; perShape: { name: string; gflops: number; ms: number }[] }> {
  const perShape: { name: string; gflops: number; ms: number }[] = [];
  let flops = 0;
  let ms = 0;
  for (const s of shapes) {
    const g = new GraphBuilder(`gemm_${s.name}`);
    const a = g.input('a', [s.m, s.k]);
    const w = g.input('w', [s.n, s.k]);
    g.output(g.gemm(a, w), 'y', [s.m, s.n]);
    const session = await backend.createSession(g.build(), `gemm ${s.name}`);
    const feeds = {
      a: floatTensor([s.m, s.k], new Float32Array(s.m * s.k).fill(0.01)),
      w: floatTensor([s.n, s.k], new Float32Array(s.n * s.k).fill(0.02)),
    };
    const t = await medianMs(runs, () => session.run(feeds));
    await session.release();
    const f = 2 * s.m * s.k * s.n;
    flops += f;
    ms += t;
    perShape.push({ name: s.name, gflops: f / t / 1e6, ms: t });
  }
  return { gflops: flops / ms / 1e6, perShape };
}

/** One STDiT3 pair (plain) at `shape` with pair 0's real weights: median ms and its FLOPs (batch 2 under CFG). */
export async function timePair(
  backend: InferenceBackend,
  blockSet: BlockSet,
  shape: Stdit3Shape,
  runs: number,
): Promise<{ ms: number; flops: number; part1Ms: number; part2Ms: number }> {
  const cfg = denoiserConfig(blockSet);
  const model = Stdit3Model.create(backend, cfg, shape, denoiserPrecision(blockSet));
  const load = async (id: string): Promise<Map<string, never>> =>
    (await blockSet.loadBlock(blockSet.block(id), { verify: false })).weights as Map<string, never>;
  try {
    const [w1, wp, w2] = [await load('part1'), await load('pair.0'), await load('part2')];
    const { batch: B, frames: T, height: H, width: W, captionLength: L } = shape;
    const x = floatTensor([B, cfg.inChannels, T, H, W]);
    x.data.fill(0.1);
    const inputs = {
      x,
      timestep: new Float32Array(B).fill(500),
      y: floatTensor([B, 1, L, cfg.captionChannels]),
      mask: { rows: 1, data: new Int32Array(L).fill(1) },
      fps: 24,
      heightPx: H * 8,
      widthPx: W * 8,
    };
    let state = await model.part1(w1, inputs);
    const part1Ms = await medianMs(runs, async () => (state = await model.part1(w1, inputs)));
    const ms = await medianMs(runs, () => model.pair(false, wp, 0, state));
    const part2Ms = await medianMs(runs, () => model.part2(w2, state.tokens, state.t));
    const flops =
      2 * estimateStdit3Flops(cfg, { frames: T, height: H, width: W, captionLength: L }, 'plain').pair;
    return { ms, flops, part1Ms, part2Ms };
  } finally {
    await model.release();
  }
}

/**
 * The VAE at a latent of `height` × `width`: one temporal chunk (5 latents) through every temporal block, and one
 * SD-VAE micro-batch through every spatial block, median ms each, with the real decode blocks.
 */
export async function timeVae(
  backend: InferenceBackend,
  blockSet: BlockSet,
  latent: { height: number; width: number },
  runs: number,
): Promise<{ temporalChunkMs: number; spatialMicroBatchMs: number; microBatch: number }> {
  const cfg = decodeConfig(blockSet);
  const { stage } = readDecodeStage(blockSet.manifest, blockSet.dir);
  const model = new VaeDecoderModel(backend, cfg, stage.precision ?? 'f32');
  const H = latent.height;
  const W = latent.width;
  try {
    const time = async (prefix: string, shape: { batch: number; frames: number }): Promise<number> => {
      let total = 0;
      for (const entry of stage.blocks.filter((b) => b.id.startsWith(prefix))) {
        const w = (await blockSet.loadBlock(entry, { verify: false })).weights;
        const s = { ...shape, height: H, width: W };
        const graph = buildVaeBlockGraph(cfg, entry.id, s, { precision: stage.precision ?? 'f32' });
        const x = floatTensor(graph.inputDims);
        x.data.fill(0.05);
        total += await medianMs(runs, () => model.run(entry.id, w, x, s));
        if (prefix === 'temporal.') shape = { ...shape, frames: graph.outputDims[2] ?? shape.frames };
      }
      return total;
    };
    const temporalChunkMs = cfg.temporal ? await time('temporal.', { batch: 1, frames: 5 }) : 0;
    const spatialMicroBatchMs = await time('spatial.', { batch: cfg.microBatchSize, frames: 1 });
    return { temporalChunkMs, spatialMicroBatchMs, microBatch: cfg.microBatchSize };
  } finally {
    await model.release();
  }
}
