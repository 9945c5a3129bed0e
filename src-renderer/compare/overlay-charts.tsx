// Several runs' step latency and resident block memory overlaid on shared axes (shared/report/axes.ts), one colour
// per run; on the latency chart each run's LPL leap is a diamond and its TDTM-merged steps are squares. Plain SVG
// from the runs' measures (the one run fold), so the curves mean the same as in the report.
import { describeLeap } from '../../shared/engine/techniques/summary';
import { axisBytes, latencyAxisTop, memoryAxisTop } from '../../shared/report/axes';
import type { RunMeasures } from '../../shared/report/measures';
import { formatMs } from '../studio/format';

/** One run on the charts. */
export interface OverlayRun {
  runId: string;
  label: string;
  measures: RunMeasures;
  /**
   * When its pipeline started (its load stage), in the measures' time (since its first event): the memory chart
   * starts each run there, so time spent queued behind another run does not shift its curve.
   */
  startAtMs: number;
}

/** One colour per run, in selection order (up to four runs). */
export const RUN_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759'] as const;

const W = 640;
const H = 200;
const PAD = { left: 64, right: 12, top: 10, bottom: 28 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

const colourOf = (i: number): string => RUN_COLOURS[i % RUN_COLOURS.length]!;
const xOf = (v: number, top: number): number => PAD.left + (top <= 0 ? 0 : (v / top) * PLOT_W);
const yOf = (v: number, top: number): number => PAD.top + PLOT_H - (top <= 0 ? 0 : (v / top) * PLOT_H);
const points = (xy: [number, number][]): string =>
  xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');

function Frame({
  yLabel,
  xLabel,
  yTop,
  xTop,
}: {
  yLabel: string;
  xLabel: string;
  yTop: string;
  xTop: string;
}) {
  return (
    <g className="axes" fontSize="11" fill="currentColor">
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={PAD.top + PLOT_H} stroke="currentColor" />
      <line
        x1={PAD.left}
        y1={PAD.top + PLOT_H}
        x2={W - PAD.right}
        y2={PAD.top + PLOT_H}
        stroke="currentColor"
      />
      <text x={PAD.left - 4} y={PAD.top + 10} textAnchor="end">
        {yTop}
      </text>
      <text x={PAD.left - 4} y={PAD.top + PLOT_H} textAnchor="end">
        0
      </text>
      <text x={W - PAD.right} y={H - 8} textAnchor="end">
        {xTop}
      </text>
      <text x={PAD.left + PLOT_W / 2} y={H - 8} textAnchor="middle">
        {xLabel}
      </text>
      <text
        x={12}
        y={PAD.top + PLOT_H / 2}
        textAnchor="middle"
        transform={`rotate(-90 12 ${PAD.top + PLOT_H / 2})`}
      >
        {yLabel}
      </text>
    </g>
  );
}

/** Step latency per step index, all runs on one latency axis and one step range. */
function LatencyChart({ runs }: { runs: readonly OverlayRun[] }) {
  const yTop = latencyAxisTop(runs.map((r) => r.measures.steps.map((s) => s.latencyMs)));
  const xTop = Math.max(1, ...runs.flatMap((r) => r.measures.steps.map((s) => s.step)));
  return (
    <svg className="overlay-chart" data-testid="overlay-latency" viewBox={`0 0 ${W} ${H}`} role="img">
      <title>Step latency</title>
      <Frame yLabel="ms" xLabel="step" yTop={formatMs(yTop)} xTop={String(xTop)} />
      {runs.map((r, i) => {
        const xy = r.measures.steps.map((s): [number, number] => [xOf(s.step, xTop), yOf(s.latencyMs, yTop)]);
        return (
          <g key={r.runId} stroke={colourOf(i)} fill={colourOf(i)}>
            <polyline
              data-testid="overlay-latency-curve"
              data-run-id={r.runId}
              points={points(xy)}
              fill="none"
              strokeWidth="2"
            />
            {r.measures.steps.map((s, k) => {
              const [x, y] = xy[k]!;
              if (s.leapt)
                return (
                  <path
                    key={s.step}
                    data-testid="overlay-leap"
                    d={`M${x} ${y - 6}L${x + 6} ${y}L${x} ${y + 6}L${x - 6} ${y}Z`}
                  >
                    <title>{`${r.label}: ${describeLeap(s.step)}`}</title>
                  </path>
                );
              if (s.merged)
                return (
                  <rect key={s.step} data-testid="overlay-merge" x={x - 3} y={y - 3} width="6" height="6">
                    <title>{`${r.label}: TDTM merged step ${s.step + 1}`}</title>
                  </rect>
                );
              return null;
            })}
          </g>
        );
      })}
    </svg>
  );
}

/** Resident block bytes over time since each run's pipeline started, all runs on one byte axis and one time axis. */
function MemoryChart({ runs }: { runs: readonly OverlayRun[] }) {
  const yTop = memoryAxisTop(
    runs.map((r) => r.measures.peakResidentBytes ?? 0),
    runs.map((r) => r.measures.budgetBytes),
  );
  const xTop = Math.max(1, ...runs.flatMap((r) => r.measures.residency.map((p) => p.atMs - r.startAtMs)));
  return (
    <svg className="overlay-chart" data-testid="overlay-memory" viewBox={`0 0 ${W} ${H}`} role="img">
      <title>Resident block memory</title>
      <Frame yLabel="resident" xLabel="time" yTop={axisBytes(yTop)} xTop={formatMs(xTop)} />
      {runs.map((r, i) => {
        // A step line: the bytes hold until the next event changes them.
        const xy: [number, number][] = [];
        for (const p of r.measures.residency) {
          const x = xOf(Math.max(0, p.atMs - r.startAtMs), xTop);
          const prev = xy.at(-1);
          if (prev !== undefined) xy.push([x, prev[1]]);
          xy.push([x, yOf(Math.min(p.residentBytes, yTop), yTop)]);
        }
        return (
          <polyline
            key={r.runId}
            data-testid="overlay-memory-curve"
            data-run-id={r.runId}
            points={points(xy)}
            fill="none"
            stroke={colourOf(i)}
            strokeWidth="2"
          />
        );
      })}
    </svg>
  );
}

/** The two charts with a legend. */
export function RunOverlayCharts({ runs }: { runs: readonly OverlayRun[] }) {
  if (runs.length === 0) return null;
  return (
    <div className="card" data-testid="overlay-charts">
      <h2>Step latency and resident memory</h2>
      <p className="legend">
        {runs.map((r, i) => (
          <span key={r.runId} style={{ color: colourOf(i), marginRight: 12 }}>
            ■ {r.label}
          </span>
        ))}
        <span className="muted"> ◆ LPL leap · ▪ TDTM merged step</span>
      </p>
      <LatencyChart runs={runs} />
      <MemoryChart runs={runs} />
    </div>
  );
}
