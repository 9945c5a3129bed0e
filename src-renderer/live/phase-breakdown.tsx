// Where the run's time went: load, text encoding, denoising and decoding, as a small bar chart plus the numbers.
import { memo } from 'react';
import { Bar, BarChart, Cell, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMs } from '../studio/format';
import { PHASES, type Phase, type RunView } from './run-fold';

const PHASE_LABELS: Record<Phase, string> = {
  load: 'load / compile',
  text: 'text encoder',
  denoise: 'denoise',
  decode: 'VAE decode',
};
const PHASE_COLORS: Record<Phase, string> = {
  load: '#94a3b8',
  text: '#ffb703',
  denoise: '#5b8def',
  decode: '#3ddc97',
};

interface PhaseRow {
  phase: Phase;
  label: string;
  ms: number;
  running: boolean;
}

/** The phase rows of a view (a phase still running counts what it ran so far). */
export function phaseRows(view: RunView): PhaseRow[] {
  return PHASES.map((phase) => {
    const p = view.phases[phase];
    const running = p.durationMs === null && p.startMs !== null;
    const ms =
      p.durationMs ??
      (running && view.lastAtMs !== null && p.startMs !== null ? view.lastAtMs - p.startMs : 0);
    return { phase, label: PHASE_LABELS[phase], ms, running };
  });
}

function Chart({ rows }: { rows: PhaseRow[] }) {
  return (
    <BarChart width={320} height={150} data={rows} layout="vertical" margin={{ left: 8, right: 16 }}>
      <XAxis type="number" unit=" ms" stroke="#94a3b8" fontSize={10} />
      <YAxis type="category" dataKey="label" width={96} stroke="#94a3b8" fontSize={10} />
      <Tooltip formatter={(v) => formatMs(Number(v))} />
      <Bar dataKey="ms" isAnimationActive={false}>
        {rows.map((r) => (
          <Cell key={r.phase} fill={PHASE_COLORS[r.phase]} />
        ))}
      </Bar>
    </BarChart>
  );
}

/**
 * The phase breakdown of a run. `stamp` changes when a phase or a step changed: the view is mutated in place, so
 * the stamp is what lets `memo` skip the re-renders of block events.
 */
export const PhaseBreakdown = memo(function PhaseBreakdown({ view }: { view: RunView; stamp: number }) {
  const rows = phaseRows(view);
  return (
    <figure className="viz" data-testid="phase-breakdown">
      <figcaption>Phase breakdown</figcaption>
      <Chart rows={rows} />
      <dl className="phase-list">
        {rows.map((r) => (
          <div key={r.phase} data-phase={r.phase}>
            <dt>{r.label}</dt>
            <dd>
              {r.ms > 0 || r.running ? formatMs(r.ms) : '—'}
              {r.running ? ' (running)' : ''}
            </dd>
          </div>
        ))}
      </dl>
    </figure>
  );
});
