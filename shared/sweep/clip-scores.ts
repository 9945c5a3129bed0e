/**
 * A sweep run's final clip scored on its own (docs/sweeps.md, the journal's `clip`): VBench's temporal flicker, and
 * nanobench's prompt adherence where the prompt is in the Open-Sora Nano vocabulary — the same numbers `odsora
 * nanobench` gives for the same clip and prompt (its `adherence` is `scorePrompt(...).mean`, shared/metrics).
 */
import { parsePrompt, PromptParseError, scorePrompt, temporalFlicker, type Video } from '../metrics/index';
import type { SweepRunClip } from './journal';

/**
 * The clip's flicker score and prompt adherence. Adherence is null when the prompt does not parse in the Nano
 * vocabulary (`PromptParseError`): only Nano has scorers, and a prompt outside its vocabulary cannot be scored,
 * which is not the same as scoring 0.
 */
export function sweepClipScores(video: Video, prompt: string): SweepRunClip {
  let nano: ReturnType<typeof parsePrompt> | null;
  try {
    nano = parsePrompt(prompt);
  } catch (e) {
    if (!(e instanceof PromptParseError)) throw e;
    nano = null;
  }
  return {
    flicker: temporalFlicker(video).score,
    adherence: nano === null ? null : scorePrompt(video, nano).mean,
  };
}
