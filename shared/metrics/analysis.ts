/**
 * Segmentation and per-frame geometry of a Nano clip (one shape over a plain background): the measurements behind
 * the prompt-adherence scorers, subject consistency and dynamic degree. A port of `tools/nano/scorers.py`'s
 * `analyse()`, with three changes (each noted where it happens): colours are matched in CIELAB, the object colour is
 * the mean of its core pixels (not of every pixel far from the background), and the shape is classified by matching
 * the object's silhouette (specks dropped, holes and concavities filled) against circle / square / triangle templates
 * stretched to its bounding box (fill ratio is still reported).
 */
import { percentile } from './percentile';
import { nearestInPalette } from './colour';
import { silhouette } from './silhouette';
import { assertVideo, median, type Video } from './video';
import {
  NANO_BACKGROUNDS,
  NANO_COLOURS,
  NANO_SHAPES,
  type NanoBackground,
  type NanoColour,
  type NanoMotion,
  type NanoShape,
} from './vocabulary';

/** Thresholds of the analysis (all distances are RGB Euclidean norms with channels in 0..1, as in scorers.py). */
export const ANALYSIS_THRESHOLDS = Object.freeze({
  /** A pixel this far from the background colour is an object pixel ("strong"). */
  strong: 0.35,
  /** Fewer strong pixels than this in the whole clip: no object. */
  minStrongPixels: 4,
  /** Pixels closer than this to the background get coverage 0 (ignores faint noise). */
  faint: 0.12,
  /** Core pixels (used for the object colour): strong pixels at least this fraction of the 95th-percentile distance. */
  core: 0.8,
  /** A frame's object counts as present when its coverage sums to more than this many pixels. */
  presentArea: 2,
  /** Frames used for shape: coverage area at least this (pixels) and the >0.5 mask not touching the frame edge. */
  shapeMinArea: 10,
  /** growing / shrinking: |ln(area last quarter / area first quarter)| above this with travel below `growMaxTravel`. */
  growLogArea: 0.8,
  /** ... and centroid travel below this fraction of the width. */
  growMaxTravel: 0.25,
  /** Centroid travel below this fraction of the width (and no growth): the object did not move ('static'). */
  minTravel: 0.1,
});

/** The object in one frame. */
export interface FrameObject {
  /** Sum of the coverage (pixels). */
  readonly area: number;
  /** Coverage-weighted centroid in pixel units (pixel i's centre is i + 0.5); NaN when area is 0. */
  readonly cx: number;
  readonly cy: number;
  /** Bounding box of coverage > 0.5 (inclusive pixel indices) or null when empty. */
  readonly bbox: { x0: number; y0: number; x1: number; y1: number } | null;
  /** The > 0.5 mask touches the frame edge (the shape may be clipped). */
  readonly touchesEdge: boolean;
  /** area / bounding-box area (circle π/4, square 1, triangle 1/2) or null. */
  readonly fill: number | null;
  /**
   * Template match per shape, or null when not measurable (edge-touching or < 10 px): IoU of the silhouette of the
   * coverage > 0.5 mask (silhouette.ts: specks dropped, convex hull) with the square, inscribed ellipse and apex-up
   * triangle of the silhouette's bounding box. The square's IoU is the silhouette's fill ratio.
   */
  readonly templates: Record<NanoShape, number> | null;
  /** Mean RGB (0..255) of this frame's core object pixels (coverage ≥ 0.75), or null when there are none. */
  readonly rgb: [number, number, number] | null;
}

/** The predicted motion: a vocabulary phrase, 'static' (object present but barely moving) or 'none' (no object). */
export type PredictedMotion = NanoMotion | 'static' | 'none';

