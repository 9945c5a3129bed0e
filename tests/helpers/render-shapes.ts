/**
 * A TypeScript port of `tools/nano/data.py`'s clip renderer (sample_params + render) for testing the metrics:
 * one anti-aliased circle / square / triangle (equal area) over a plain background, moving left/right/up/down
 * across ~60 % of the frame or growing/shrinking (r ≈ 3 → 9 px). Geometry ranges are data.py's; the random stream
 * is a seeded mulberry32 (not torch's), so clips are the same kind, not the same pixels. Plus degradations
 * (Gaussian noise, Gaussian blur) for robustness tests.
 */
import { shapeCoverage } from '../../shared/metrics/analysis';
import type { Video } from '../../shared/metrics/video';
import { mulberry32 } from '../../shared/seeded-random';
import { NANO_BACKGROUNDS, NANO_COLOURS, type NanoPrompt } from '../../shared/metrics/vocabulary';

/** Seeded uniform [0, 1) generator. */
export const rng = mulberry32;

/** Per-frame geometry of a clip: centre (pixel units, pixel i's centre at i + 0.5) and size r. */
export interface ClipGeometry {
  readonly cx: number[];
  readonly cy: number[];
  readonly r: number[];
}

/** data.sample_params for one prompt. */
export function sampleGeometry(p: NanoPrompt, rand: () => number, T = 16, H = 32, W = 32): ClipGeometry {
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const s = W / 32;
  const start = u(5.5, 8.5) * s;
  const end = u(23.5, 26.5) * s;
  const perp = u(9.0, 23.0) * s;
  const size = u(4.0, 5.5) * s;
  const rSmall = u(2.5, 3.5) * s;
  const rBig = u(8.0, 10.0) * s;
  const ctrX = u(13.0, 19.0) * s;
  const ctrY = u(13.0, 19.0) * s;
  const cx: number[] = [];
  const cy: number[] = [];
  const r: number[] = [];
  for (let t = 0; t < T; t++) {
    const k = T > 1 ? t / (T - 1) : 0;
    const lin = start + (end - start) * k;
    switch (p.motion) {
      case 'moving right':
        cx.push(lin);
        cy.push(perp);
        r.push(size);
        break;
      case 'moving left':
        cx.push(W - lin);
        cy.push(perp);
        r.push(size);
        break;
      case 'moving down':
        cx.push(perp);
        cy.push(lin);
        r.push(size);
        break;
      case 'moving up':
        cx.push(perp);
        cy.push(H - lin);
        r.push(size);
        break;
      default: {
        const kk = p.motion === 'growing' ? k : 1 - k;
        cx.push(ctrX);
        cy.push(ctrY);
        r.push(rSmall + (rBig - rSmall) * kk);
      }
    }
  }
  return { cx, cy, r };
}

/** Coverage (0..1) of the object at pixel centre (px, py) for a shape centred at (cx, cy) with size r. */
export type CoverageFn = (px: number, py: number, cx: number, cy: number, r: number) => number;

/**
 * data.render for one clip: uint8 RGB frames (rounded from the float render). `coverage` replaces the prompt's
 * shape (for distorted shapes); by default it is data.py's anti-aliased shape.
 */
export function renderClip(
  p: NanoPrompt,
  g: ClipGeometry,
  H = 32,
  W = 32,
  coverage: CoverageFn = (px, py, cx, cy, r) => shapeCoverage(p.shape, px, py, cx, cy, r),
): Video {
  const col = NANO_COLOURS[p.colour];
  const bg = NANO_BACKGROUNDS[p.background];
  const frames = g.cx.map((cx, t) => {
    const f = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const c = coverage(x + 0.5, y + 0.5, cx, g.cy[t]!, g.r[t]!);
        for (let k = 0; k < 3; k++) f[(y * W + x) * 3 + k] = Math.round(bg[k]! + (col[k]! - bg[k]!) * c);
      }
    return f;
  });
  return { width: W, height: H, frames };
}

/** Renders a random clip of the prompt from `seed`. */
export function renderPrompt(p: NanoPrompt, seed: number, T = 16, H = 32, W = 32): Video {
  return renderClip(p, sampleGeometry(p, rng(seed), T, H, W), H, W);
}

/** Adds i.i.d. Gaussian noise of standard deviation `sigma` (8-bit units) to every channel, clamped and rounded. */
export function addNoise(v: Video, sigma: number, seed: number): Video {
  const rand = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return {
    ...v,
    frames: v.frames.map((f) => f.map((x) => Math.min(255, Math.max(0, Math.round(x + sigma * gauss()))))),
  };
}

/** Separable Gaussian blur (σ px, radius ⌈3σ⌉, edges clamped) of every frame. */
export function blur(v: Video, sigma: number): Video {
  const rad = Math.ceil(3 * sigma);
  const k: number[] = [];
  for (let i = -rad; i <= rad; i++) k.push(Math.exp(-(i * i) / (2 * sigma * sigma)));
  const ks = k.reduce((a, b) => a + b, 0);
  const { width: W, height: H } = v;
  const pass = (src: Float64Array, dx: number, dy: number): Float64Array => {
    const out = new Float64Array(src.length);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let i = -rad; i <= rad; i++) {
            const xx = Math.min(W - 1, Math.max(0, x + i * dx));
            const yy = Math.min(H - 1, Math.max(0, y + i * dy));
            s += k[i + rad]! * src[(yy * W + xx) * 3 + c]!;
          }
          out[(y * W + x) * 3 + c] = s / ks;
        }
    return out;
  };
  return {
    ...v,
    frames: v.frames.map((f) => {
      const b = pass(pass(Float64Array.from(f), 1, 0), 0, 1);
      return Uint8Array.from(b, (x) => Math.min(255, Math.max(0, Math.round(x))));
    }),
  };
}
