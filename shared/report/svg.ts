/**
 * The report's charts as inline SVG strings (no script, no external reference), drawn from {@link RunMeasures}:
 * per-step latency with the LPL leap and TDTM-merged steps marked and the cosine-similarity curve, resident block
 * bytes over time against the budget, the phase breakdown, and per-frame quality lines.
 */
import { formatBytes } from '../format';
import { axisBytes, budgetOnScale, latencyAxisTop, memoryAxisTop } from './axes';
import type { PhaseMeasure, ResidencyPoint, StepMeasure } from './measures';
import { lplStepOfLeapStep } from '../engine/techniques/knobs';
import type { BlockPlacement } from '../engine/execution-provider';
import { PLACEMENT_COLOURS, PLACEMENT_LABELS, placementCounts, placementSummary } from './placement';

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A number for SVG coordinates (2 decimals, no exponent). */
function n(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2).replace(/\.?0+$/, '') : '0';
}

const W = 720;
const H = 240;
const PAD = { left: 64, right: 56, top: 28, bottom: 40 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

/** Colours shared by the charts and the HTML legend. */
export const COLOURS = {
  step: '#4c78a8',
  merged: '#f58518',
  leap: '#e45756',
  cosine: '#54a24b',
  resident: '#4c78a8',
  budget: '#e45756',
  baseline: '#9d755d',
  phases: { load: '#bab0ac', text: '#72b7b2', denoise: '#4c78a8', decode: '#eeca3b' },
} as const;

function frame(title: string, label: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
    `role="img" aria-label="${escapeXml(label)}">` +
    `<text x="${PAD.left}" y="18" font-size="13" font-weight="600">${escapeXml(title)}</text>` +
    `<rect x="${PAD.left}" y="${PAD.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#ccc"/>` +
    body +
    '</svg>'
  );
}

function axisLabel(x: number, y: number, text: string, anchor = 'end'): string {
  return `<text x="${n(x)}" y="${n(y)}" font-size="10" text-anchor="${anchor}">${escapeXml(text)}</text>`;
}

function empty(title: string, why: string): string {
  return frame(
    title,
    `${title}: ${why}`,
    axisLabel(PAD.left + PLOT_W / 2, PAD.top + PLOT_H / 2, why, 'middle'),
  );
}

/** The axes a step chart shares with the charts of the runs it is compared with (default: its own). */
export interface StepAxes {
  /** Top of the latency axis (ms). */
  latencyTopMs: number;
  /** The first and last step of the x axis. */
  firstStep: number;
  lastStep: number;
}

/** Axes that fit every run in `runs` (one shared scale for runs compared). */
export function sharedStepAxes(runs: readonly (readonly StepMeasure[])[]): StepAxes | null {
  const all = runs.flat();
  if (all.length === 0) return null;
  return {
    latencyTopMs: latencyAxisTop(runs.map((r) => r.map((s) => s.latencyMs))),
    firstStep: Math.min(...all.map((s) => s.step)),
    lastStep: Math.max(...all.map((s) => s.step)),
  };
}

/**
 * Latency per denoising step as bars (merged steps orange), a red line and label at the LPL leap, and the cosine
 * similarity between consecutive steps' outputs as a green line on the right axis. `axes`: shared with the runs it
 * is compared with.
 */