/** Everything the scorers need, computed once per clip. */
export interface ClipAnalysis {
  readonly width: number;
  readonly height: number;
  /** Median border colour (RGB 0..255) and its nearest vocabulary background. */
  readonly background: { rgb: [number, number, number]; name: NanoBackground; distance: number };
  /** False when fewer than `minStrongPixels` pixels differ from the background. */
  readonly present: boolean;
  /** Object colour (mean of core pixels, RGB 0..255) and its nearest vocabulary colour (background's name excluded). */
  readonly object: { rgb: [number, number, number]; name: NanoColour; distance: number } | null;
  /** Per-frame coverage maps (0..1, row-major) — the soft object mask. */
  readonly coverage: Float32Array[];
  readonly frames: FrameObject[];
  readonly motion: {
    readonly predicted: PredictedMotion;
    /** Centroid displacement (px), last quarter minus first quarter of the frames. */
    readonly dx: number;
    readonly dy: number;
    readonly travel: number;
    /** ln(mean area of the last quarter / of the first quarter). */
    readonly logAreaRatio: number;
    /** Change of the equal-area circle's diameter, last quarter minus first quarter (px). */
    readonly diameterChange: number;
  };
  readonly shape: {
    readonly predicted: NanoShape | 'none';
    /** Mean template match per shape over the usable frames (area-weighted); see {@link FrameObject.templates}. */
    readonly scores: Record<NanoShape, number> | null;
    /** Median fill ratio over the usable frames (scorers.py's feature). */
    readonly fill: number | null;
    /** Number of frames used. */
    readonly frames: number;
    /** Index of the clearest frame (largest usable area), or -1. */
    readonly clearestFrame: number;
  };
}

const SQRT_PI_2 = Math.sqrt(Math.PI) / 2;
const TRI_INRADIUS = Math.sqrt(Math.PI / (3 * Math.sqrt(3)));

/**
 * Signed distance (px) from (dx, dy) — offsets from the shape's centre — to an equal-area circle (radius r), square
 * (half side r·√π/2) or apex-up equilateral triangle (inradius r·√(π/(3√3))), exactly as `data.py` renders them.
 */
export function shapeSdf(shape: NanoShape, dx: number, dy: number, r: number): number {
  if (shape === 'circle') return Math.hypot(dx, dy) - r;
  if (shape === 'square') return Math.max(Math.abs(dx), Math.abs(dy)) - r * SQRT_PI_2;
  return Math.max(dy, 0.8660254 * dx - 0.5 * dy, -0.8660254 * dx - 0.5 * dy) - r * TRI_INRADIUS;
}

/** Anti-aliased coverage of a shape at pixel centres: clamp(0.5 − sdf, 0, 1) (as `data.render`). */
export function shapeCoverage(
  shape: NanoShape,
  px: number,
  py: number,
  cx: number,
  cy: number,
  r: number,
): number {
  return Math.min(1, Math.max(0, 0.5 - shapeSdf(shape, px - cx, py - cy, r)));
}

/**
 * Does the pixel centre (u, v) — position inside the silhouette's bounding box, both in [0, 1], v downwards — lie in
 * the shape inscribed in that box: the whole box (square), the inscribed ellipse (circle), or the apex-up triangle
 * with its base on the box's bottom edge and its apex at the top centre (data.py's triangle)?
 */
function inBoxTemplate(shape: NanoShape, u: number, v: number): boolean {
  if (shape === 'square') return true;
  if (shape === 'circle') return (u - 0.5) ** 2 + (v - 0.5) ** 2 < 0.25;
  return Math.abs(u - 0.5) <= v / 2;
}

function templateIous(cov: Float32Array, w: number, h: number): Record<NanoShape, number> | null {
  // Binary mask (coverage > 0.5): robust to the noise floor and to blur (which spreads coverage but keeps the 0.5
  // contour near the true outline), matched as its silhouette (specks dropped, holes and concavities filled:
  // silhouette.ts) against each shape stretched to the silhouette's bounding box (so a slightly oblong square is
  // still a square, and an ellipse a circle). The square's IoU is the silhouette's fill ratio.
  const raw = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) raw[i] = cov[i]! > 0.5 ? 1 : 0;
  const mask = silhouette(raw, w, h);
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (mask[y * w + x]) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const out = {} as Record<NanoShape, number>;
  for (const s of NANO_SHAPES) {
    let inter = 0;
    let union = 0;
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const m = mask[y * w + x] === 1;
        const t = inBoxTemplate(s, (x - x0 + 0.5) / bw, (y - y0 + 0.5) / bh);
        if (m && t) inter++;
        if (m || t) union++;
      }
    out[s] = union > 0 ? inter / union : 0;
  }
  return out;
}

