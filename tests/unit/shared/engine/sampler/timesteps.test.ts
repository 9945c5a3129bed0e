import { describe, expect, it } from 'vitest';
import {
  roundHalfEven,
  samplingTimesteps,
  transformRatio,
  transformRatioTime,
  transformTimestep,
} from '../../../../../shared/engine/sampler/timesteps';

const head = (a: Float32Array) => Array.from(a.slice(0, 3));
const tail = (a: Float32Array) => Array.from(a.slice(-2));

function expectClose(actual: number[], expected: number[], atol = 5e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((x, i) => expect(Math.abs(x - (expected[i] as number))).toBeLessThanOrEqual(atol));
}

describe('roundHalfEven', () => {
  it('rounds like Python 3 round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([
      0, 2, 2, 4, -0, -2, -2, 2, 3, -3,
    ]);
  });
});

describe('samplingTimesteps', () => {
  it('without transform: the discrete linear schedule', () => {
    expect(Array.from(samplingTimesteps({ steps: 4 }))).toEqual([1000, 750, 500, 250]);
    // 1000·(1 − 1/16·k) hits .5 for odd k at n = 16: 937.5 -> 938 (even), 812.5 -> 812 (even).
    const t16 = samplingTimesteps({ steps: 16 });
    expect(t16[1]).toBe(938);
    expect(t16[3]).toBe(812);
    expect(samplingTimesteps({ steps: 16, discrete: false })[1]).toBe(937.5);
    expect(Array.from(samplingTimesteps({ steps: 3 }))).toEqual([1000, 667, 333]);
  });

  it('spec 6.1 example: Python 256², 68 frames (r = 0.5·√20)', () => {
    const t = samplingTimesteps({
      steps: 30,
      transform: { enabled: true, heightPx: 256, widthPx: 256, numFrames: 68 },
    });
    expectClose(head(t), [1000, 984.968, 968.884]);
    expectClose(tail(t), [138.358, 70.898]);
  });

  it('spec 6.1 example: iPhone 256² (r = 0.5·√15)', () => {
    const t = samplingTimesteps({
      steps: 30,
      transform: { enabled: true, heightPx: 256, widthPx: 256, numFrames: 68, ratioTime: 'app' },
    });
    expectClose(head(t), [1000, 982.683, 964.243]);
    expectClose(tail(t), [122.085, 61.989]);
    // A number is r_time itself.
    const n = samplingTimesteps({
      steps: 30,
      transform: { enabled: true, heightPx: 256, widthPx: 256, numFrames: 68, ratioTime: Math.sqrt(15) },
    });
    expect(Array.from(n)).toEqual(Array.from(t));
  });

  it('spec 6.1 example: iPhone 192² (r = 0.375·√15)', () => {
    const t = samplingTimesteps({
      steps: 30,
      transform: { enabled: true, heightPx: 192, widthPx: 192, numFrames: 68, ratioTime: 'app' },
    });
    expectClose(head(t), [1000, 977.042, 952.885]);
    expectClose(tail(t), [94.446, 47.223]);
  });

  it('frame factor: (frames // 17)·5, 1 for a single frame', () => {
    expect(transformRatioTime(68)).toBe(Math.fround(Math.sqrt(20)));
    expect(transformRatioTime(51)).toBe(Math.fround(Math.sqrt(15)));
    expect(transformRatioTime(1)).toBe(1);
    expect(transformRatioTime(68, 'app')).toBe(Math.fround(Math.sqrt(15)));
    // 512² and one frame: r = 1, the transform is the identity.
    const r = transformRatio({ enabled: true, heightPx: 512, widthPx: 512, numFrames: 1 });
    expect(r).toBe(1);
    expect(transformTimestep(333, r)).toBe(Math.fround(333));
  });

  it('rejects bad input with clear errors', () => {
    expect(() => samplingTimesteps({ steps: 0 })).toThrow(/steps must be a positive integer/);
    expect(() =>
      samplingTimesteps({
        steps: 4,
        transform: { enabled: true, heightPx: 256, widthPx: 256, numFrames: 16 },
      }),
    ).toThrow(/ratio is 0/);
    expect(() => transformRatioTime(0)).toThrow(/numFrames must be a positive integer/);
    expect(() => transformRatioTime(51, -1)).toThrow(/ratioTime must be a positive finite number/);
    expect(() =>
      samplingTimesteps({ steps: 4, transform: { enabled: true, heightPx: 0, widthPx: 256, numFrames: 51 } }),
    ).toThrow(/heightPx and widthPx must be positive/);
  });
});
