// The Pareto plot of a sweep (issue 19, item 3): any two metrics from selects, one dot per device × point (its
// device's colour), each device's front ringed and joined (shared/report/sweep-figures.ts: the same layout the sweep report's
// SVG draws), hover shows the point's settings and values, a click (or Enter) opens its runs via `onOpenPoint`.
import { useMemo, useState } from 'react';
import type { AxisValue } from '../../shared/sweep/axes';
import type { SweepPointStat } from '../../shared/sweep/journal';
import { SWEEP_METRICS, type SweepMetricName } from '../../shared/sweep/metrics';
import {
  defaultParetoMetrics,
  describePoint,
  deviceColours,
  figurePoints,
  formatMetricValue,
  FRONT_COLOUR,
  metricsPresent,
  paretoLayout,
  type FigurePoint,
} from '../../shared/report/sweep-figures';

/** Colours of the plot's frame and text on the studio's dark theme. */
export const PLOT_INK = { text: '#cbd5e1', axis: '#64748b', frame: '#334155' } as const;

export interface ParetoPlotProps {
  /** The sweep's point statistics (`sweep.json`'s `points`, `sweepPointStats`). */
  stats: readonly SweepPointStat[];
  /** The spec's axes (names in order): the hover lists a point's settings in this order. */
  axes?: Readonly<Record<string, readonly AxisValue[]>>;
  /** A point was clicked: open its runs (`device`: which device's runs, when the sweep ran on several). */
  onOpenPoint: (pointId: string, device: string) => void;
  /** The metrics the plot starts with (default: speed-up against PSNR when the sweep has them). */
  initial?: { x: SweepMetricName; y: SweepMetricName };
}

function MetricSelect(props: {
  testId: string;
  label: string;
  value: SweepMetricName;
  options: readonly SweepMetricName[];
  onChange: (m: SweepMetricName) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <select
        data-testid={props.testId}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value as SweepMetricName)}
      >
        {props.options.map((m) => (
          <option key={m} value={m} title={SWEEP_METRICS[m].help}>
            {SWEEP_METRICS[m].label} ({SWEEP_METRICS[m].better} is better)
          </option>
        ))}
      </select>
    </label>
  );
}

/** What the hover shows: the device, every setting and the point's medians (n runs). */
function PointDetails({ point, axes }: { point: FigurePoint; axes: readonly string[] }) {
  const settings = [...axes, ...Object.keys(point.point).filter((a) => !axes.includes(a))];
  return (
    <div className="muted" data-testid="pareto-hover" data-point-id={point.pointId}>
      <strong>
        {point.device} · {point.pointId}
      </strong>
      <div>
        {settings.length === 0
          ? 'base settings'
          : settings.map((a) => `${a} = ${String(point.point[a])}`).join(' · ')}
      </div>
      <div>
        {metricsPresent([point])
          .map((m) => `${SWEEP_METRICS[m].label} ${formatMetricValue(m, point.median[m])}`)
          .join(' · ')}
        {' · '}n = {Math.max(0, ...Object.values(point.spread).map((s) => s.n))} runs
      </div>
    </div>
  );
}