export function stepChartSvg(
  steps: readonly StepMeasure[],
  title = 'Per-step latency and cosine',
  axes: StepAxes | null = sharedStepAxes([steps]),
): string {
  if (steps.length === 0 || axes === null) return empty(title, 'no denoising steps in this run');
  const maxLat = axes.latencyTopMs;
  const bw = PLOT_W / Math.max(1, axes.lastStep - axes.firstStep + 1);
  const x = (step: number): number => PAD.left + (step - axes.firstStep) * bw;
  const y = (ms: number): number => PAD.top + PLOT_H - (Math.min(ms, maxLat) / maxLat) * PLOT_H;
  const cosines = steps.map((s) => s.cosine).filter((c): c is number => c !== null);
  const cosMin = cosines.length > 0 ? Math.min(...cosines, 0.9) : 0;
  const yc = (c: number): number => PAD.top + PLOT_H - ((c - cosMin) / (1 - cosMin || 1)) * PLOT_H;
  let body = '';
  steps.forEach((s) => {
    const fill = s.merged ? COLOURS.merged : COLOURS.step;
    body +=
      `<rect x="${n(x(s.step) + bw * 0.1)}" y="${n(y(s.latencyMs))}" width="${n(bw * 0.8)}" ` +
      `height="${n(PAD.top + PLOT_H - y(s.latencyMs))}" fill="${fill}"><title>step ${s.step}: ` +
      `${s.latencyMs.toFixed(1)} ms${s.merged ? ', merged' : ''}${s.leapt ? ', leap' : ''}</title></rect>`;
  });
  const leap = steps.findIndex((s) => s.leapt);
  if (leap >= 0) {
    const lx = x(steps[leap]!.step) + bw / 2;
    body +=
      `<line x1="${n(lx)}" y1="${PAD.top}" x2="${n(lx)}" y2="${PAD.top + PLOT_H}" stroke="${COLOURS.leap}" ` +
      `stroke-width="2" stroke-dasharray="4 3"/>` +
      // The label sits right of the line, or left of it near the right edge.
      (lx > PAD.left + PLOT_W - 120
        ? `<text x="${n(lx - 4)}" y="${PAD.top + 12}" font-size="11" text-anchor="end" fill="${COLOURS.leap}">`
        : `<text x="${n(lx + 4)}" y="${PAD.top + 12}" font-size="11" fill="${COLOURS.leap}">`) +
      `LPL leap (step ${lplStepOfLeapStep(steps[leap]!.step)})</text>`;
  }
  const points = steps.flatMap((s) =>
    s.cosine === null ? [] : [`${n(x(s.step) + bw / 2)},${n(yc(s.cosine))}`],
  );
  if (points.length > 1)
    body += `<polyline points="${points.join(' ')}" fill="none" stroke="${COLOURS.cosine}" stroke-width="2"/>`;
  body +=
    axisLabel(PAD.left - 6, PAD.top + 8, `${maxLat.toFixed(0)} ms`) +
    axisLabel(PAD.left - 6, PAD.top + PLOT_H, '0 ms') +
    axisLabel(W - PAD.right + 6, PAD.top + 8, 'cos 1', 'start') +
    axisLabel(W - PAD.right + 6, PAD.top + PLOT_H, `cos ${cosMin.toFixed(2)}`, 'start') +
    axisLabel(PAD.left, H - 22, `step ${axes.firstStep}`, 'start') +
    axisLabel(W - PAD.right, H - 22, `step ${axes.lastStep}`) +
    `<text x="${PAD.left}" y="${H - 6}" font-size="10">` +
    `<tspan fill="${COLOURS.step}">■ step</tspan> <tspan fill="${COLOURS.merged}">■ TDTM merged</tspan> ` +
    `<tspan fill="${COLOURS.leap}">┆ LPL leap</tspan> <tspan fill="${COLOURS.cosine}">— cosine</tspan></text>`;
  return frame(title, `${title}: ${steps.length} steps`, body);
}

/** The axes a residency chart shares with the charts of the runs it is compared with (default: its own). */
export interface ResidencyAxes {
  /** Top of the byte axis (the curves; the budget only when on scale: see `memoryAxisTop`). */
  topBytes: number;
  /** Length of the time axis (ms from each run's first point). */
  spanMs: number;
}

/** Axes that fit every run in `runs`: the highest curve (and a budget on scale) and the longest run. */
export function sharedResidencyAxes(
  runs: readonly { points: readonly ResidencyPoint[]; budgetBytes: number | null }[],
): ResidencyAxes {
  const peaks = runs.map((r) => r.points.reduce((m, p) => Math.max(m, p.residentBytes), 0));
  const spans = runs.map((r) => (r.points.length > 0 ? r.points.at(-1)!.atMs - r.points[0]!.atMs : 0));
  return {
    topBytes: memoryAxisTop(
      peaks,
      runs.map((r) => r.budgetBytes),
    ),
    spanMs: Math.max(1, ...spans),
  };
}

