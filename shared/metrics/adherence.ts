/**
 * Prompt-adherence scorers for the Open-Sora Nano vocabulary: does the clip show the prompt's colour, shape, motion
 * and background? Each scorer reads a {@link ClipAnalysis} (computed on demand, or pass one to share it).
 */
import { analyseClip, type ClipAnalysis } from './analysis';
import { type Video } from './video';
import { parsePrompt, type NanoPrompt } from './vocabulary';

/** One attribute's verdict: `score` is 1 when `predicted === expected`, else 0. */
export interface AttributeScore {
  readonly score: 0 | 1;
  /** What the clip shows: a vocabulary word/phrase, or 'none' (no object found) / 'static' (motion only). */
  readonly predicted: string;
  /** What the prompt asks for. */
  readonly expected: string;
}

/** A prompt as text (parsed with {@link parsePrompt}) or already parsed. */
export type PromptLike = string | NanoPrompt;

const toPrompt = (p: PromptLike): NanoPrompt => (typeof p === 'string' ? parsePrompt(p) : p);
const verdict = (predicted: string, expected: string): AttributeScore => ({
  score: predicted === expected ? 1 : 0,
  predicted,
  expected,
});

/** Background: the median border colour's nearest vocabulary background (ΔE*76 in CIELAB). */
export function scoreBackground(
  v: Video,
  prompt: PromptLike,
  analysis: ClipAnalysis = analyseClip(v),
): AttributeScore {
  return verdict(analysis.background.name, toPrompt(prompt).background);
}

/** Colour: the object's core pixels' mean colour → nearest vocabulary colour (CIELAB); 'none' without an object. */
export function scoreColour(
  v: Video,
  prompt: PromptLike,
  analysis: ClipAnalysis = analyseClip(v),
): AttributeScore {
  return verdict(analysis.object?.name ?? 'none', toPrompt(prompt).colour);
}

/**
 * Shape: soft-IoU match of the object's coverage against equal-area circle / square / triangle templates centred
 * on its centroid, over the frames where it is whole (not touching the edge, ≥ 10 px), area-weighted; 'none' when
 * no frame qualifies.
 */
export function scoreShape(
  v: Video,
  prompt: PromptLike,
  analysis: ClipAnalysis = analyseClip(v),
): AttributeScore {
  return verdict(analysis.shape.predicted, toPrompt(prompt).shape);
}

/**
 * Motion: centroid displacement and area change between the first and last quarter of the frames — a large area
 * change (|ln ratio| > 0.8) with little travel (< 25 % of the width) is growing / shrinking; travel under 10 % of
 * the width is 'static'; otherwise the dominant axis gives moving left / right / up / down.
 */
export function scoreMotionDirection(
  v: Video,
  prompt: PromptLike,
  analysis: ClipAnalysis = analyseClip(v),
): AttributeScore {
  return verdict(analysis.motion.predicted, toPrompt(prompt).motion);
}

/** All four verdicts for one clip, their mean, and the analysis they came from. */
export interface PromptScores {
  readonly colour: AttributeScore;
  readonly shape: AttributeScore;
  readonly motion: AttributeScore;
  readonly background: AttributeScore;
  /** Mean of the four scores (scorers.py's `score`). */
  readonly mean: number;
  readonly analysis: ClipAnalysis;
}

/** Scores one clip against its prompt on all four attributes (one analysis shared by the four scorers). */
export function scorePrompt(
  v: Video,
  prompt: PromptLike,
  analysis: ClipAnalysis = analyseClip(v),
): PromptScores {
  const p = toPrompt(prompt);
  const colour = scoreColour(v, p, analysis);
  const shape = scoreShape(v, p, analysis);
  const motion = scoreMotionDirection(v, p, analysis);
  const background = scoreBackground(v, p, analysis);
  return {
    colour,
    shape,
    motion,
    background,
    mean: (colour.score + shape.score + motion.score + background.score) / 4,
    analysis,
  };
}
