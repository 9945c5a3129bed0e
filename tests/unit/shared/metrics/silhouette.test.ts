import { describe, expect, it } from 'vitest';
import { shapeCoverage } from '../../../../shared/metrics/analysis';
import { convexHull, dropSpecks, silhouette } from '../../../../shared/metrics/silhouette';
import { NANO_SHAPES } from '../../../../shared/metrics/vocabulary';

/** A w × h mask from rows of '#' (set) and '.' (clear). */
function mask(rows: string[]): { m: Uint8Array; w: number; h: number } {
  const h = rows.length;
  const w = rows[0]!.length;
  const m = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => (m[y * w + x] = c === '#' ? 1 : 0)));
  return { m, w, h };
}
const show = (m: Uint8Array, w: number): string[] =>
  Array.from({ length: m.length / w }, (_, y) =>
    [...m.slice(y * w, (y + 1) * w)].map((v) => (v ? '#' : '.')).join(''),
  );

describe('silhouette', () => {
  it('fills a square whose sides sag inwards and whose centre is missing', () => {
    const { m, w } = mask([
      '.........',
      '.##...##.',
      '.###.###.',
      '..##.##..',
      '..#...#..',
      '..##.##..',
      '.###.###.',
      '.##...##.',
      '.........',
    ]);
    expect(show(silhouette(m, w, 9), w)).toEqual([
      '.........',
      '.#######.',
      '.#######.',
      '.#######.',
      '.#######.',
      '.#######.',
      '.#######.',
      '.#######.',
      '.........',
    ]);
  });

  it('drops a speck far from the object (it would otherwise stretch the hull)', () => {
    const { m, w } = mask(['#.......', '........', '....###.', '....###.', '....###.', '........']);
    expect(show(silhouette(m, w, 6), w)).toEqual([
      '........',
      '........',
      '....###.',
      '....###.',
      '....###.',
      '........',
    ]);
  });

  it('leaves a rendered circle, square and triangle exactly as they are (they are convex)', () => {
    for (const shape of NANO_SHAPES)
      for (const r of [3, 4.7, 9]) {
        const w = 32;
        const m = new Uint8Array(w * w);
        for (let y = 0; y < w; y++)
          for (let x = 0; x < w; x++)
            m[y * w + x] = shapeCoverage(shape, x + 0.5, y + 0.5, 15.3, 16.1, r) > 0.5 ? 1 : 0;
        expect(show(silhouette(m, w, w), w), `${shape} r=${r}`).toEqual(show(m, w));
      }
  });
});

describe('dropSpecks', () => {
  it('keeps every component at least 20 % of the largest (8-connected), drops smaller ones', () => {
    const { m, w, h } = mask(['###..#', '###...', '......', '#.###.', '..###.']);
    // components: the 3×2 at the top left (6), two single pixels (1 each), the 3×2 at the bottom (6).
    expect(show(dropSpecks(m, w, h), w)).toEqual(['###...', '###...', '......', '..###.', '..###.']);
    expect(show(dropSpecks(m, w, h, 0.15), w)).toEqual(['###..#', '###...', '......', '#.###.', '..###.']);
  });
  it('returns an empty mask for an empty input', () => {
    expect([...dropSpecks(new Uint8Array(6), 3, 2)]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('convexHull', () => {
  it('returns the corners of a filled square, without collinear edge points', () => {
    const pts: [number, number][] = [];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) pts.push([x, y]);
    expect(new Set(convexHull(pts).map((p) => p.join(',')))).toEqual(new Set(['0,0', '3,0', '3,3', '0,3']));
  });
  it('passes one or two points through', () => {
    expect(convexHull([[1, 2]])).toEqual([[1, 2]]);
    expect(
      convexHull([
        [3, 0],
        [1, 2],
      ]),
    ).toEqual([
      [1, 2],
      [3, 0],
    ]);
  });
});