/**
 * Resident block bytes over time as a step line, with the budget as a dashed line, or, when the budget is far above
 * the curves (off scale), as a labelled marker at the top edge. `axes`: shared with the runs it is compared with.
 * `blocks`: the run's blocks; where they say where they ran, the legend counts them per placement (Core ML, CPU…).
 */
export function residencyChartSvg(
  points: readonly ResidencyPoint[],
  budgetBytes: number | null,
  title = 'Resident block memory over time',
  axes: ResidencyAxes = sharedResidencyAxes([{ points, budgetBytes }]),
  blocks: readonly { readonly placement: BlockPlacement | null }[] = [],
): string {
  if (points.length === 0) return empty(title, 'no block residency events in this run');
  const t0 = points[0]!.atMs;
  const span = axes.spanMs;
  const top = axes.topBytes;
  const x = (t: number): number => PAD.left + ((t - t0) / span) * PLOT_W;
  const y = (b: number): number => PAD.top + PLOT_H - (Math.min(b, top) / top) * PLOT_H;
  // At most ~2 buckets per horizontal pixel, each drawn at its highest and last value: long runs stay small
  // and no peak is lost.
  const step = Math.max(1, Math.ceil(points.length / (PLOT_W * 2)));
  let d = `M${n(x(t0))},${n(y(0))}`;
  for (let i = 0; i < points.length; i += step) {
    const bucket = points.slice(i, i + step);
    const high = Math.max(...bucket.map((p) => p.residentBytes));
    d += ` H${n(x(bucket[0]!.atMs))} V${n(y(high))} V${n(y(bucket.at(-1)!.residentBytes))}`;
  }
  let body = `<path d="${d}" fill="none" stroke="${COLOURS.resident}" stroke-width="1.5"/>`;
  if (budgetBytes !== null && budgetOnScale(budgetBytes, top))
    body +=
      `<line x1="${PAD.left}" y1="${n(y(budgetBytes))}" x2="${PAD.left + PLOT_W}" y2="${n(y(budgetBytes))}" ` +
      `stroke="${COLOURS.budget}" stroke-dasharray="6 4"/>` +
      axisLabel(PAD.left + PLOT_W - 4, y(budgetBytes) - 4, `budget ${axisBytes(budgetBytes)}`);
  else if (budgetBytes !== null) {
    // Off scale: an arrow at the top right edge pointing up, labelled with the budget.
    const ax = PAD.left + PLOT_W - 8;
    body +=
      `<path data-budget-marker="off-scale" d="M${n(ax - 5)},${PAD.top + 9} L${n(ax)},${PAD.top + 2} ` +
      `L${n(ax + 5)},${PAD.top + 9} Z" fill="${COLOURS.budget}"/>` +
      `<text x="${n(ax - 9)}" y="${PAD.top + 10}" font-size="10" text-anchor="end" fill="${COLOURS.budget}">` +
      `budget ${escapeXml(axisBytes(budgetBytes))}, off scale ↑</text>`;
  }
  body +=
    axisLabel(PAD.left - 6, PAD.top + 8, axisBytes(top)) +
    axisLabel(PAD.left - 6, PAD.top + PLOT_H, '0') +
    axisLabel(PAD.left, H - 22, '0 s', 'start') +
    axisLabel(W - PAD.right, H - 22, `${(span / 1000).toFixed(2)} s`) +
    `<text x="${PAD.left}" y="${H - 6}" font-size="10"><tspan fill="${COLOURS.resident}">— resident</tspan> ` +
    `<tspan fill="${COLOURS.budget}">- - budget</tspan>` +
    placementCounts(blocks)
      .map(
        (c) =>
          ` <tspan data-placement="${c.placement}" fill="${PLACEMENT_COLOURS[c.placement]}">■ ${escapeXml(PLACEMENT_LABELS[c.placement])} ${c.blocks}</tspan>`,
      )
      .join('') +
    '</text>';
  const ranOn = placementSummary(blocks);
  return frame(
    title,
    `${title}: peak ${formatBytes(Math.max(...points.map((p) => p.residentBytes)), 'MiB')}` +
      (ranOn === '' ? '' : `; blocks ran on ${ranOn}`),
    body,
  );
}

