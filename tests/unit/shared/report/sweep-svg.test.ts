// @vitest-environment happy-dom
// The sweep figures as SVG files: each parses as XML (DOMParser, image/svg+xml), references nothing outside itself,
// and carries what a reader looks for: every point, the front marked and joined, axes with units, the settings.
import { describe, expect, it } from 'vitest';
import type { FigurePoint } from '../../../../shared/report/sweep-figures';
import { paretoSvg, parallelCoordinatesSvg } from '../../../../shared/report/sweep-svg';

function pt(
  id: string,
  median: FigurePoint['median'],
  point: FigurePoint['point'],
  device = 'phone',
): FigurePoint {
  return { key: `${device}/${id}`, device, pointId: id, point, median, spread: {} };
}

const POINTS = [
  pt(
    'p1',
    { speedup_wall: 1.0, psnr_vs_baseline: 40, wall: 300 },
    { 'lpl.leapStep': 6, 'cidl.budget': 'all' },
  ),
  pt(
    'p2',
    { speedup_wall: 2.0, psnr_vs_baseline: 30, wall: 150 },
    { 'lpl.leapStep': 4, 'cidl.budget': 'all' },
  ),
  pt(
    'p3',
    { speedup_wall: 1.5, psnr_vs_baseline: 25, wall: 200 },
    { 'lpl.leapStep': 4, 'cidl.budget': '50%' },
  ),
  pt(
    'p1',
    { speedup_wall: 1.1, psnr_vs_baseline: 20, wall: 280 },
    { 'lpl.leapStep': 6, 'cidl.budget': 'all' },
    'desk',
  ),
  // Dominates desk/p1: each device has its own front.
  pt(
    'p2',
    { speedup_wall: 2.5, psnr_vs_baseline: 22, wall: 120 },
    { 'lpl.leapStep': 4, 'cidl.budget': 'all' },
    'desk',
  ),
];
const AXES = { 'lpl.leapStep': [4, 6], 'cidl.budget': ['all', '50%'] };

function parse(svg: string): Document {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  expect(doc.getElementsByTagName('parsererror')).toHaveLength(0);
  expect(doc.documentElement.nodeName).toBe('svg');
  expect(doc.documentElement.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
  expect(svg).not.toMatch(/\b(href|src)=|<script|url\(/i);
  return doc;
}

const texts = (doc: Document): string[] =>
  Array.from(doc.getElementsByTagName('text')).map((t) => t.textContent ?? '');

describe('paretoSvg', () => {
  it('draws every point, rings and joins the front, and labels the axes with their units', () => {
    const doc = parse(paretoSvg(POINTS, 'speedup_wall', 'psnr_vs_baseline'));
    const circles = Array.from(doc.getElementsByTagName('circle'));
    expect(circles.map((c) => c.getAttribute('data-point'))).toEqual([
      'phone/p1',
      'phone/p2',
      'phone/p3',
      'desk/p1',
      'desk/p2',
    ]);
    expect(
      circles.filter((c) => c.getAttribute('data-front') === 'true').map((c) => c.getAttribute('data-point')),
    ).toEqual(['phone/p1', 'phone/p2', 'desk/p2']);
    // One line per device joins its front (desk's front is one point: nothing to join).
    const lines = Array.from(doc.querySelectorAll('polyline[data-front-line]'));
    expect(lines.map((l) => l.getAttribute('data-front-line'))).toEqual(['phone']);
    expect(lines[0]!.getAttribute('points')!.split(' ')).toHaveLength(2);
    const all = texts(doc);
    expect(all).toContain('speed-up (wall) [×] ↑ better');
    expect(all).toContain('PSNR vs baseline [dB] ↑ better');
    expect(all.some((t) => t.endsWith('×'))).toBe(true);
    expect(all.some((t) => t.endsWith(' dB'))).toBe(true);
    // Hovering a point shows its device, settings and the two values.
    expect(circles[1]!.getElementsByTagName('title')[0]!.textContent).toBe(
      'phone · lpl.leapStep=4, cidl.budget=all (p2)\nspeedup_wall: 2.00×\npsnr_vs_baseline: 30.0 dB',
    );
  });

  it('with no point having both metrics it says so instead of drawing an empty axis', () => {
    const doc = parse(paretoSvg([pt('a', { wall: 1 }, {})], 'speedup_wall', 'psnr_vs_baseline'));
    expect(doc.getElementsByTagName('circle')).toHaveLength(0);
    expect(texts(doc)).toContain('no point has both speedup_wall and psnr_vs_baseline');
  });

  it('escapes settings text', () => {
    const doc = parse(paretoSvg([pt('a', { wall: 1, step: 2 }, { 'cidl.budget': '<&">' })], 'wall', 'step'));
    expect(doc.getElementsByTagName('title')[0]!.textContent).toContain('cidl.budget=<&">');
  });
});

describe('parallelCoordinatesSvg', () => {
  it('one vertical axis per spec axis and metric, one line group per point, the front drawn bold in red', () => {
    const doc = parse(parallelCoordinatesSvg(POINTS, AXES, { x: 'speedup_wall', y: 'psnr_vs_baseline' }));
    const dims = Array.from(doc.querySelectorAll('line[data-dimension]')).map((l) =>
      l.getAttribute('data-dimension'),
    );
    expect(dims).toEqual(['lpl.leapStep', 'cidl.budget', 'speedup_wall', 'psnr_vs_baseline', 'wall']);
    const groups = Array.from(doc.querySelectorAll('g[data-point]'));
    expect(groups).toHaveLength(5);
    const front = groups.filter((g) => g.getAttribute('data-front') === 'true');
    expect(front.map((g) => g.getAttribute('data-point')).sort()).toEqual([
      'desk/p2',
      'phone/p1',
      'phone/p2',
    ]);
    for (const g of groups) expect(g.getElementsByTagName('polyline').length).toBeGreaterThan(0);
    expect(texts(doc)).toEqual(
      expect.arrayContaining(['lpl.leapStep', 'all', '50%', 'wall time', '[ms] ↓ better']),
    );
  });
});
