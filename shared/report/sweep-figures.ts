/**
 * The sweep figures' data and geometry, pure: a sweep's point statistics gathered into one figure point per device ×
 * point (`figurePoints`), the Pareto front over any two metrics (`paretoFront`, each metric's direction from
 * shared/sweep/metrics.ts), and the layouts of the Pareto plot and of parallel coordinates in SVG user units. The
 * report's SVG strings (sweep-svg.ts) and the studio's React plots (src-renderer/sweeps/) both draw these layouts,
 * so the two show the same front on the same axes.
 */
import type { AxisValue } from '../sweep/axes';
import type { SweepPointStat } from '../sweep/journal';
import {
  isSweepMetric,
  SWEEP_METRIC_NAMES,
  SWEEP_METRICS,
  type SweepMetric,
  type SweepMetricName,
} from '../sweep/metrics';
import { axisBytes, niceTicks } from './axes';

/** One device × point of a sweep: its axis values and each metric's median and spread over its measured runs. */
export interface FigurePoint {
  /** `<device>/<pointId>`: unique in a sweep. */
  readonly key: string;
  readonly device: string;
  readonly pointId: string;
  readonly point: Readonly<Record<string, AxisValue>>;
  readonly median: Readonly<Partial<Record<SweepMetricName, number>>>;
  readonly spread: Readonly<Partial<Record<SweepMetricName, { p25: number; p75: number; n: number }>>>;
}

/** The point statistics (journal `points`, `sweepPointStats`) as one figure point per device × point, in order. */
export function figurePoints(stats: readonly SweepPointStat[]): FigurePoint[] {
  const out = new Map<string, FigurePoint>();
  for (const s of stats) {
    if (!isSweepMetric(s.metric)) continue; // a metric this code does not know is left out of the figures
    const key = `${s.device}/${s.pointId}`;
    let p = out.get(key);
    if (p === undefined)
      out.set(
        key,
        (p = { key, device: s.device, pointId: s.pointId, point: s.point, median: {}, spread: {} }),
      );
    (p.median as Partial<Record<SweepMetricName, number>>)[s.metric] = s.median;
    (p.spread as Record<string, unknown>)[s.metric] = { p25: s.p25, p75: s.p75, n: s.n };
  }
  return [...out.values()];
}

/** The metrics at least one point has a value for, in table order. */
export function metricsPresent(points: readonly FigurePoint[]): SweepMetricName[] {
  return SWEEP_METRIC_NAMES.filter((m) => points.some((p) => p.median[m] !== undefined));
}

/** The plot a Pareto figure starts with: speed-up against quality when the sweep has them, else time against memory. */
export function defaultParetoMetrics(points: readonly FigurePoint[]): {
  x: SweepMetricName;
  y: SweepMetricName;
} {
  const present = metricsPresent(points);
  const pick = (prefs: readonly SweepMetricName[], not?: SweepMetricName): SweepMetricName =>
    prefs.find((m) => m !== not && present.includes(m)) ??
    present.find((m) => m !== not) ??
    prefs.find((m) => m !== not)!;
  const x = pick(['speedup_wall', 'speedup_denoise', 'wall', 'denoise']);
  return { x, y: pick(['psnr_vs_baseline', 'ssim_vs_baseline', 'peak_resident', 'wall'], x) };
}

/** `v` turned so that larger is better for `metric`. */
const gain = (metric: SweepMetricName, v: number): number =>
  SWEEP_METRICS[metric].better === 'higher' ? v : -v;

/**
 * The points no other point beats on both metrics (each in its own direction: `SWEEP_METRICS[m].better`): a point is
 * dominated when another is at least as good on both and better on one. Points with equal values on both are ties:
 * all on the front or none. A point missing either metric is left out. Returned by ascending `x` value (then `y`).
 */
