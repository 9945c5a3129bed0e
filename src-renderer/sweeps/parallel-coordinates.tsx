// Parallel coordinates of a sweep (issue 19, item 3): one vertical axis per spec axis (its values in the spec's
// order) and per metric, one line per device × point (its device's colour), the points on their device's Pareto front drawn
// bold in red on top (shared/report/sweep-figures.ts: the same layout as the sweep report's figure). Hovering a line
// brings it forward and names it; a click opens its runs when `onOpenPoint` is given.
import { useMemo, useState } from 'react';
import type { AxisValue } from '../../shared/sweep/axes';
import type { SweepPointStat } from '../../shared/sweep/journal';
import type { SweepMetricName } from '../../shared/sweep/metrics';
import {
  defaultParetoMetrics,
  describePoint,
  deviceColours,
  figurePoints,
  FRONT_COLOUR,
  frontKeys,
  parallelLayout,
  PARALLEL_DEFAULT_METRICS,
} from '../../shared/report/sweep-figures';
import { PLOT_INK } from './pareto-plot';

export interface ParallelCoordinatesProps {
  /** The sweep's point statistics (`sweep.json`'s `points`, `sweepPointStats`). */
  stats: readonly SweepPointStat[];
  /** The spec's axes: one vertical axis each, values in this order. */
  axes: Readonly<Record<string, readonly AxisValue[]>>;
  /** The metrics after the axes (default: speed-up, PSNR, SSIM, wall, step, peak memory; those the sweep has). */
  metrics?: readonly SweepMetricName[];
  /** The front highlighted (default: the Pareto plot's default pair). */
  front?: { x: SweepMetricName; y: SweepMetricName };
  /** A line was clicked: open that point's runs. */
  onOpenPoint?: (pointId: string, device: string) => void;
}

/** Parallel coordinates over the sweep's axes and metrics. */
export function ParallelCoordinates({
  stats,
  axes,
  metrics = PARALLEL_DEFAULT_METRICS,
  front,
  onOpenPoint,
}: ParallelCoordinatesProps) {
  const points = useMemo(() => figurePoints(stats), [stats]);
  const pair = front ?? defaultParetoMetrics(points);
  const onFront = useMemo(() => frontKeys(points, pair.x, pair.y), [points, pair.x, pair.y]);
  const layout = useMemo(() => parallelLayout(points, axes, metrics), [points, axes, metrics]);
  const colours = useMemo(() => deviceColours(points), [points]);
  const [hovered, setHovered] = useState<string | null>(null);
  const { box } = layout;
  const base = box.height - box.bottom;
  // Front lines, then the hovered one, on top.
  const rank = (key: string): number => (key === hovered ? 2 : onFront.has(key) ? 1 : 0);
  const lines = [...layout.lines].sort((a, b) => rank(a.point.key) - rank(b.point.key));
  const hoveredPoint = points.find((p) => p.key === hovered);
  return (
    <figure className="viz" data-testid="parallel-coordinates">
      <figcaption>Parallel coordinates</figcaption>
      <svg
        viewBox={`0 0 ${box.width} ${box.height}`}
        width="100%"
        role="img"
        aria-label={`Parallel coordinates: ${layout.lines.length} points over ${layout.dimensions.length} axes, ${onFront.size} on the Pareto front`}
        fontSize={11}
      >
        {layout.dimensions.map((d) => (
          <g key={`${d.kind}:${d.name}`} data-testid="parallel-dimension" data-name={d.name}>
            <line x1={d.x} y1={box.top} x2={d.x} y2={base} stroke={PLOT_INK.axis} />
            <text fill={PLOT_INK.text} aria-label={d.title}>
              {d.titleLines.map((l, k) => (
                <tspan key={k} x={l.x} y={l.y} textAnchor="middle">
                  {l.text}
                </tspan>
              ))}
            </text>
            {d.ticks.map((t) => (
              <text key={`${t.pos}:${t.text}`} x={d.x + 4} y={t.pos + 4} fill={PLOT_INK.text}>
                {t.text}
              </text>
            ))}
          </g>
        ))}
        {lines.map((line) => {
          const key = line.point.key;
          const isFront = onFront.has(key);
          const strong = isFront || key === hovered;
          return (
            <g
              key={key}
              data-testid="parallel-line"
              data-point-id={line.point.pointId}
              data-device={line.point.device}
              data-front={isFront}
              style={onOpenPoint ? { cursor: 'pointer' } : undefined}
              onMouseEnter={() => setHovered(key)}
              onMouseLeave={() => setHovered(null)}
              onClick={() => onOpenPoint?.(line.point.pointId, line.point.device)}
            >
              {line.segments.map((s, i) => (
                <polyline
                  key={i}
                  points={s.map(([a, b]) => `${a},${b}`).join(' ')}
                  fill="none"
                  stroke={isFront ? FRONT_COLOUR : colours.get(line.point.device)}
                  strokeWidth={key === hovered ? 3.5 : strong ? 2.5 : 1.2}
                  strokeOpacity={strong ? 1 : 0.45}
                />
              ))}
            </g>
          );
        })}
      </svg>
      <div className="muted" data-testid="parallel-hover">
        {hoveredPoint
          ? `${hoveredPoint.device} · ${describePoint(hoveredPoint)}${onFront.has(hoveredPoint.key) ? ' (on the front)' : ''}`
          : `Red: the Pareto front of ${pair.x} against ${pair.y}.`}
      </div>
    </figure>
  );
}