/** Segments the object in every frame of a Nano clip and measures it (see the module comment). */
export function analyseClip(v: Video): ClipAnalysis {
  assertVideo(v);
  const { width: W, height: H } = v;
  const N = W * H;
  const th = ANALYSIS_THRESHOLDS;

  // Background: per-channel (lower) median of the border pixels of all frames.
  const border: number[][] = [[], [], []];
  for (const f of v.frames)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        if (y !== 0 && y !== H - 1 && x !== 0 && x !== W - 1) continue;
        const p = (y * W + x) * 3;
        for (let c = 0; c < 3; c++) border[c]!.push(f[p + c]!);
      }
  const bgRgb = border.map((b) => median(b)) as [number, number, number];
  const bgNear = nearestInPalette(bgRgb, NANO_BACKGROUNDS);
  const background = { rgb: bgRgb, name: bgNear.name, distance: bgNear.distance };

  // Distance of every pixel from the background (0..1 units).
  const diff = v.frames.map((f) => {
    const d = new Float32Array(N);
    for (let i = 0, p = 0; i < N; i++, p += 3)
      d[i] = Math.hypot(f[p]! - bgRgb[0], f[p + 1]! - bgRgb[1], f[p + 2]! - bgRgb[2]) / 255;
    return d;
  });
  const strongD: number[] = [];
  for (const d of diff) for (const x of d) if (x > th.strong) strongD.push(x);

  const emptyFrames = (): FrameObject[] =>
    v.frames.map(() => ({
      area: 0,
      cx: NaN,
      cy: NaN,
      bbox: null,
      touchesEdge: false,
      fill: null,
      templates: null,
      rgb: null,
    }));
  if (strongD.length < th.minStrongPixels)
    return {
      width: W,
      height: H,
      background,
      present: false,
      object: null,
      coverage: v.frames.map(() => new Float32Array(N)),
      frames: emptyFrames(),
      motion: { predicted: 'none', dx: 0, dy: 0, travel: 0, logAreaRatio: 0, diameterChange: 0 },
      shape: { predicted: 'none', scores: null, fill: null, frames: 0, clearestFrame: -1 },
    };

  // Object colour: mean of the core pixels (change from scorers.py, which averages every strong pixel and so mixes
  // in the anti-aliased rim's background share).
  const p95 = percentile(strongD, 95, 'above-rank');
  const coreMin = Math.max(th.strong, th.core * p95);
  const sum = [0, 0, 0];
  let count = 0;
  v.frames.forEach((f, t) => {
    const d = diff[t]!;
    for (let i = 0; i < N; i++)
      if (d[i]! >= coreMin) {
        sum[0]! += f[i * 3]!;
        sum[1]! += f[i * 3 + 1]!;
        sum[2]! += f[i * 3 + 2]!;
        count++;
      }
  });
  const objRgb = sum.map((s) => s / count) as [number, number, number];
  const objNear = nearestInPalette(
    objRgb,
    NANO_COLOURS,
    background.name in NANO_COLOURS ? background.name : undefined,
  );
  const object = { rgb: objRgb, name: objNear.name, distance: objNear.distance };

  // Coverage: linear unmixing between the background and the measured object colour (scorers.py unmixes towards the
  // palette colour; the measured one follows a model whose colours are slightly off).
  const dir = [objRgb[0] - bgRgb[0], objRgb[1] - bgRgb[1], objRgb[2] - bgRgb[2]];
  const dd = Math.max(dir[0]! ** 2 + dir[1]! ** 2 + dir[2]! ** 2, 1e-6 * 255 * 255);
  const coverage = v.frames.map((f, t) => {
    const d = diff[t]!;
    const c = new Float32Array(N);
    for (let i = 0, p = 0; i < N; i++, p += 3) {
      if (d[i]! <= th.faint) continue;
      const u =
        ((f[p]! - bgRgb[0]) * dir[0]! + (f[p + 1]! - bgRgb[1]) * dir[1]! + (f[p + 2]! - bgRgb[2]) * dir[2]!) /
        dd;
      c[i] = Math.min(1, Math.max(0, u));
    }
    return c;
  });

  const frames: FrameObject[] = coverage.map((c, t) => {
    let area = 0;
    let sx = 0;
    let sy = 0;
    let x0 = W;
    let y0 = H;
    let x1 = -1;
    let y1 = -1;
    const rgbSum = [0, 0, 0];
    let rgbN = 0;
    const f = v.frames[t]!;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        const a = c[i]!;
        area += a;
        sx += a * (x + 0.5);
        sy += a * (y + 0.5);
        if (a > 0.5) {
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        }
        if (a >= 0.75) {
          rgbSum[0]! += f[i * 3]!;
          rgbSum[1]! += f[i * 3 + 1]!;
          rgbSum[2]! += f[i * 3 + 2]!;
          rgbN++;
        }
      }
    const cx = area > 0 ? sx / area : NaN;
    const cy = area > 0 ? sy / area : NaN;
    const bbox = x1 >= 0 ? { x0, y0, x1, y1 } : null;
    const touchesEdge = bbox !== null && (x0 === 0 || y0 === 0 || x1 === W - 1 || y1 === H - 1);
    const usable = bbox !== null && !touchesEdge && area >= th.shapeMinArea;
    return {
      area,
      cx,
      cy,
      bbox,
      touchesEdge,
      fill: usable ? area / ((x1 - x0 + 1) * (y1 - y0 + 1)) : null,
      templates: usable ? templateIous(c, W, H) : null,
      rgb: rgbN > 0 ? (rgbSum.map((s) => s / rgbN) as [number, number, number]) : null,
    };
  });

  return {
    width: W,
    height: H,
    background,
    present: true,
    object,
    coverage,
    frames,
    motion: analyseMotion(frames, W),
    shape: analyseShape(frames),
  };
}

