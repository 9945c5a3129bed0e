import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../../../shared/engine/onnx/graph-builder';
import { floatTensor, type FloatTensor } from '../../../../../shared/engine/tensor';
import {
  causalConv3d,
  depthToTime,
  groupNorm,
  upsampleNearest2x,
} from '../../../../../shared/engine/vae/ops';
import { sliceFrames } from '../../../../../shared/engine/vae/model';
import { toUint8Frames } from '../../../../../shared/engine/vae/decode-stage';
import { OnnxRuntimeBackend } from '../../../../../src-main/adapters/onnxruntime-backend';

const backend = new OnnxRuntimeBackend({ intraOpThreads: 1 });
const released: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const r of released) await r();
});

async function run(g: GraphBuilder, feeds: Record<string, FloatTensor>): Promise<FloatTensor> {
  const s = await backend.createSession(g.build(), 'vae-ops-test');
  released.push(() => s.release());
  return (await s.run(feeds)).y as FloatTensor;
}

const seq = (n: number, f = (i: number) => i): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => f(i));

describe('VAE graph ops', () => {
  it('CausalConv3d pads k−1 frames at the front only and k//2 on H and W', async () => {
    // One channel, T=3, H=W=3; the kernel picks the input at time offset dt, centre of H/W.
    const x = floatTensor(
      [1, 1, 3, 3, 3],
      seq(27, (i) => i + 1),
    );
    for (const dt of [0, 1, 2]) {
      const g = new GraphBuilder('t');
      g.input('x', [1, 1, 3, 3, 3]);
      g.input('w', [1, 1, 3, 3, 3]);
      g.output(causalConv3d(g, 'x', 'w', undefined, 3), 'y', [1, 1, 3, 3, 3]);
      const w = new Float32Array(27);
      w[dt * 9 + 4] = 1;
      const y = await run(g, { x, w: floatTensor([1, 1, 3, 3, 3], w) });
      // Output frame t reads padded frame t + dt = input frame t + dt − 2 (zero before frame 0).
      for (let t = 0; t < 3; t++)
        for (let i = 0; i < 9; i++) {
          const src = t + dt - 2;
          expect(y.data[t * 9 + i]).toBe(src < 0 ? 0 : (x.data[src * 9 + i] as number));
        }
    }
    // H/W padding: a kernel reading the top-left neighbour gives zeros on the first row and column.
    const g = new GraphBuilder('hw');
    g.input('x', [1, 1, 3, 3, 3]);
    g.input('w', [1, 1, 3, 3, 3]);
    g.output(causalConv3d(g, 'x', 'w', undefined, 3), 'y', [1, 1, 3, 3, 3]);
    const w = new Float32Array(27);
    w[2 * 9 + 0] = 1;
    const y = await run(g, { x, w: floatTensor([1, 1, 3, 3, 3], w) });
    expect(Array.from(y.data.subarray(0, 9))).toEqual([0, 0, 0, 0, 1, 2, 0, 4, 5]);
  });

  it('depth-to-time sends channel c·2 + k to frame 2t + k', async () => {
    const g = new GraphBuilder('d2t');
    g.input('x', [1, 4, 2, 1, 1]);
    g.output(depthToTime(g, 'x', [1, 4, 2, 1, 1]), 'y', [1, 2, 4, 1, 1]);
    // x[c', t] = 10·c' + t
    const x = floatTensor([1, 4, 2, 1, 1], Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]));
    const y = await run(g, { x });
    // y[c, 2t + k] = x[2c + k, t]
    expect(Array.from(y.data)).toEqual([0, 10, 1, 11, 20, 30, 21, 31]);
  });

  it('GroupNorm normalises per sample and group over channels and positions', async () => {
    const g = new GraphBuilder('gn');
    g.input('x', [2, 4, 3]);
    g.input('gamma', [4]);
    g.input('beta', [4]);
    g.output(groupNorm(g, 'x', [2, 4, 3], 2, 1e-5, 'gamma', 'beta'), 'y', [2, 4, 3]);
    const x = floatTensor(
      [2, 4, 3],
      seq(24, (i) => Math.sin(i) * 3 + i * 0.1),
    );
    const gamma = floatTensor([4], Float32Array.from([1, 2, 0.5, -1]));
    const beta = floatTensor([4], Float32Array.from([0, 0.1, -0.2, 0.3]));
    const y = await run(g, { x, gamma, beta });
    for (let n = 0; n < 2; n++)
      for (let grp = 0; grp < 2; grp++) {
        const idx = Array.from({ length: 6 }, (_, i) => n * 12 + grp * 6 + i);
        const vals = idx.map((i) => x.data[i] as number);
        const mean = vals.reduce((a, b) => a + b, 0) / 6;
        const variance = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / 6;
        for (const i of idx) {
          const c = Math.floor((i % 12) / 3);
          const want =
            (((x.data[i] as number) - mean) / Math.sqrt(variance + 1e-5)) * (gamma.data[c] as number) +
            (beta.data[c] as number);
          expect(y.data[i]).toBeCloseTo(want, 5);
        }
      }
  });

  it('nearest ×2 upsampling repeats every pixel in a 2×2 square', async () => {
    const g = new GraphBuilder('up');
    g.input('x', [1, 1, 2, 2]);
    g.output(upsampleNearest2x(g, 'x', [1, 1, 2, 2]), 'y', [1, 1, 4, 4]);
    const y = await run(g, { x: floatTensor([1, 1, 2, 2], Float32Array.from([1, 2, 3, 4])) });
    expect(Array.from(y.data)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
});

describe('frame dropping and save_sample conversion', () => {
  it('keeps the last numFrames frames of a temporal chunk', () => {
    const x = floatTensor([1, 1, 8, 1, 1], seq(8));
    expect(Array.from(sliceFrames(x, 1, 7).data)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(sliceFrames(floatTensor([1, 1, 4, 1, 1], seq(4)), 3, 1).data)).toEqual([3]);
  });

  it('clamps, maps to [0, 1] and rounds half up like save_sample', () => {
    const [item] = toUint8Frames(
      floatTensor([1, 3, 1, 1, 3], Float32Array.from([-2, -1, 1, 0, 1 / 255 - 1, 2, 0.5, 0.999, -0.999])),
    );
    expect(item?.channels).toBe(4);
    // pixel 0: r = -2 → 0, g = 0 → 128 (127.5 + 0.5), b = 0.5 → 191 (191.25 + 0.5 → 191);
    // pixel 1: g = 1/255 − 1 → 0.5 + 0.5 → 1 (half up); pixel 2: b = −0.999 → 0.6275 → 0 (truncated).
    expect(Array.from(item?.frames[0] ?? [])).toEqual([0, 128, 191, 255, 0, 1, 255, 255, 255, 255, 0, 255]);
  });
});
