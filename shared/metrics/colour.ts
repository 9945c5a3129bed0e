/** Colour conversion for the scorers: sRGB (0..255) to CIELAB (D65) and nearest-palette lookup by ΔE*76. */

/** A CIELAB colour [L*, a*, b*]. */
export type Lab = readonly [number, number, number];

const lin = (c: number): number => {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
};
const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (t * 24389) / 27 / 116 + 16 / 116);

/** sRGB (0..255 per channel, fractional allowed) → CIELAB under D65 (L* 0..100). */
export function rgbToLab(r: number, g: number, b: number): Lab {
  const R = lin(r);
  const G = lin(g);
  const B = lin(b);
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** ΔE*76: Euclidean distance in CIELAB. */
export function deltaE(a: Lab, b: Lab): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** The palette entry nearest to `rgb` by ΔE*76 (skipping `exclude`), with its distance. */
export function nearestInPalette<K extends string>(
  rgb: readonly [number, number, number],
  palette: Readonly<Record<K, readonly [number, number, number]>>,
  exclude?: string,
): { name: K; distance: number } {
  const lab = rgbToLab(rgb[0], rgb[1], rgb[2]);
  let best: K | undefined;
  let bd = Infinity;
  for (const name of Object.keys(palette) as K[]) {
    if (name === exclude) continue;
    const p = palette[name];
    const d = deltaE(lab, rgbToLab(p[0], p[1], p[2]));
    if (d < bd) {
      bd = d;
      best = name;
    }
  }
  if (best === undefined) throw new RangeError('nearestInPalette: empty palette');
  return { name: best, distance: bd };
}
