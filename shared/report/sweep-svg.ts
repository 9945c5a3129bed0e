/**
 * The sweep figures as standalone SVG strings (no script, no external reference; `xmlns` set, so each is a valid
 * `.svg` file and an inline figure of the sweep report): the Pareto plot and parallel coordinates, drawn from the
 * layouts of sweep-figures.ts. Each mark and line carries a `<title>` with the point's settings and values.
 */
import type { AxisValue } from '../sweep/axes';
import type { SweepMetricName } from '../sweep/metrics';
import {
  describePoint,
  deviceColours,
  formatMetricValue,
  FRONT_COLOUR,
  metricsPresent,
  frontKeys,
  paretoLayout,
  parallelLayout,
  PARALLEL_DEFAULT_METRICS,
  type FigurePoint,
  type PlotBox,
} from './sweep-figures';
import { escapeXml } from './svg';

/** A number for SVG coordinates (2 decimals, no exponent). */
const n = (x: number): string => (Number.isFinite(x) ? x.toFixed(2).replace(/\.?0+$/, '') : '0');

function svg(box: PlotBox, title: string, label: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${box.width} ${box.height}" width="${box.width}" ` +
    `height="${box.height}" role="img" aria-label="${escapeXml(label)}" font-family="system-ui, sans-serif">` +
    `<rect width="${box.width}" height="${box.height}" fill="#fff"/>` +
    `<text x="${box.left}" y="20" font-size="14" font-weight="600">${escapeXml(title)}</text>` +
    body +
    '</svg>\n'
  );
}

function text(x: number, y: number, s: string, anchor = 'middle', extra = ''): string {
  return `<text x="${n(x)}" y="${n(y)}" font-size="11" text-anchor="${anchor}"${extra}>${escapeXml(s)}</text>`;
}

/** A point's tooltip: device, settings and every metric's median. */
export function pointTitle(
  p: FigurePoint,
  metrics: readonly SweepMetricName[] = metricsPresent([p]),
): string {
  return [
    `${p.device} · ${describePoint(p)} (${p.pointId})`,
    ...metrics.map((m) => `${m}: ${formatMetricValue(m, p.median[m])}`),
  ].join('\n');
}

function legend(points: readonly FigurePoint[], x: number, y: number): string {
  const colours = deviceColours(points);
  return (
    `<text x="${n(x)}" y="${n(y)}" font-size="11">` +
    [...colours].map(([d, c]) => `<tspan fill="${c}">● ${escapeXml(d)}</tspan>`).join(' ') +
    ` <tspan fill="${FRONT_COLOUR}">— Pareto front (per device)</tspan></text>`
  );
}

/**
 * The Pareto plot: each device × point as a dot (its device's colour), each device's front ringed in red and joined,
 * axes with ticks, units and which way is better, a legend. Empty data gives a plot that says why.
 */
