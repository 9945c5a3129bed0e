import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRuntimeBackend } from '../../../src-main/adapters/onnxruntime-backend';
import { stdit3ConfigFromJson, type Stdit3Shape } from '../../../shared/engine/stdit3/config';
import { tdtmFrameMap } from '../../../shared/engine/stdit3/block-graph';
import { Stdit3Model, type Stdit3Inputs, type WeightMap } from '../../../shared/engine/stdit3/model';
import { floatTensor, type FloatTensor } from '../../../shared/engine/tensor';
import {
  compareClose,
  getFloat,
  getInt64,
  readSafetensorsLite,
  type LiteTensors,
} from '../../helpers/safetensors-lite';
import manifest from '../../fixtures/opensora-tiny/manifest.json';
import { GRAPH_TARGETS } from '../../../shared/engine/onnx/graph-target';

const dir = new URL('../../fixtures/opensora-tiny/', import.meta.url).pathname;
const cfg = stdit3ConfigFromJson(manifest.config.model);
// Every test runs on the graphs of each target (onnx/graph-target.ts), all on ORT's CPU EP.
describe.each(GRAPH_TARGETS)('%s graphs', (graphTarget) => {
  const backend = new OnnxRuntimeBackend({ intraOpThreads: 1, graphTarget });

  let weights: WeightMap;
  let fwd: LiteTensors;
  let inputs: Stdit3Inputs;
  let model: Stdit3Model;

  beforeAll(() => {
    const w = readSafetensorsLite(`${dir}weights.safetensors`);
    weights = new Map([...w].flatMap(([k, t]) => (t.type === 'float32' ? [[k, t] as const] : [])));
    fwd = readSafetensorsLite(`${dir}forward.safetensors`);
    const x = getFloat(fwd, 'in.x');
    const mask = getInt64(fwd, 'in.mask');
    inputs = {
      x,
      timestep: getFloat(fwd, 'in.timestep').data,
      y: getFloat(fwd, 'in.y'),
      mask: { rows: mask.dims[0] ?? 0, data: mask.data },
      fps: getFloat(fwd, 'in.fps').data[0] ?? 0,
      heightPx: getFloat(fwd, 'in.height').data[0] ?? 0,
      widthPx: getFloat(fwd, 'in.width').data[0] ?? 0,
      tFreqTable: getFloat(fwd, 'const.t_freq_table').data,
    };
    const [B, , T, H, W] = x.dims as [number, number, number, number, number];
    model = Stdit3Model.create(backend, cfg, { batch: B, frames: T, height: H, width: W, captionLength: 8 });
  });

  afterAll(async () => {
    await model.release();
  });

  function check(label: string, actual: FloatTensor, goldenName: string): number {
    const golden = getFloat(fwd, goldenName);
    expect(actual.data.length, label).toBe(golden.data.length);
    const r = compareClose(actual.data, golden.data);
    console.log(`${label} vs ${goldenName}: max abs error ${r.maxAbs.toExponential(2)}`);
    expect(r.ok, `${label}: max abs error ${r.maxAbs}`).toBe(true);
    return r.maxAbs;
  }

  describe('STDiT3 ONNX forward on the opensora-tiny fixture', () => {
    it('matches the reference embeddings after part1', async () => {
      const s = await model.part1(weights, inputs);
      check('t', s.t, 'ref.t');
      check('t_mlp', s.tMlp, 'ref.t_mlp');
      check('y_proj', s.yProj, 'ref.y_proj');
      // ref.x_embed is the patch embedding before the position embedding is added.
      const pos = getFloat(fwd, 'ref.pos_emb').data;
      const xEmbed = s.tokens.data.map((v, i) => v - (pos[i % pos.length] as number));
      check('tokens − pos_emb', floatTensor(s.tokens.dims, xEmbed), 'ref.x_embed');
    });

    for (const mode of ['plain', 'tdtm'] as const) {
      it(`matches every ${mode} block output and the final output`, async () => {
        const blocks: [string, FloatTensor][] = [];
        const out = await model.forward(weights, inputs, {
          tdtm: mode === 'tdtm',
          onBlock: (name, tokens) => blocks.push([name, tokens]),
        });
        expect(blocks.map(([n]) => n)).toEqual(['0.spatial', '0.temporal', '1.spatial', '1.temporal']);
        for (const [name, tokens] of blocks) check(`${mode} block ${name}`, tokens, `${mode}.block.${name}`);
        expect(out.dims).toEqual([2, 8, 4, 8, 8]);
        check(`${mode} out`, out, `${mode}.out`);
      });
    }
  });

  /** Max |a − b| over two equally long arrays. */
  function maxAbsDiff(a: Float32Array, b: Float32Array): number {
    expect(a.length).toBe(b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
    return m;
  }

  describe('STDiT3 pair graph (spatial block i then temporal block i in one session)', () => {
    for (const mode of ['plain', 'tdtm'] as const) {
      it(`equals the ${mode} spatial block then temporal block, and x_mid is the spatial output`, async () => {
        const tdtm = mode === 'tdtm';
        const state = await model.part1(weights, inputs);
        for (let i = 0; i < cfg.depth; i++) {
          const spatial = await model.block('spatial', tdtm, weights, i, state);
          const temporal = await model.block('temporal', tdtm, weights, i, { ...state, tokens: spatial });
          const pair = await model.pair(tdtm, weights, i, state, { withMid: true });
          if (!pair.mid) throw new Error('pair returned no mid');
          expect(pair.mid.dims).toEqual(spatial.dims);
          expect(pair.tokens.dims).toEqual(temporal.dims);
          expect(maxAbsDiff(pair.mid.data, spatial.data), `${mode} pair ${i} mid`).toBeLessThanOrEqual(1e-6);
          expect(maxAbsDiff(pair.tokens.data, temporal.data), `${mode} pair ${i} out`).toBeLessThanOrEqual(
            1e-6,
          );
          check(`${mode} pair ${i} x_mid`, pair.mid, `${mode}.block.${i}.spatial`);
          check(`${mode} pair ${i} x_out`, pair.tokens, `${mode}.block.${i}.temporal`);
          // Without withMid: same tokens, no mid.
          const plainRun = await model.pair(tdtm, weights, i, state);
          expect(plainRun.mid).toBeUndefined();
          expect(Array.from(plainRun.tokens.data)).toEqual(Array.from(pair.tokens.data));
          state.tokens = pair.tokens;
        }
      });
    }
  });

  describe('STDiT3 TDTM at odd frame counts', () => {
    /**
     * Runs temporal block 0 in TDTM mode with the MLP output zeroed (fc2 = 0), so x_out − x is exactly the unmerged
     * self- plus cross-attention contribution; returns that delta [B, T, S, C].
     */
    async function tdtmAttentionDelta(T: number): Promise<FloatTensor> {
      const shape: Stdit3Shape = { batch: 2, frames: T, height: 8, width: 8, captionLength: 8 };
      const m = Stdit3Model.create(backend, cfg, shape);
      try {
        const n = 2 * 4 * T * 8 * 8;
        const x = floatTensor(
          [2, 4, T, 8, 8],
          Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)),
        );
        const w = new Map(weights);
        for (const k of ['temporal_blocks.0.mlp.fc2.weight', 'temporal_blocks.0.mlp.fc2.bias']) {
          const t = weights.get(k);
          if (!t) throw new Error(`missing ${k}`);
          w.set(k, floatTensor(t.dims));
        }
        const state = await m.part1(w, { ...inputs, x });
        const out = await m.block('temporal', true, w, 0, state);
        expect(out.dims).toEqual([2, T, 16, 64]);
        const delta = out.data.map((v, i) => v - (state.tokens.data[i] as number));
        for (const v of delta) expect(Number.isFinite(v)).toBe(true);
        return floatTensor(out.dims, delta);
      } finally {
        await m.release();
      }
    }

    /** Max |a − b| between frames f1 and f2 of batch row b ((x + a) − x rounds, so copies agree to ~1e-6). */
    function frameDiff(t: FloatTensor, b: number, f1: number, f2: number): number {
      const a = frame(t, b, f1);
      const c = frame(t, b, f2);
      return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (c[i] as number))), 0);
    }

    function frame(t: FloatTensor, b: number, f: number): Float32Array {
      const [, T, S, C] = t.dims as [number, number, number, number];
      const start = (b * T + f) * S * C;
      return t.data.slice(start, start + S * C);
    }

    it('at T = 7 (reference-defined) gives frame 6 the attention output of the (4, 5) pair', async () => {
      expect(tdtmFrameMap(7)).toEqual({ merged: 3, map: [0, 0, 1, 1, 2, 2, 2], matchesReference: true });
      const delta = await tdtmAttentionDelta(7);
      for (const b of [0, 1]) {
        expect(frameDiff(delta, b, 6, 4)).toBeLessThan(1e-5);
        expect(frameDiff(delta, b, 5, 4)).toBeLessThan(1e-5);
        expect(frameDiff(delta, b, 4, 3)).toBeGreaterThan(1e-3);
      }
    });

    it('at T = 5 (our defined padding) repeats the last merged frame: [m0, m0, m1, m1, m1]', async () => {
      expect(tdtmFrameMap(5)).toEqual({ merged: 2, map: [0, 0, 1, 1, 1], matchesReference: false });
      const delta = await tdtmAttentionDelta(5);
      for (const b of [0, 1]) {
        expect(frameDiff(delta, b, 1, 0)).toBeLessThan(1e-5);
        expect(frameDiff(delta, b, 3, 2)).toBeLessThan(1e-5);
        expect(frameDiff(delta, b, 4, 2)).toBeLessThan(1e-5);
        expect(frameDiff(delta, b, 2, 1)).toBeGreaterThan(1e-3);
      }
    });
  });

  describe('STDiT3 padding to the patch grid', () => {
    it('zero-pads odd latent sizes at the end and crops the output back', async () => {
      const odd: Stdit3Shape = { batch: 2, frames: 2, height: 7, width: 9, captionLength: 8 };
      const even: Stdit3Shape = { ...odd, height: 8, width: 10 };
      const xOdd = floatTensor(
        [2, 4, 2, 7, 9],
        Float32Array.from({ length: 2 * 4 * 2 * 7 * 9 }, (_, i) => Math.cos(i)),
      );
      const xEven = floatTensor([2, 4, 2, 8, 10]);
      for (let i = 0; i < xOdd.data.length; i++) {
        const w = i % 9;
        const h = Math.floor(i / 9) % 7;
        const rest = Math.floor(i / 63);
        xEven.data[(rest * 8 + h) * 10 + w] = xOdd.data[i] as number;
      }
      const mOdd = Stdit3Model.create(backend, cfg, odd);
      const mEven = Stdit3Model.create(backend, cfg, even);
      try {
        const sOdd = await mOdd.part1(weights, { ...inputs, x: xOdd });
        const sEven = await mEven.part1(weights, { ...inputs, x: xEven });
        expect(sOdd.tokens.dims).toEqual([2, 2, 20, 64]);
        expect(Array.from(sOdd.tokens.data)).toEqual(Array.from(sEven.tokens.data));
        const outOdd = await mOdd.part2(weights, sOdd.tokens, sOdd.t);
        const outEven = await mEven.part2(weights, sEven.tokens, sEven.t);
        expect(outOdd.dims).toEqual([2, 8, 2, 7, 9]);
        const cropped = outEven.data.filter((_, i) => i % 10 < 9 && Math.floor(i / 10) % 8 < 7);
        expect(Array.from(outOdd.data)).toEqual(Array.from(cropped));
      } finally {
        await mOdd.release();
        await mEven.release();
      }
    });
  });
});
