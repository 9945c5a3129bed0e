// Baselines: the same job with every technique off (which device runs it: tests/unit/shared/protocol).
import { describe, expect, it } from 'vitest';
import { baselineParams } from '../../../../../src-main/studio/services/baseline';

describe('baseline', () => {
  it('turns LPL, TDTM and CI-DL off and keeps prompt, seed, steps, CFG and size', () => {
    const params = {
      prompt: 'p',
      seed: 9,
      steps: 30,
      cfgScale: 7,
      numFrames: 17,
      heightPx: 64,
      widthPx: 64,
      lpl: { mode: 'fixed' as const, leapStep: 15 },
      tdtm: { mergeSteps: 15 },
      cidl: { budget: { kind: 'fraction' as const, of: 0.5 }, policy: 'paper' as const },
    };
    expect(baselineParams(params)).toEqual({
      prompt: 'p',
      seed: 9,
      steps: 30,
      cfgScale: 7,
      numFrames: 17,
      heightPx: 64,
      widthPx: 64,
      lpl: { mode: 'off' },
      tdtm: { mergeSteps: 0 },
      cidl: { budget: { kind: 'unlimited' } },
    });
  });
});
