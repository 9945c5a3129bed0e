import { afterEach, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../../../shared/engine/onnx/graph-builder';
import type { BackendSession } from '../../../../../shared/engine/ports';
import { floatTensor, type FloatTensor } from '../../../../../shared/engine/tensor';
import { OnnxRuntimeBackend } from '../../../../../src-main/adapters/onnxruntime-backend';

const backend = new OnnxRuntimeBackend({ intraOpThreads: 1 });
const sessions: BackendSession[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.release()));
});

async function run(
  g: GraphBuilder,
  feeds: Record<string, FloatTensor>,
): Promise<Record<string, FloatTensor>> {
  const s = await backend.createSession(g.build(), 'test');
  sessions.push(s);
  return (await s.run(feeds)) as Record<string, FloatTensor>;
}

const seq = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i);

describe('ONNX graph builder on onnxruntime-node', () => {
  it('reports the runtime version and cpu in the backend name', () => {
    expect(backend.name).toMatch(/^onnxruntime-node \d+\.\d+\.\d+ \(cpu/);
  });

  it('computes a Gemm linear layer with transB on [out, in] weights', async () => {
    const g = new GraphBuilder('gemm');
    const x = g.input('x', [2, 3]);
    const w = g.input('w', [4, 3]);
    g.output(g.gemm(x, w, g.constF([1, 2, 3, 4])), 'y', [2, 4]);
    const out = await run(g, { x: floatTensor([2, 3], seq(6)), w: floatTensor([4, 3], seq(12)) });
    // y[i, o] = Σ_k x[i, k]·w[o, k] + b[o]
    expect(Array.from(out.y?.data ?? [])).toEqual([6, 16, 26, 36, 15, 52, 89, 126]);
  });

  it('reshapes, transposes, slices, pads, gathers and splits with static parameters', async () => {
    const g = new GraphBuilder('shapes');
    const x = g.input('x', [2, 3]);
    g.output(g.transpose(g.reshape(x, [3, 2]), [1, 0]), 't', [2, 3]);
    g.output(g.slice(x, [1], [3], [1]), 's', [2, 2]);
    g.output(g.pad(x, [0, 0, 1, 1]), 'p', [3, 4]);
    g.output(g.gather(x, [2, 0], 1), 'gi', [2, 2]);
    const [a, b] = g.split(x, 0, 2) as [string, string];
    g.output(g.concat([b, a], 0), 'c', [2, 3]);
    g.output(g.reduceMean(x, [1], false), 'm', [2]);
    const out = await run(g, { x: floatTensor([2, 3], seq(6)) });
    expect(Array.from(out.t?.data ?? [])).toEqual([0, 2, 4, 1, 3, 5]);
    expect(Array.from(out.s?.data ?? [])).toEqual([1, 2, 4, 5]);
    expect(Array.from(out.p?.data ?? [])).toEqual([0, 1, 2, 0, 3, 4, 5, 0, 0, 0, 0, 0]);
    expect(Array.from(out.gi?.data ?? [])).toEqual([2, 0, 5, 3]);
    expect(Array.from(out.c?.data ?? [])).toEqual([3, 4, 5, 0, 1, 2]);
    expect(Array.from(out.m?.data ?? [])).toEqual([1, 4]);
  });

  it('computes softmax, non-affine LayerNorm, SiLU and tanh-GELU like their definitions', async () => {
    const g = new GraphBuilder('math');
    const x = g.input('x', [1, 4]);
    g.output(g.softmax(x), 'sm', [1, 4]);
    g.output(g.layerNorm(x, 4, 1e-6), 'ln', [1, 4]);
    g.output(g.silu(x), 'silu', [1, 4]);
    g.output(g.geluTanh(x), 'gelu', [1, 4]);
    const xs = [-2, -0.5, 0.25, 3];
    const out = await run(g, { x: floatTensor([1, 4], Float32Array.from(xs)) });
    const e = xs.map(Math.exp);
    const sum = e.reduce((p, v) => p + v, 0);
    const mean = xs.reduce((p, v) => p + v, 0) / 4;
    const std = Math.sqrt(xs.reduce((p, v) => p + (v - mean) ** 2, 0) / 4 + 1e-6);
    const gelu = (v: number): number =>
      0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    xs.forEach((v, i) => {
      expect(out.sm?.data[i]).toBeCloseTo((e[i] as number) / sum, 6);
      expect(out.ln?.data[i]).toBeCloseTo((v - mean) / std, 5);
      expect(out.silu?.data[i]).toBeCloseTo(v / (1 + Math.exp(-v)), 6);
      expect(out.gelu?.data[i]).toBeCloseTo(gelu(v), 6);
    });
  });

  it('deduplicates identical constants and rejects duplicate input names', () => {
    const g = new GraphBuilder('dedupe');
    expect(g.constI64([1, 2])).toBe(g.constI64([1, 2]));
    expect(g.scalar(1)).not.toBe(g.constI64([1], []));
    g.input('x', [1]);
    expect(() => g.input('x', [1])).toThrow(/duplicate/);
    expect(() => new GraphBuilder('empty').build()).toThrow(/no outputs/);
  });
});