export function paretoFront(
  points: readonly FigurePoint[],
  x: SweepMetricName,
  y: SweepMetricName,
): FigurePoint[] {
  const scored = points.flatMap((p) => {
    const vx = p.median[x];
    const vy = p.median[y];
    return vx === undefined || vy === undefined || !Number.isFinite(vx) || !Number.isFinite(vy)
      ? []
      : [{ p, gx: gain(x, vx), gy: gain(y, vy), vx, vy }];
  });
  // Best x first; within one x, the best y of that x is the only candidate (ties with it included).
  scored.sort((a, b) => b.gx - a.gx || b.gy - a.gy);
  const front: typeof scored = [];
  let bestY = -Infinity; // the best y among points with a strictly better x
  for (let i = 0; i < scored.length;) {
    let j = i;
    while (j < scored.length && scored[j]!.gx === scored[i]!.gx) j++;
    const topY = scored[i]!.gy;
    if (topY > bestY) for (let k = i; k < j && scored[k]!.gy === topY; k++) front.push(scored[k]!);
    bestY = Math.max(bestY, topY);
    i = j;
  }
  return front.sort((a, b) => a.vx - b.vx || a.vy - b.vy).map((s) => s.p);
}

/**
 * The keys of the points on their own device's front: each device's points are compared only with each other (a
 * desktop that is faster everywhere would otherwise leave no phone setting on the front).
 */
export function frontKeys(
  points: readonly FigurePoint[],
  x: SweepMetricName,
  y: SweepMetricName,
): Set<string> {
  const byDevice = new Map<string, FigurePoint[]>();
  for (const p of points) byDevice.set(p.device, [...(byDevice.get(p.device) ?? []), p]);
  return new Set([...byDevice.values()].flatMap((ps) => paretoFront(ps, x, y).map((p) => p.key)));
}