/** The Pareto plot with its metric selects and the hovered point's details. */
export function ParetoPlot({ stats, axes = {}, onOpenPoint, initial }: ParetoPlotProps) {
  const points = useMemo(() => figurePoints(stats), [stats]);
  const present = useMemo(() => metricsPresent(points), [points]);
  const [chosen, setChosen] = useState(initial ?? null);
  const { x, y } = chosen ?? defaultParetoMetrics(points);
  const [hovered, setHovered] = useState<FigurePoint | null>(null);
  const layout = useMemo(() => paretoLayout(points, x, y), [points, x, y]);
  const colours = useMemo(() => deviceColours(points), [points]);
  const { box } = layout;
  const right = box.width - box.right;
  const base = box.height - box.bottom;
  const options = present.length > 0 ? present : [x, y];
  return (
    <figure className="viz" data-testid="pareto-plot">
      <figcaption>
        Pareto front{' '}
        <MetricSelect
          testId="pareto-x"
          label="x"
          value={x}
          options={options}
          onChange={(m) => setChosen({ x: m, y })}
        />{' '}
        <MetricSelect
          testId="pareto-y"
          label="y"
          value={y}
          options={options}
          onChange={(m) => setChosen({ x, y: m })}
        />
      </figcaption>
      <svg
        viewBox={`0 0 ${box.width} ${box.height}`}
        width="100%"
        role="img"
        aria-label={`Pareto plot of ${SWEEP_METRICS[x].label} against ${SWEEP_METRICS[y].label}: ${layout.marks.length} points, ${layout.marks.filter((m) => m.front).length} on the front`}
        fontSize={11}
      >
        <rect
          x={box.left}
          y={box.top}
          width={right - box.left}
          height={base - box.top}
          fill="none"
          stroke={PLOT_INK.frame}
        />
        {layout.marks.length === 0 && (
          <text x={(box.left + right) / 2} y={(box.top + base) / 2} textAnchor="middle" fill={PLOT_INK.text}>
            no point has both {SWEEP_METRICS[x].label} and {SWEEP_METRICS[y].label} yet
          </text>
        )}
        {layout.marks.length > 0 &&
          layout.xTicks.map((t) => (
            <text key={`x${t.pos}`} x={t.pos} y={base + 16} textAnchor="middle" fill={PLOT_INK.text}>
              {t.text}
            </text>
          ))}
        {layout.marks.length > 0 &&
          layout.yTicks.map((t) => (
            <text key={`y${t.pos}`} x={box.left - 6} y={t.pos + 4} textAnchor="end" fill={PLOT_INK.text}>
              {t.text}
            </text>
          ))}
        <text x={(box.left + right) / 2} y={base + 34} textAnchor="middle" fill={PLOT_INK.text}>
          {layout.xTitle}
        </text>
        <text
          x={14}
          y={(box.top + base) / 2}
          textAnchor="middle"
          fill={PLOT_INK.text}
          transform={`rotate(-90 14 ${(box.top + base) / 2})`}
        >
          {layout.yTitle}
        </text>
        {layout.frontLines
          .filter((f) => f.points.length > 1)
          .map((f) => (
            <polyline
              key={f.device}
              data-testid="pareto-front-line"
              data-device={f.device}
              points={f.points.map(([a, b]) => `${a},${b}`).join(' ')}
              fill="none"
              stroke={FRONT_COLOUR}
              strokeWidth={1.5}
            />
          ))}
        {layout.marks.map((m) => (
          <circle
            key={m.point.key}
            data-testid="pareto-point"
            data-point-id={m.point.pointId}
            data-device={m.point.device}
            data-front={m.front}
            cx={m.cx}
            cy={m.cy}
            r={hovered?.key === m.point.key ? 8 : m.front ? 6 : 4.5}
            fill={colours.get(m.point.device)}
            fillOpacity={m.front ? 1 : 0.65}
            stroke={m.front ? FRONT_COLOUR : 'none'}
            strokeWidth={2}
            role="button"
            tabIndex={0}
            aria-label={`${m.point.device} ${describePoint(m.point)}: ${formatMetricValue(x, m.point.median[x])}, ${formatMetricValue(y, m.point.median[y])}${m.front ? ', on the front' : ''}. Open its runs`}
            style={{ cursor: 'pointer' }}
            onMouseEnter={() => setHovered(m.point)}
            onMouseLeave={() => setHovered(null)}
            onFocus={() => setHovered(m.point)}
            onBlur={() => setHovered(null)}
            onClick={() => onOpenPoint(m.point.pointId, m.point.device)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                onOpenPoint(m.point.pointId, m.point.device);
              }
            }}
          />
        ))}
      </svg>
      <div className="muted">
        {[...colours].map(([d, c]) => (
          <span key={d} style={{ color: c, marginRight: 12 }}>
            ● {d}
          </span>
        ))}
        <span style={{ color: FRONT_COLOUR }}>— Pareto front (per device)</span>
        {layout.missing > 0 && <span> · {layout.missing} point(s) without both metrics not drawn</span>}
      </div>
      {hovered !== null ? (
        <PointDetails point={hovered} axes={Object.keys(axes)} />
      ) : (
        <div className="muted">Hover a point for its settings; click it to open its runs.</div>
      )}
    </figure>
  );
}