/** One horizontal stacked bar per run: load/compile, text, denoise, decode. */
export function phaseChartSvg(
  runs: readonly { label: string; phases: readonly PhaseMeasure[] }[],
  title = 'Phase breakdown',
): string {
  const totals = runs.map((r) => r.phases.reduce((s, p) => s + p.durationMs, 0));
  const max = Math.max(...totals, 1);
  const barH = Math.min(40, (PLOT_H - 10) / Math.max(runs.length, 1));
  let body = '';
  runs.forEach((r, i) => {
    const y0 = PAD.top + 10 + i * (barH + 10);
    let x0 = PAD.left;
    body += axisLabel(PAD.left - 6, y0 + barH / 2 + 4, r.label);
    for (const p of r.phases) {
      const w = (p.durationMs / max) * PLOT_W;
      body +=
        `<rect x="${n(x0)}" y="${n(y0)}" width="${n(w)}" height="${n(barH)}" fill="${COLOURS.phases[p.stage]}">` +
        `<title>${p.stage}: ${p.durationMs.toFixed(1)} ms</title></rect>`;
      if (w > 60)
        body += axisLabel(
          x0 + 4,
          y0 + barH / 2 + 4,
          `${p.stage} ${(p.durationMs / 1000).toFixed(2)} s`,
          'start',
        );
      x0 += w;
    }
    body += axisLabel(x0 + 4, y0 + barH / 2 + 4, `${(totals[i]! / 1000).toFixed(2)} s`, 'start');
  });
  const legend = (Object.keys(COLOURS.phases) as (keyof typeof COLOURS.phases)[])
    .map((k) => `<tspan fill="${COLOURS.phases[k]}">■ ${k}</tspan>`)
    .join(' ');
  body += `<text x="${PAD.left}" y="${H - 6}" font-size="10">${legend}</text>`;
  return frame(title, `${title} of ${runs.length} run(s)`, body);
}

/** Lines of per-frame values (e.g. PSNR), each with its own colour, on one shared axis. */
export function frameLinesSvg(
  title: string,
  unit: string,
  series: readonly { label: string; colour: string; values: readonly (number | null)[] }[],
): string {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const count = Math.max(...series.map((s) => s.values.length), 0);
  if (all.length === 0 || count === 0) return empty(title, 'no values');
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const x = (i: number): number => PAD.left + (count > 1 ? (i / (count - 1)) * PLOT_W : PLOT_W / 2);
  const y = (v: number): number => PAD.top + PLOT_H - ((v - lo) / (hi - lo)) * PLOT_H;
  let body = '';
  for (const s of series) {
    const pts = s.values.flatMap((v, i) => (v === null ? [] : [`${n(x(i))},${n(y(v))}`]));
    body += `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.colour}" stroke-width="2"/>`;
    for (const p of pts) {
      const [px, py] = p.split(',');
      body += `<circle cx="${px}" cy="${py}" r="2.5" fill="${s.colour}"/>`;
    }
  }
  body +=
    axisLabel(PAD.left - 6, PAD.top + 8, `${hi.toFixed(3)} ${unit}`) +
    axisLabel(PAD.left - 6, PAD.top + PLOT_H, `${lo.toFixed(3)} ${unit}`) +
    axisLabel(PAD.left, H - 22, 'frame 0', 'start') +
    axisLabel(W - PAD.right, H - 22, `frame ${count - 1}`) +
    `<text x="${PAD.left}" y="${H - 6}" font-size="10">` +
    series.map((s) => `<tspan fill="${s.colour}">— ${escapeXml(s.label)}</tspan>`).join(' ') +
    '</text>';
  return frame(title, `${title} over ${count} frames`, body);
}