export function paretoSvg(
  points: readonly FigurePoint[],
  x: SweepMetricName,
  y: SweepMetricName,
  title = 'Pareto front',
): string {
  const L = paretoLayout(points, x, y);
  const { box } = L;
  const right = box.width - box.right;
  const base = box.height - box.bottom;
  const colours = deviceColours(points);
  let body =
    `<rect x="${box.left}" y="${box.top}" width="${right - box.left}" height="${base - box.top}" ` +
    'fill="none" stroke="#ccc"/>';
  if (L.marks.length === 0)
    return svg(
      box,
      title,
      `${title}: no point has both ${x} and ${y}`,
      body + text((box.left + right) / 2, (box.top + base) / 2, `no point has both ${x} and ${y}`),
    );
  for (const t of L.xTicks)
    body +=
      `<line x1="${n(t.pos)}" y1="${base}" x2="${n(t.pos)}" y2="${base + 4}" stroke="#888"/>` +
      text(t.pos, base + 16, t.text);
  for (const t of L.yTicks)
    body +=
      `<line x1="${box.left - 4}" y1="${n(t.pos)}" x2="${box.left}" y2="${n(t.pos)}" stroke="#888"/>` +
      text(box.left - 6, t.pos + 4, t.text, 'end');
  body +=
    text((box.left + right) / 2, base + 34, L.xTitle, 'middle', ' data-axis="x"') +
    text(
      14,
      (box.top + base) / 2,
      L.yTitle,
      'middle',
      ` data-axis="y" transform="rotate(-90 14 ${n((box.top + base) / 2)})"`,
    );
  for (const f of L.frontLines)
    if (f.points.length > 1)
      body +=
        `<polyline data-front-line="${escapeXml(f.device)}" points="${f.points.map(([a, b]) => `${n(a)},${n(b)}`).join(' ')}" ` +
        `fill="none" stroke="${FRONT_COLOUR}" stroke-width="1.5"/>`;
  for (const m of L.marks)
    body +=
      `<circle data-point="${escapeXml(m.point.key)}" data-front="${m.front}" cx="${n(m.cx)}" cy="${n(m.cy)}" ` +
      `r="${m.front ? 6 : 4.5}" fill="${colours.get(m.point.device)}" fill-opacity="${m.front ? 1 : 0.6}"` +
      (m.front ? ` stroke="${FRONT_COLOUR}" stroke-width="2"` : '') +
      `><title>${escapeXml(pointTitle(m.point, [x, y]))}</title></circle>`;
  body += legend(points, box.left, box.height - 8);
  if (L.missing > 0)
    body += text(right, box.height - 8, `${L.missing} point(s) without both metrics not drawn`, 'end');
  const front = L.marks.filter((m) => m.front).length;
  return svg(
    box,
    title,
    `${title}: ${L.marks.length} points, ${front} on the front; ${x} against ${y}`,
    body,
  );
}

/**
 * Parallel coordinates over the spec's axes and the metrics: one line per device × point (its device's colour,
 * faint), the points on their device's Pareto front of `front` drawn bold in red on top.
 */
export function parallelCoordinatesSvg(
  points: readonly FigurePoint[],
  axes: Readonly<Record<string, readonly AxisValue[]>>,
  front: { x: SweepMetricName; y: SweepMetricName } | null,
  metrics: readonly SweepMetricName[] = PARALLEL_DEFAULT_METRICS,
  title = 'Parallel coordinates',
): string {
  const L = parallelLayout(points, axes, metrics);
  const { box } = L;
  const onFront = front === null ? new Set<string>() : frontKeys(points, front.x, front.y);
  const colours = deviceColours(points);
  const base = box.height - box.bottom;
  let body = '';
  L.dimensions.forEach((d) => {
    body +=
      `<line data-dimension="${escapeXml(d.name)}" x1="${n(d.x)}" y1="${box.top}" x2="${n(d.x)}" y2="${base}" stroke="#888"/>` +
      d.titleLines.map((l) => text(l.x, l.y, l.text)).join('');
    for (const t of d.ticks) body += text(d.x + 4, t.pos + 4, t.text, 'start', ' fill="#555"');
  });
  // Front lines last, so they lie on top.
  const ordered = [...L.lines].sort(
    (a, b) => Number(onFront.has(a.point.key)) - Number(onFront.has(b.point.key)),
  );
  for (const line of ordered) {
    const isFront = onFront.has(line.point.key);
    const stroke = isFront ? FRONT_COLOUR : colours.get(line.point.device);
    body +=
      `<g data-point="${escapeXml(line.point.key)}" data-front="${isFront}"><title>${escapeXml(pointTitle(line.point))}</title>` +
      line.segments
        .map(
          (s) =>
            `<polyline points="${s.map(([a, b]) => `${n(a)},${n(b)}`).join(' ')}" fill="none" stroke="${stroke}" ` +
            `stroke-width="${isFront ? 2.5 : 1.2}" stroke-opacity="${isFront ? 1 : 0.5}"/>`,
        )
        .join('') +
      '</g>';
  }
  body += legend(points, box.left, box.height - 8);
  if (L.dimensions.length === 0)
    body += text(box.width / 2, box.height / 2, 'no axes and no metrics to show');
  return svg(
    box,
    title,
    `${title}: ${L.lines.length} points over ${L.dimensions.length} dimensions` +
      (front === null ? '' : `; ${onFront.size} on the Pareto front of ${front.x} against ${front.y}`),
    body,
  );
}
