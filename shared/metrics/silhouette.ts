/**
 * The silhouette the shape scorer matches: a frame's binary object mask with specks dropped and concavities and
 * holes filled (its convex hull). A person names a shape by its outline — a square whose sides sag inwards or whose
 * centre is a shade off is still a square — while the raw mask of such a square has the fill ratio of a circle.
 * Circles, squares and triangles are convex, so on clean renders the silhouette is the mask itself.
 */

/** Components smaller than this fraction of the largest one are specks (dropped before the hull). */
export const SPECK_FRACTION = 0.2;

/**
 * 8-connected components of a binary mask (row-major, w × h); keeps every component with at least
 * `minFraction` × the largest one's pixels. Returns a new mask (all false when the input is empty).
 */
export function dropSpecks(mask: Uint8Array, w: number, h: number, minFraction = SPECK_FRACTION): Uint8Array {
  const label = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!mask[start] || label[start]! >= 0) continue;
    const id = sizes.length;
    let size = 0;
    label[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      size++;
      const x = i % w;
      const y = (i - x) / w;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const j = ny * w + nx;
          if (mask[j] && label[j]! < 0) {
            label[j] = id;
            stack.push(j);
          }
        }
    }
    sizes.push(size);
  }
  const out = new Uint8Array(w * h);
  if (sizes.length === 0) return out;
  const keep = minFraction * Math.max(...sizes);
  for (let i = 0; i < w * h; i++) if (label[i]! >= 0 && sizes[label[i]!]! >= keep) out[i] = 1;
  return out;
}

type Point = readonly [number, number];

const cross = (o: Point, a: Point, b: Point): number =>
  (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/**
 * Convex hull of a point set (Andrew's monotone chain, collinear points dropped), ordered so that every point p of
 * the hull's region has cross(hull[k], hull[k + 1], p) ≥ 0.
 */
export function convexHull(points: readonly Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length <= 2) return p;
  const lower: Point[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0)
      lower.pop();
    lower.push(q);
  }
  const upper: Point[] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0)
      upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/**
 * The silhouette of a binary mask: specks dropped ({@link dropSpecks}), then every pixel whose centre lies inside
 * or on the convex hull of the kept pixels' centres. A digitally convex mask (a rendered circle, square or
 * triangle) comes back unchanged.
 */
export function silhouette(mask: Uint8Array, w: number, h: number): Uint8Array {
  const kept = dropSpecks(mask, w, h);
  const pts: Point[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (kept[y * w + x]) pts.push([x, y]);
  const hull = convexHull(pts);
  if (hull.length < 3) return kept;
  const out = new Uint8Array(w * h);
  let x0 = w;
  let x1 = -1;
  let y0 = h;
  let y1 = -1;
  for (const [x, y] of hull) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      let inside = true;
      for (let k = 0; k < hull.length && inside; k++)
        inside = cross(hull[k]!, hull[(k + 1) % hull.length]!, [x, y]) >= -1e-9;
      if (inside) out[y * w + x] = 1;
    }
  return out;
}
