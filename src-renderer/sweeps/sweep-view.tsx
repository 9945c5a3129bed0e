// One sweep: its progress (done / total, per device with the run in flight, failures), Pause / Resume / Cancel,
// the sweep table (one row per device × point, sortable and filterable; a row lists its runs, each opening on Live
// run), the Pareto plot and the parallel coordinates (clicking a point or a line opens its row's runs), and Export
// report (`sweeps.exportReport`: report.html, the figures as SVG, the CSVs, linked once written).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useMemo, useState } from 'react';
import type { SweepReportResult, SweepSummary } from '../../shared/protocol/studio-contract';
import { formatBytes } from '../../shared/format';
import { formatMetricValue } from '../../shared/report/sweep-figures';
import type { SweepMetricName } from '../../shared/sweep/metrics';
import type { SweepJournal } from '../../shared/sweep/journal';
import { navigate } from '../routes';
import { errorText } from '../studio/format';
import { studioKeys } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import { ParallelCoordinates } from './parallel-coordinates';
import { ParetoPlot } from './pareto-plot';
import { axisText } from './sweep-model';
import {
  runThermalText,
  sortAndFilter,
  thermalGateText,
  sweepTableRows,
  TABLE_METRICS,
  type SortKey,
  type SweepTableRow,
} from './sweep-table-model';

/** The controls of a sweep, in order, and when each shows (while it runs; while it can be resumed). */
const SWEEP_ACTIONS: readonly {
  action: 'pause' | 'resume' | 'cancel';
  label: string;
  shown: (active: boolean, resumable: boolean) => boolean;
}[] = [
  { action: 'pause', label: 'Pause', shown: (active) => active },
  { action: 'resume', label: 'Resume', shown: (_, resumable) => resumable },
  { action: 'cancel', label: 'Cancel', shown: (active, resumable) => active || resumable },
];

