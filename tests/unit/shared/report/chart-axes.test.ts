// Charts that put a run next to its baseline share their axes (a bar or a curve means the same height in both), and
// a memory budget far above the curves is drawn as a labelled marker instead of stretching the axis: the HTML
// report of a 9 MiB run under a 22 GiB budget, next to a baseline twice as slow, read back from its SVG.
import { describe, expect, it } from 'vitest';
import { buildReportHtml } from '../../../../shared/report/html';
import { memoryAxisTop } from '../../../../shared/report/axes';
import { sampleInput, sampleLog, sampleRun } from './fixtures';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
// The chart frame (shared/report/svg.ts): plot from y = 28 to y = 200.
const PLOT_TOP = 28;
const PLOT_BOTTOM = 200;

/** The SVG whose title is `title`. */
function chart(html: string, title: string): string {
  const svg = html.split('<svg ').find((s) => s.includes(`font-weight="600">${title}</text>`));
  if (svg === undefined) throw new Error(`no chart titled ${title}`);
  return svg.slice(0, svg.indexOf('</svg>'));
}

/** The top label of the y axis (the first right-aligned label at the top-left of the plot). */
function yTop(svg: string): string {
  return /<text x="58" y="36" font-size="10" text-anchor="end">([^<]*)<\/text>/.exec(svg)?.[1] ?? '';
}

/** Heights of the step bars, by step. */
function barHeights(svg: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of svg.matchAll(/height="([\d.]+)" fill="#[0-9a-f]+"><title>step (\d+):/g))
    out.set(Number(m[2]), Number(m[1]));
  return out;
}

/** The highest point (smallest y) of the resident-bytes curve. */
function curveTopY(svg: string): number {
  const d = /<path d="(M[^"]*)" fill="none" stroke="#4c78a8"/.exec(svg)?.[1] ?? '';
  return Math.min(...[...d.matchAll(/V([\d.]+)/g)].map((m) => Number(m[1])));
}

describe('report charts of a run and its baseline', () => {
  const input = sampleInput();
  const html = buildReportHtml({
    ...input,
    runs: [
      sampleRun('run-a', sampleLog({ latencyMs: 100, peak: 9 * MIB, budget: 22 * GIB })),
      sampleRun('run-b', sampleLog({ latencyMs: 200, peak: 12 * MIB, budget: 22 * GIB })),
    ],
  });

  it('draw both step charts on one latency axis: a step twice as slow is a bar twice as tall', () => {
    const a = chart(html, 'Per-step latency and cosine — target');
    const b = chart(html, 'Per-step latency and cosine — baseline');
    expect(yTop(a)).toBe('200 ms');
    expect(yTop(b)).toBe('200 ms');
    const [ha, hb] = [barHeights(a), barHeights(b)];
    expect(ha.size).toBe(4);
    expect(ha.get(0)! / hb.get(0)!).toBeCloseTo(0.5, 2);
    expect(hb.get(0)).toBeCloseTo(PLOT_BOTTOM - PLOT_TOP, 1);
  });

  it('scale the memory curves to the curves, one axis for both, and mark the off-scale budget', () => {
    const a = chart(html, 'Resident block memory — target');
    const b = chart(html, 'Resident block memory — baseline');
    expect(yTop(a)).toBe('12.0 MiB');
    expect(yTop(b)).toBe('12.0 MiB');
    // The baseline's 12 MiB peak reaches the top; the run's 9 MiB peak three quarters of the way up.
    expect(curveTopY(b)).toBeCloseTo(PLOT_TOP, 1);
    expect(curveTopY(a)).toBeCloseTo(PLOT_BOTTOM - 0.75 * (PLOT_BOTTOM - PLOT_TOP), 1);
    for (const svg of [a, b]) {
      expect(svg).toContain('data-budget-marker="off-scale"');
      expect(svg).toContain('budget 22.0 GiB, off scale ↑');
      expect(svg).not.toContain('stroke-dasharray="6 4"'); // no budget line at the axis maximum
    }
  });

  it('keep a budget near the curves on the axis, as a dashed line', () => {
    const near = buildReportHtml({
      ...input,
      runs: [sampleRun('run-a', sampleLog({ peak: 9 * MIB, budget: 10 * MIB })), input.runs[1]!],
    });
    const a = chart(near, 'Resident block memory — target');
    expect(yTop(a)).toBe('10.0 MiB');
    expect(a).toContain('stroke-dasharray="6 4"');
    expect(a).toContain('budget 10.0 MiB');
    expect(a).not.toContain('off scale');
    expect(memoryAxisTop([9 * MIB], [22 * GIB])).toBe(9 * MIB);
  });
});
