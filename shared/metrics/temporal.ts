/** No-reference temporal metrics in the spirit of VBench: temporal flicker, subject consistency, dynamic degree. */
import { analyseClip, type ClipAnalysis, type FrameObject } from './analysis';
import { deltaE, rgbToLab } from './colour';
import { assertVideo, mean, type Video } from './video';
import { NANO_SHAPES } from './vocabulary';

/** Temporal flicker of one clip. */
export interface FlickerResult {
  /** 1 − meanAbsDiff / 255, in [0, 1]; 1 = consecutive frames identical (no flicker). A 1-frame clip scores 1. */
  readonly score: number;
  /** Mean over consecutive frame pairs of the mean absolute difference over all pixels and channels (0..255). */
  readonly meanAbsDiff: number;
  /** The mean absolute difference of each pair (t, t+1). */
  readonly perPair: number[];
}

/**
 * VBench's temporal flickering: the mean absolute difference (MAD) between consecutive frames over every pixel and
 * channel in 8-bit units, averaged over the pairs, mapped linearly as `score = (255 − MAD) / 255`. VBench applies it
 * to static-scene clips (there any change is flicker); on moving clips the object's motion also counts, so compare
 * settings on the same prompts rather than reading the number absolutely.
 */
export function temporalFlicker(v: Video): FlickerResult {
  assertVideo(v);
  const perPair: number[] = [];
  for (let t = 0; t + 1 < v.frames.length; t++) {
    const a = v.frames[t]!;
    const b = v.frames[t + 1]!;
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
    perPair.push(s / a.length);
  }
  const meanAbsDiff = perPair.length > 0 ? mean(perPair) : 0;
  return { score: (255 - meanAbsDiff) / 255, meanAbsDiff, perPair };
}

/** Subject consistency of one clip. */
export interface SubjectConsistencyResult {
  /** In [0, 1]; 1 = the object looks the same in every frame. 0 when no object is found. */
  readonly score: number;
  /** Similarity of frame t (t ≥ 1) to the first and to the previous frame, averaged (VBench's per-frame term). */
  readonly perFrame: number[];
}

/** Descriptor similarity of the object in two frames, in [0, 1] (0 when either frame has no object). */
export function objectSimilarity(a: FrameObject, b: FrameObject): number {
  if (a.rgb === null || b.rgb === null) return 0;
  const dE = deltaE(rgbToLab(...a.rgb), rgbToLab(...b.rgb));
  const colour = Math.max(0, 1 - dE / 50);
  let shape = 1;
  if (a.templates !== null && b.templates !== null) {
    let sa = 0;
    let sb = 0;
    for (const s of NANO_SHAPES) {
      sa += a.templates[s];
      sb += b.templates[s];
    }
    let tv = 0;
    for (const s of NANO_SHAPES) tv += Math.abs(a.templates[s] / (sa || 1) - b.templates[s] / (sb || 1));
    shape = 1 - tv / 2;
  }
  return colour * shape;
}

/**
 * VBench-style subject consistency with a hand-made descriptor instead of DINO features: the object is segmented in
 * every frame ({@link analyseClip}); its descriptor is the mean CIELAB colour of its core pixels (coverage ≥ 0.75)
 * and its circle/square/triangle template matches normalised to sum 1, p (scale- and position-invariant: growing
 * and moving are not inconsistencies). sim = max(0, 1 − ΔE*76/50) · (1 − ½ Σ|p_a − p_b|); the shape term is 1 when either frame's object
 * touches the edge or is under 10 px (its outline is clipped or too coarse). A frame without an object has
 * similarity 0. score = mean over t ≥ 1 of (sim(f0, ft) + sim(ft−1, ft)) / 2, as VBench; a 1-frame clip scores 1
 * if it has an object.
 */
export function subjectConsistency(
  v: Video,
  analysis: ClipAnalysis = analyseClip(v),
): SubjectConsistencyResult {
  const f = analysis.frames;
  if (!analysis.present) return { score: 0, perFrame: f.slice(1).map(() => 0) };
  if (f.length === 1) return { score: f[0]!.rgb !== null ? 1 : 0, perFrame: [] };
  const perFrame: number[] = [];
  for (let t = 1; t < f.length; t++)
    perFrame.push((objectSimilarity(f[0]!, f[t]!) + objectSimilarity(f[t - 1]!, f[t]!)) / 2);
  return { score: mean(perFrame), perFrame };
}

/** The default dynamic-degree threshold: object travel or diameter change of 10 % of the frame width. */
export const DYNAMIC_THRESHOLD = 0.1;

/** Dynamic degree of one clip. */
export interface DynamicDegreeResult {
  /** amount ≥ threshold. */
  readonly dynamic: boolean;
  /** max(centroid travel, |equal-area diameter change|) between the first and last quarter of the frames, / width. */
  readonly amount: number;
  readonly threshold: number;
  /** Mean absolute frame difference (0..255), reported for reference (flicker counts here too). */
  readonly meanAbsDiff: number;
}

/**
 * VBench's dynamic degree asks "does this clip move?" (RAFT optical flow above a resolution-scaled threshold). On
 * Nano clips the only mover is the object, so the amount of motion is the object's centroid travel or its
 * equal-area diameter change (growing / shrinking) between the first and last quarter of the frames, as a fraction
 * of the width; the clip is dynamic when that reaches `threshold` (default {@link DYNAMIC_THRESHOLD} = 0.1, the
 * motion scorer's 'static' bound; ground-truth clips move ≈ 0.56 and grow ≈ 0.35). No object: amount 0.
 * Over a set of clips, VBench's number is the fraction of dynamic clips: {@link dynamicDegreeRate}.
 */
export function dynamicDegree(
  v: Video,
  threshold = DYNAMIC_THRESHOLD,
  analysis: ClipAnalysis = analyseClip(v),
): DynamicDegreeResult {
  const m = analysis.motion;
  const amount = analysis.present ? Math.max(m.travel, Math.abs(m.diameterChange)) / v.width : 0;
  return { dynamic: amount >= threshold, amount, threshold, meanAbsDiff: temporalFlicker(v).meanAbsDiff };
}

/** Fraction of clips that are dynamic (VBench's dynamic degree over a prompt set); NaN for no clips. */
export function dynamicDegreeRate(results: readonly DynamicDegreeResult[]): number {
  return mean(results.map((r) => (r.dynamic ? 1 : 0)));
}