/** A metric's value for people, with its unit: `1.82×`, `31.4 dB`, `0.9312`, `+0.0123` (a difference), `412 ms`, `9.5 MiB`, `15 steps`. */
export function formatMetricValue(metric: SweepMetricName, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const m: SweepMetric = SWEEP_METRICS[metric];
  const sign = m.difference === true && v > 0 ? '+' : '';
  switch (m.unit) {
    case 'x':
      return `${v.toFixed(2)}×`;
    case 'dB':
      return `${v.toFixed(1)} dB`;
    case '1':
      return `${sign}${v.toFixed(4)}`;
    case 'ms':
      return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(v >= 100 ? 0 : 1)} ms`;
    case 'bytes':
      return axisBytes(v);
    default:
      return `${sign}${Number(v.toPrecision(4))} ${m.unit}`;
  }
}

/** An axis title: the metric's label, unit and direction (`speed-up (wall) [×] ↑ better`). */
export function metricAxisTitle(metric: SweepMetricName): string {
  return metricAxisTitleLines(metric).join(' ');
}

/** {@link metricAxisTitle} in two lines, for a narrow axis: `PSNR vs baseline` and `[dB] ↑ better`. */
export function metricAxisTitleLines(metric: SweepMetricName): [string, string] {
  const m = SWEEP_METRICS[metric];
  const unit = m.unit === 'x' ? '×' : m.unit === '1' ? '' : m.unit;
  return [m.label, `${unit === '' ? '' : `[${unit}] `}${m.better === 'higher' ? '↑' : '↓'} better`];
}

/** A point's axis values for people: `lpl.leapStep=4, tdtm.mergeSteps=0` (`base` for a sweep without axes). */
export function describePoint(p: FigurePoint): string {
  const parts = Object.entries(p.point).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? 'base' : parts.join(', ');
}

/** Where a figure draws, in SVG user units. */
export interface PlotBox {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** One tick of an axis: its value, its position along the axis, its label. */
export interface Tick {
  readonly pos: number;
  readonly text: string;
}

/** The default box of the Pareto plot. */
export const PARETO_BOX: PlotBox = { width: 720, height: 420, left: 76, right: 24, top: 36, bottom: 64 };

/** A Pareto plot laid out: every point with both metrics as a mark, each device's front joined in x order. */
export interface ParetoLayout {
  readonly box: PlotBox;
  readonly x: SweepMetricName;
  readonly y: SweepMetricName;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly xTicks: readonly Tick[];
  readonly yTicks: readonly Tick[];
  readonly marks: readonly { point: FigurePoint; cx: number; cy: number; front: boolean }[];
  /** Each device's front: its marks in ascending x, for one connecting line per device. */
  readonly frontLines: readonly { device: string; points: readonly (readonly [number, number])[] }[];
  /** Points left out for lacking a value of `x` or `y`. */
  readonly missing: number;
}

/** A linear map from [lo, hi] to [a, b]. */
function scale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const span = hi - lo || 1;
  return (v) => a + ((v - lo) / span) * (b - a);
}

/** The Pareto plot of `points` with `x` across and `y` up (numbers grow right and up; titles say which way is better). */
export function paretoLayout(
  points: readonly FigurePoint[],
  x: SweepMetricName,
  y: SweepMetricName,
  box: PlotBox = PARETO_BOX,
): ParetoLayout {
  const drawn = points.filter((p) => p.median[x] !== undefined && p.median[y] !== undefined);
  const front = frontKeys(drawn, x, y);
  const xs = drawn.map((p) => p.median[x]!);
  const ys = drawn.map((p) => p.median[y]!);
  const xt = niceTicks(Math.min(...xs, Infinity), Math.max(...xs, -Infinity));
  const yt = niceTicks(Math.min(...ys, Infinity), Math.max(...ys, -Infinity));
  const sx = scale(xt[0]!, xt.at(-1)!, box.left, box.width - box.right);
  const sy = scale(yt[0]!, yt.at(-1)!, box.height - box.bottom, box.top);
  const marks = drawn.map((p) => ({
    point: p,
    cx: sx(p.median[x]!),
    cy: sy(p.median[y]!),
    front: front.has(p.key),
  }));
  const devices = [...new Set(drawn.map((p) => p.device))];
  const frontLines = devices.map((device) => ({
    device,
    points: marks
      .filter((m) => m.front && m.point.device === device)
      .sort((a, b) => a.cx - b.cx || b.cy - a.cy)
      .map((m) => [m.cx, m.cy] as const),
  }));
  return {
    box,
    x,
    y,
    xTitle: metricAxisTitle(x),
    yTitle: metricAxisTitle(y),
    xTicks: xt.map((v) => ({ pos: sx(v), text: formatMetricValue(x, v) })),
    yTicks: yt.map((v) => ({ pos: sy(v), text: formatMetricValue(y, v) })),
    marks,
    frontLines,
    missing: points.length - drawn.length,
  };
}

/** The default box of parallel coordinates. */
export const PARALLEL_BOX: PlotBox = { width: 900, height: 400, left: 72, right: 72, top: 76, bottom: 40 };

/** The metrics parallel coordinates show by default (those the sweep has). */
export const PARALLEL_DEFAULT_METRICS: readonly SweepMetricName[] = [
  'speedup_wall',
  'psnr_vs_baseline',
  'ssim_vs_baseline',
  'flicker_vs_baseline',
  'adherence',
  'wall',
  'step',
  'peak_resident',
];

/** One vertical axis of parallel coordinates: a sweep axis (its values evenly spaced) or a metric (linear). */
export interface ParallelDimension {
  readonly kind: 'axis' | 'metric';
  readonly name: string;
  readonly title: string;
  /**
   * The title as drawn, centred on the axis: up to two lines (a metric's label, then its unit and direction), every
   * other axis's a pair of rows higher so neighbours never meet (the box's side margins hold the outer ones).
   */
  readonly titleLines: readonly { x: number; y: number; text: string }[];
  readonly x: number;
  readonly ticks: readonly Tick[];
}

/** Parallel coordinates laid out: one line per point through every dimension it has a value on. */
export interface ParallelLayout {
  readonly box: PlotBox;
  readonly dimensions: readonly ParallelDimension[];
  /** Each point's line as segments (a dimension it has no value on breaks the line). */
  readonly lines: readonly { point: FigurePoint; segments: readonly (readonly [number, number])[][] }[];
}

/**
 * Parallel coordinates over the sweep's axes (`axes`: the spec's `axes`, values in the spec's order, evenly spaced
 * bottom to top) then `metrics` (linear, numbers growing up, titles saying which way is better). Metrics no point
 * has are dropped.
 */
export function parallelLayout(
  points: readonly FigurePoint[],
  axes: Readonly<Record<string, readonly AxisValue[]>>,
  metrics: readonly SweepMetricName[] = PARALLEL_DEFAULT_METRICS,
  box: PlotBox = PARALLEL_BOX,
): ParallelLayout {
  const present = metricsPresent(points);
  const shown = metrics.filter((m) => present.includes(m));
  const names: { kind: 'axis' | 'metric'; name: string }[] = [
    ...Object.keys(axes).map((name) => ({ kind: 'axis' as const, name })),
    ...shown.map((name) => ({ kind: 'metric' as const, name })),
  ];
  const bottom = box.height - box.bottom;
  const across = scale(0, Math.max(1, names.length - 1), box.left, box.width - box.right);
  const place: ((p: FigurePoint) => number | null)[] = [];
  const titleLines = (i: number, x: number, lines: readonly string[]): ParallelDimension['titleLines'] => {
    // Rows of 12 px: the lower pair (ending 8 px above the axis) and the upper pair, alternating.
    const last = box.top - 8 - (i % 2 === 1 ? 26 : 0);
    return lines.map((text, k) => ({ x, y: last - (lines.length - 1 - k) * 12, text }));
  };
  const dimensions = names.map((d, i): ParallelDimension => {
    const x = names.length === 1 ? (box.left + box.width - box.right) / 2 : across(i);
    if (d.kind === 'axis') {
      const values = axes[d.name]!;
      const sy = scale(0, Math.max(1, values.length - 1), bottom, box.top);
      const at = (k: number): number => (values.length === 1 ? (bottom + box.top) / 2 : sy(k));
      place.push((p) => {
        const k = values.findIndex((v) => v === p.point[d.name]);
        return k < 0 ? null : at(k);
      });
      return {
        ...d,
        title: d.name,
        titleLines: titleLines(i, x, [d.name]),
        x,
        ticks: values.map((v, k) => ({ pos: at(k), text: String(v) })),
      };
    }
    const m = d.name as SweepMetricName;
    const vs = points.flatMap((p) => (p.median[m] === undefined ? [] : [p.median[m]]));
    const t = niceTicks(Math.min(...vs), Math.max(...vs), 4);
    const sy = scale(t[0]!, t.at(-1)!, bottom, box.top);
    place.push((p) => (p.median[m] === undefined ? null : sy(p.median[m])));
    return {
      ...d,
      title: metricAxisTitle(m),
      titleLines: titleLines(i, x, metricAxisTitleLines(m)),
      x,
      ticks: [t[0]!, t.at(-1)!].map((v) => ({ pos: sy(v), text: formatMetricValue(m, v) })),
    };
  });
  const lines = points.map((point) => {
    const segments: [number, number][][] = [];
    let current: [number, number][] = [];
    dimensions.forEach((d, i) => {
      const y = place[i]!(point);
      if (y === null) {
        if (current.length > 0) segments.push(current);
        current = [];
      } else current.push([d.x, y]);
    });
    if (current.length > 0) segments.push(current);
    return { point, segments };
  });
  return { box, dimensions, lines };
}

/** Colours for devices (the first device gets the first). */
export const DEVICE_COLOURS = ['#4c78a8', '#54a24b', '#b279a2', '#9d755d', '#72b7b2', '#eeca3b'] as const;
/** The front's colour. */
export const FRONT_COLOUR = '#e45756';

/** Each device's colour, by first appearance. */
export function deviceColours(points: readonly FigurePoint[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of points)
    if (!out.has(p.device)) out.set(p.device, DEVICE_COLOURS[out.size % DEVICE_COLOURS.length]!);
  return out;
}
