// Where the run's time went: load, text encoding, denoising and decoding, as a small bar chart plus the numbers.
import { memo } from 'react';
import { Bar, BarChart, Cell, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMs } from '../studio/format';
import type { Stage } from '../../shared/engine/telemetry';
import type { RunState } from '../../shared/protocol/run';
import { PHASES, type RunView } from '../../shared/report/run-fold';

const PHASE_LABELS: Record<Stage, string> = {
  load: 'load / compile',
  text: 'text encoder',
  denoise: 'denoise',
  decode: 'VAE decode',
};
const PHASE_COLORS: Record<Stage, string> = {
  load: '#94a3b8',
  text: '#ffb703',
  denoise: '#5b8def',
  decode: '#3ddc97',
};

/**
 * Where a phase stands as the breakdown labels it: not started, running (live), replaying (a replay is folding it),
 * done, or stopped (the run ended while it was open: `stoppedBy` says how).
 */
export type PhaseStatus = 'pending' | 'running' | 'replaying' | 'done' | 'stopped';

interface PhaseRow {
  phase: Stage;
  label: string;
  ms: number;
  status: PhaseStatus;
  /** The terminal state that stopped the phase (status `stopped`). */
  stoppedBy: RunState | null;
}

/** How the view is shown: `replaying` while a replay plays it; `endedAs` the run's recorded terminal state. */
export interface PhaseContext {
  replaying: boolean;
  endedAs: RunState | null;
}

/**
 * The phase rows of a view (an open phase counts what it ran so far). An open phase is `running` only while the run
 * runs: a replay is `replaying` it, and a run the studio recorded as ended (e.g. interrupted when its device was
 * lost, with no terminal event in its log) has it `stopped`.
 */
export function phaseRows(
  view: RunView,
  ctx: PhaseContext = { replaying: false, endedAs: null },
): PhaseRow[] {
  return PHASES.map((phase) => {
    const p = view.phases[phase];
    const label = PHASE_LABELS[phase];
    if (p.stoppedBy !== null)
      return { phase, label, ms: p.durationMs ?? 0, status: 'stopped', stoppedBy: p.stoppedBy };
    if (p.durationMs !== null) return { phase, label, ms: p.durationMs, status: 'done', stoppedBy: null };
    if (p.startMs === null) return { phase, label, ms: 0, status: 'pending', stoppedBy: null };
    const ms = view.lastAtMs !== null ? Math.max(0, view.lastAtMs - p.startMs) : 0;
    if (ctx.replaying) return { phase, label, ms, status: 'replaying', stoppedBy: null };
    if (ctx.endedAs !== null) return { phase, label, ms, status: 'stopped', stoppedBy: ctx.endedAs };
    return { phase, label, ms, status: 'running', stoppedBy: null };
  });
}

/** The words after a phase's time: what it is doing, or what stopped it. */
function statusNote(r: PhaseRow): string {
  switch (r.status) {
    case 'running':
      return ' (running)';
    case 'replaying':
      return ' (replaying)';
    case 'stopped':
      return ` (stopped: run ${r.stoppedBy ?? 'ended'})`;
    default:
      return '';
  }
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
export const PhaseBreakdown = memo(function PhaseBreakdown({
  view,
  replaying,
  endedAs,
}: {
  view: RunView;
  stamp: number;
  replaying: boolean;
  endedAs: RunState | null;
}) {
  const rows = phaseRows(view, { replaying, endedAs });
  return (
    <figure className="viz" data-testid="phase-breakdown">
      <figcaption>Phase breakdown</figcaption>
      <Chart rows={rows} />
      <dl className="phase-list">
        {rows.map((r) => (
          <div key={r.phase} data-phase={r.phase} data-status={r.status}>
            <dt>{r.label}</dt>
            <dd>
              {r.status === 'pending' ? '—' : formatMs(r.ms)}
              {statusNote(r)}
            </dd>
          </div>
        ))}
      </dl>
    </figure>
  );
});
