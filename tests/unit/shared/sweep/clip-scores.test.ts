// A sweep run's clip scores: flicker for every clip, and nanobench's adherence only for prompts in the Nano
// vocabulary (never 0 for "cannot score").
import { describe, expect, it } from 'vitest';
import { parsePrompt, scorePrompt, temporalFlicker } from '../../../../shared/metrics';
import { sweepClipScores } from '../../../../shared/sweep/clip-scores';
import { renderPrompt } from '../../../helpers/render-shapes';

const PROMPT = 'a red circle moving left on a black background';

describe('sweepClipScores', () => {
  it('a Nano prompt: the flicker score and the adherence nanobench gives for the same clip and prompt', () => {
    const clip = renderPrompt(parsePrompt(PROMPT), 7);
    const scores = sweepClipScores(clip, PROMPT);
    expect(scores.flicker).toBe(temporalFlicker(clip).score);
    expect(scores.flicker).toBeGreaterThan(0.9);
    expect(scores.flicker).toBeLessThan(1); // the circle moves
    expect(scores.adherence).toBe(scorePrompt(clip, PROMPT).mean);
    expect(scores.adherence).toBe(1); // a clean render shows its prompt
    // The clip of another prompt scores lower against this one.
    const other = renderPrompt(parsePrompt('a green square moving up on a white background'), 7);
    expect(sweepClipScores(other, PROMPT).adherence).toBeLessThan(0.5);
  });

  it('a prompt outside the Nano vocabulary: flicker, and no adherence (null, not 0)', () => {
    const clip = renderPrompt(parsePrompt(PROMPT), 7);
    expect(sweepClipScores(clip, 'a cat playing the piano at dusk')).toEqual({
      flicker: temporalFlicker(clip).score,
      adherence: null,
    });
    expect(sweepClipScores(clip, 'an orange circle moving left on a black background').adherence).toBeNull();
  });
});