function Progress({ sweep, journal }: { sweep: SweepSummary; journal: SweepJournal }) {
  const { api, readOnly } = useStudio();
  const client = useQueryClient();
  const act = useMutation({
    mutationFn: (what: 'pause' | 'resume' | 'cancel') =>
      what === 'pause'
        ? api.pauseSweep({ sweepId: sweep.sweepId })
        : what === 'resume'
          ? api.resumeSweep({ sweepId: sweep.sweepId })
          : api.cancelSweep({ sweepId: sweep.sweepId }),
    onSettled: () => void client.invalidateQueries({ queryKey: studioKeys.sweeps }),
  });
  const active = sweep.activity !== 'idle';
  const resumable = !active && ['stopped', 'failed', 'running'].includes(sweep.state);
  const failures = journal.runs.filter((r) => r.status === 'failed');
  return (
    <section className="sweep-progress" aria-label="Progress">
      <p>
        <span
          className="state-badge"
          data-testid="sweep-state"
          data-state={sweep.state}
          data-activity={sweep.activity}
        >
          {sweep.state}
          {active ? ` · ${sweep.activity}` : ''}
        </span>{' '}
        <strong data-testid="sweep-done" data-finished={sweep.finished} data-total={sweep.total}>
          {sweep.finished} / {sweep.total} runs
        </strong>
        {sweep.failed > 0 && <span className="error"> · {sweep.failed} failed</span>}
      </p>
      <progress max={Math.max(1, sweep.total)} value={sweep.finished} />
      <p className="muted" data-testid="sweep-thermal-gate" data-on={journal.spec.thermal !== undefined}>
        {thermalGateText(journal.spec.thermal)}
      </p>
      {sweep.error !== null && <p className="error">{sweep.error}</p>}
      <ul className="sweep-device-progress">
        {sweep.devices.map((d) => (
          <li key={d.device} data-testid="sweep-device-progress" data-device={d.device}>
            <strong>{d.device}</strong>: {d.finished} / {d.total}
            {d.failed > 0 ? `, ${d.failed} failed` : ''}
            {d.current !== null && (
              <>
                {' '}
                · now: {d.current.kind} {d.current.planRunId}{' '}
                {d.current.runId !== null && (
                  <button type="button" onClick={() => navigate(['live', d.current!.runId!])}>
                    Open live
                  </button>
                )}
              </>
            )}
          </li>
        ))}
      </ul>
      {failures.length > 0 && (
        <details>
          <summary>Failed runs ({failures.length})</summary>
          <ul>
            {failures.map((r) => (
              <li key={r.id}>
                {r.device} {r.kind} {r.id}: <span className="error">{r.error}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      {!readOnly && (
        <p className="row-actions">
          {SWEEP_ACTIONS.filter((a) => a.shown(active, resumable)).map((a) => (
            <button
              key={a.action}
              type="button"
              data-testid={`sweep-${a.action}`}
              disabled={act.isPending}
              onClick={() => act.mutate(a.action)}
            >
              {a.label}
            </button>
          ))}
          {act.isError && <span className="error">{errorText(act.error)}</span>}
        </p>
      )}
    </section>
  );
}

/** The runs of one table row (warm-ups and baselines are not a point's). */
function PointRuns({ row, journal }: { row: SweepTableRow; journal: SweepJournal }) {
  const runs = journal.runs.filter((r) => r.device === row.device && r.pointId === row.pointId);
  return (
    <ul className="sweep-point-runs" data-testid="sweep-point-runs">
      {runs.map((r) => (
        <li key={r.id} data-testid="sweep-point-run" data-status={r.status}>
          repeat {r.repeat + 1} · prompt {r.promptIndex + 1} · seed {r.seed} · {r.status}
          {r.result !== null && ` · ${formatMetricValue('wall', r.result.wallMs)}`}
          {r.thermal !== null && (
            <span data-testid="sweep-run-thermal"> · {runThermalText(r.thermal)}</span>
          )}{' '}
          {r.runFolder !== null && (
            <button
              type="button"
              data-testid="sweep-open-run"
              onClick={() => navigate(['live', r.runFolder!])}
            >
              Open run
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Median and spread (p25–p75) of one metric. */
function Cell({ row, metric }: { row: SweepTableRow; metric: SweepMetricName }) {
  const s = row.stats[metric];
  if (s === undefined) return <td className="muted">–</td>;
  return (
    <td data-metric={metric} data-median={s.median}>
      {formatMetricValue(metric, s.median)}
      {s.n > 1 && (
        <small className="muted">
          {' '}
          ({formatMetricValue(metric, s.p25)}–{formatMetricValue(metric, s.p75)})
        </small>
      )}
    </td>
  );
}

function SweepTable({
  journal,
  open,
  setOpen,
}: {
  journal: SweepJournal;
  /** The row whose runs are listed (`<device>/<pointId>`), or null. */
  open: string | null;
  setOpen: (update: (open: string | null) => string | null) => void;
}) {
  const axes = Object.keys(journal.spec.axes);
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean } | null>(null);
  const [filter, setFilter] = useState('');
  const all = useMemo(() => sweepTableRows(journal), [journal]);
  const rows = sortAndFilter(all, sort?.key ?? null, sort?.descending ?? false, filter);
  const header = (key: SortKey, label: string) => (
    <th
      key={key}
      data-testid="sweep-sort"
      data-sort-key={key}
      aria-sort={sort?.key === key ? (sort.descending ? 'descending' : 'ascending') : 'none'}
    >
      <button
        type="button"
        onClick={() => setSort((s) => ({ key, descending: s?.key === key ? !s.descending : false }))}
      >
        {label}
        {sort?.key === key ? (sort.descending ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );
  return (
    <section aria-label="Sweep table">
      <h2>Points</h2>
      <p>
        <input
          data-testid="sweep-filter"
          placeholder="Filter: device, point or axis=value"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />{' '}
        <small className="muted">
          Medians over measured runs (warm-ups and baselines excluded), interquartile range in brackets;
          speed-up, PSNR, SSIM and flicker Δ against the baseline of the same prompt × seed; adherence only
          for prompts in the Nano vocabulary.
        </small>
      </p>
      {rows.length === 0 ? (
        <p className="muted">No finished measured run yet.</p>
      ) : (
        <table className="history sweep-table" data-testid="sweep-table">
          <thead>
            <tr>
              {header('device', 'Device')}
              {axes.map((a) => header(`axis:${a}`, a))}
              <th>n</th>
              {TABLE_METRICS.map((m) => header(`metric:${m.metric}`, m.header))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <Fragment key={row.key}>
                <tr
                  data-testid="sweep-row"
                  data-point-id={row.pointId}
                  className={open === row.key ? 'selected' : undefined}
                  onClick={() => setOpen((o) => (o === row.key ? null : row.key))}
                >
                  <td>{row.device}</td>
                  {axes.map((a) => (
                    <td key={a} data-axis={a}>
                      {row.point[a] === undefined ? '–' : axisText(a, [row.point[a]])}
                    </td>
                  ))}
                  <td>{row.n}</td>
                  {TABLE_METRICS.map((m) => (
                    <Cell key={m.metric} row={row} metric={m.metric} />
                  ))}
                </tr>
                {open === row.key && (
                  <tr>
                    <td colSpan={axes.length + 2 + TABLE_METRICS.length}>
                      <PointRuns row={row} journal={journal} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * Export report: the sweep's report written into a new report folder by the studio, each file linked (the HTML
 * opens in a tab, the SVGs and CSVs download). Offered once a measured run has finished.
 */
function SweepExport({ sweepId, journal }: { sweepId: string; journal: SweepJournal }) {
  const { api, readOnly } = useStudio();
  const [written, setWritten] = useState<SweepReportResult | null>(null);
  const exportReport = useMutation({
    mutationFn: () => api.exportSweepReport({ sweepId }),
    onSuccess: setWritten,
  });
  if (readOnly) return null;
  const measured = journal.runs.some((r) => r.kind === 'measured' && r.status === 'finished');
  return (
    <section className="export card" aria-label="Export report">
      <h2>Report</h2>
      <p className="export-buttons">
        <button
          type="button"
          data-testid="sweep-export-report"
          disabled={!measured || exportReport.isPending}
          title={measured ? undefined : 'No measured run has finished yet'}
          onClick={() => exportReport.mutate()}
        >
          Export report
        </button>{' '}
        <small className="muted">
          report.html (self-contained, opens offline), the Pareto plot and parallel coordinates as SVG,
          sweep.csv and sweep-points.csv
        </small>
      </p>
      {exportReport.isError && (
        <p className="error" role="alert">
          {errorText(exportReport.error)}
        </p>
      )}
      {written !== null && (
        <ul className="export-links">
          {written.files.map((f) => (
            <li key={f.name}>
              <a
                data-testid="sweep-export-result"
                data-name={f.name}
                href={f.url}
                download={f.name === 'report.html' ? undefined : f.name}
                target="_blank"
                rel="noopener"
              >
                {f.name}
              </a>{' '}
              <span className="muted">{formatBytes(f.bytes)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** One sweep: progress, controls, table, plots, report export. */
export function SweepView({ sweepId }: { sweepId: string }) {
  const { api } = useStudio();
  const detail = useQuery({ queryKey: studioKeys.sweep(sweepId), queryFn: () => api.getSweep({ sweepId }) });
  const [open, setOpen] = useState<string | null>(null);
  if (detail.isPending) return <p className="muted">Loading the sweep…</p>;
  if (detail.isError) return <p className="error">{errorText(detail.error)}</p>;
  const { sweep, journal } = detail.data;
  /** A point clicked in a plot: its row in the table lists its runs. */
  const openPoint = (pointId: string, device: string): void => {
    setOpen(() => `${device}/${pointId}`);
    document.querySelector(`[data-testid="sweep-table"]`)?.scrollIntoView({ block: 'nearest' });
  };
  return (
    <div className="sweep-view" data-testid="sweep-view" data-sweep-id={sweepId}>
      <h2>{sweep.name ?? sweep.sweepId}</h2>
      <Progress sweep={sweep} journal={journal} />
      <SweepTable journal={journal} open={open} setOpen={setOpen} />
      <section className="sweep-plots" data-testid="sweep-plots" aria-label="Plots">
        <h2>Pareto plot · Parallel coordinates</h2>
        <ParetoPlot stats={journal.points} axes={journal.spec.axes} onOpenPoint={openPoint} />
        <ParallelCoordinates stats={journal.points} axes={journal.spec.axes} onOpenPoint={openPoint} />
      </section>
      <SweepExport key={sweepId} sweepId={sweepId} journal={journal} />
    </div>
  );
}