/** scorers.py's motion rule on the per-frame centroids and areas (first vs last quarter of the frames). */
function analyseMotion(frames: readonly FrameObject[], W: number): ClipAnalysis['motion'] {
  const th = ANALYSIS_THRESHOLDS;
  const T = frames.length;
  const q = Math.max(1, Math.floor(T / 4));
  const seg = (from: number, to: number, get: (f: FrameObject) => number): number | null => {
    let s = 0;
    let n = 0;
    for (let t = from; t < to; t++) {
      const f = frames[t]!;
      if (f.area > th.presentArea) {
        s += get(f);
        n++;
      }
    }
    return n > 0 ? s / n : null;
  };
  const first = [seg(0, q, (f) => f.cx), seg(0, q, (f) => f.cy), seg(0, q, (f) => f.area)];
  const last = [seg(T - q, T, (f) => f.cx), seg(T - q, T, (f) => f.cy), seg(T - q, T, (f) => f.area)];
  if (first[0] === null || last[0] === null)
    return { predicted: 'none', dx: 0, dy: 0, travel: 0, logAreaRatio: 0, diameterChange: 0 };
  const dx = last[0]! - first[0]!;
  const dy = last[1]! - first[1]!;
  const a0 = Math.max(first[2]!, 1e-3);
  const a1 = Math.max(last[2]!, 1e-3);
  const logAreaRatio = Math.log(a1 / a0);
  const diameterChange = 2 * (Math.sqrt(a1 / Math.PI) - Math.sqrt(a0 / Math.PI));
  const travel = Math.hypot(dx, dy);
  let predicted: PredictedMotion;
  if (Math.abs(logAreaRatio) > th.growLogArea && travel < th.growMaxTravel * W)
    predicted = logAreaRatio > 0 ? 'growing' : 'shrinking';
  else if (travel < th.minTravel * W) predicted = 'static';
  else if (Math.abs(dx) >= Math.abs(dy)) predicted = dx > 0 ? 'moving right' : 'moving left';
  else predicted = dy > 0 ? 'moving down' : 'moving up';
  return { predicted, dx, dy, travel, logAreaRatio, diameterChange };
}

/** Shape by template matching over the usable frames, weighted by area (bigger = clearer). */
function analyseShape(frames: readonly FrameObject[]): ClipAnalysis['shape'] {
  const acc: Record<NanoShape, number> = { circle: 0, square: 0, triangle: 0 };
  let wsum = 0;
  let used = 0;
  let clearest = -1;
  const fills: number[] = [];
  frames.forEach((f, t) => {
    if (f.templates === null || f.fill === null) return;
    used++;
    fills.push(f.fill);
    for (const s of NANO_SHAPES) acc[s] += f.area * f.templates[s];
    wsum += f.area;
    if (clearest < 0 || f.area > frames[clearest]!.area) clearest = t;
  });
  if (used === 0) return { predicted: 'none', scores: null, fill: null, frames: 0, clearestFrame: -1 };
  const scores = { circle: acc.circle / wsum, square: acc.square / wsum, triangle: acc.triangle / wsum };
  let predicted: NanoShape = 'circle';
  for (const s of NANO_SHAPES) if (scores[s] > scores[predicted]) predicted = s;
  return { predicted, scores, fill: median(fills), frames: used, clearestFrame: clearest };
}
