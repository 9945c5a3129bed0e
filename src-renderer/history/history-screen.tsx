// History as a notebook: every run folder with its name, tags, notes, a thumbnail and its metrics (wall, denoise,
// median step, peak memory, speed-up over its baseline; stored in run.json when the run ended); search, filters and
// sortable columns (history-filter.ts); reopen (Live run in read-only replay), edit, delete, run again, and pick 2–4
// runs to compare. Runs the studio stopped following (restart, lost device) are marked; folders that cannot be read
// as runs are listed with why, and a run whose stored events had damage says what was skipped (from its summary:
// no row reads its run's detail).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { RunParams, RunState } from '../../shared/protocol/run';
import type { RunSummary, UnreadableRun } from '../../shared/protocol/studio-contract';
import { MAX_COMPARED_RUNS } from '../compare/compare-screen';
import { navigate } from '../routes';
import { formatBytes } from '../../shared/format';
import { errorText, formatMs, formatNumber, formatWhen } from '../studio/format';
import {
  NEWEST_FIRST,
  NO_FILTER,
  allTags,
  filterRuns,
  sortRuns,
  type HistoryFilter,
  type SortKey,
  type SortOrder,
  type TechniqueFilter,
} from './history-filter';
import { RunNotesEditor } from './run-notes-editor';
import { RunThumbnail } from './run-thumbnail';
import { runsQuery, studioKeys } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import { describeTechniques } from '../../shared/engine/techniques/summary';

function isInterrupted(run: RunSummary): boolean {
  return run.interruption !== null || run.state === 'interrupted';
}

/** One line on what a run asked for: prompt, seed and the technique settings. */
export function settingsLine(params: RunParams): string {
  const techniques = describeTechniques(params, formatBytes).join(' · ');
  return `${params.steps ?? 'default'} steps · ${techniques} · seed ${params.seed}`;
}

function RunSettings({ run }: { run: RunSummary }) {
  return (
    <>
      <p className="run-settings muted">
        “{run.params.prompt}” · {settingsLine(run.params)}
      </p>
      {run.eventLogProblem !== null && (
        <p className="run-settings error" data-testid="history-event-log-problem">
          {run.eventLogProblem}
        </p>
      )}
    </>
  );
}

/** The run's name, tags and notes, or the editor for them. */
function RunNotebook({ run }: { run: RunSummary }) {
  const { readOnly } = useStudio();
  const [editing, setEditing] = useState(false);
  if (editing) return <RunNotesEditor run={run} onDone={() => setEditing(false)} />;
  return (
    <>
      <strong data-testid="history-run-name">{run.label ?? run.runId}</strong>{' '}
      {!readOnly && (
        <button type="button" className="link" data-testid="history-edit" onClick={() => setEditing(true)}>
          Edit
        </button>
      )}
      <br />
      <small className="muted">{formatWhen(run.createdAtEpochMs)}</small>
      {run.tags.length > 0 && (
        <span className="tags" data-testid="history-tags">
          {run.tags.map((t) => (
            <span key={t} className="tag" data-testid="history-tag">
              {t}
            </span>
          ))}
        </span>
      )}
      {run.notes !== '' && (
        <p className="run-notes" data-testid="history-notes">
          {run.notes}
        </p>
      )}
      <RunSettings run={run} />
    </>
  );
}

/** The metric columns: header, sort key and how a value reads. */
const METRIC_COLUMNS: { key: SortKey; title: string; cell: (r: RunSummary) => string }[] = [
  { key: 'wallMs', title: 'Wall', cell: (r) => formatMs(r.metrics?.wallMs) },
  { key: 'denoiseMs', title: 'Denoise', cell: (r) => formatMs(r.metrics?.denoiseMs) },
  { key: 'medianStepMs', title: 'Median step', cell: (r) => formatMs(r.metrics?.medianStepMs) },
  {
    key: 'peakResidentBytes',
    title: 'Peak memory',
    cell: (r) => (r.metrics?.peakResidentBytes == null ? '—' : formatBytes(r.metrics.peakResidentBytes)),
  },
  {
    key: 'speedup',
    title: 'Speed-up',
    cell: (r) => (r.speedupVsBaseline === null ? '—' : `${formatNumber(r.speedupVsBaseline, 2)}×`),
  },
];

/** Run folders history cannot show as runs, each with why (they are left on disk as they are). */
function UnreadableRuns({ folders }: { folders: UnreadableRun[] }) {
  return (
    <section className="history-unreadable" aria-labelledby="history-unreadable-title">
      <h2 id="history-unreadable-title">Run folders that cannot be read</h2>
      <p className="muted">Left on disk as they are, under the studio’s runs folder.</p>
      <ul>
        {folders.map((u) => (
          <li key={u.folder} data-testid="history-unreadable" data-folder={u.folder}>
            <strong>{u.folder}</strong>: <span className="error">{u.reason}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function HistoryRow({
  run,
  selected,
  onSelect,
}: {
  run: RunSummary;
  selected: boolean;
  onSelect: (on: boolean) => void;
}) {
  const { api, readOnly } = useStudio();
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api.deleteRun({ runId: run.runId }),
    onSuccess: () => void client.invalidateQueries({ queryKey: studioKeys.runs }),
  });
  const live = run.stream === 'live' || run.state === 'running' || run.state === 'queued';
  return (
    <tr
      data-testid="history-row"
      data-run-id={run.runId}
      data-state={run.state}
      data-interrupted={String(isInterrupted(run))}
    >
      <td>
        <input
          type="checkbox"
          data-testid="history-compare-select"
          aria-label={`Select ${run.runId} to compare`}
          checked={selected}
          onChange={(e) => onSelect(e.target.checked)}
        />
      </td>
      <td>
        <RunThumbnail run={run} />
      </td>
      <td className="history-run">
        <RunNotebook run={run} />
      </td>
      <td>{run.deviceName}</td>
      <td>
        <span className="state-badge" data-state={run.state}>
          {run.state}
        </span>
        {isInterrupted(run) && (
          <span className="badge warn" title={run.interruption?.reason}>
            interrupted{run.interruption !== null ? ` (${run.interruption.reason})` : ''}
          </span>
        )}
      </td>
      <td className="row-actions">
        <button type="button" data-testid="history-open" onClick={() => navigate(['live', run.runId])}>
          {live ? 'Open live' : 'Open'}
        </button>
        {!readOnly && (
          <>
            <button
              type="button"
              data-testid="history-rerun"
              onClick={() => navigate(['composer', 'rerun', run.runId])}
            >
              Run again
            </button>
            <button
              type="button"
              data-testid="history-delete"
              disabled={live || remove.isPending}
              title={live ? 'A live run cannot be deleted' : undefined}
              onClick={() => remove.mutate()}
            >
              Delete
            </button>
          </>
        )}
        {remove.isError && <span className="error">{errorText(remove.error)}</span>}
      </td>
      {METRIC_COLUMNS.map((c) => (
        <td key={c.key} className="num" data-testid={`history-metric-${c.key}`}>
          {c.cell(run)}
        </td>
      ))}
    </tr>
  );
}

const STATES: readonly RunState[] = ['queued', 'running', 'finished', 'failed', 'cancelled', 'interrupted'];

/** Search box and filters. */
function HistoryFilters({
  summaries,
  filter,
  onChange,
}: {
  summaries: readonly RunSummary[];
  filter: HistoryFilter;
  onChange: (next: HistoryFilter) => void;
}) {
  const byId = new Map<string, string>();
  for (const r of summaries) byId.set(r.deviceId, r.deviceName);
  const devices = [...byId.entries()];
  const tags = allTags(summaries);
  const set = (patch: Partial<HistoryFilter>): void => onChange({ ...filter, ...patch });
  const technique = (which: 'lpl' | 'tdtm', label: string) => (
    <label>
      {label}{' '}
      <select
        data-testid={`history-filter-${which}`}
        value={filter[which]}
        onChange={(e) => set({ [which]: e.target.value as TechniqueFilter })}
      >
        <option value="any">either</option>
        <option value="on">on</option>
        <option value="off">off</option>
      </select>
    </label>
  );
  return (
    <div className="history-filters" role="search">
      <input
        type="search"
        data-testid="history-search"
        placeholder="Search name, prompt, tags, notes"
        aria-label="Search runs"
        value={filter.text}
        onChange={(e) => set({ text: e.target.value })}
      />
      <label>
        Device{' '}
        <select
          data-testid="history-filter-device"
          value={filter.deviceId ?? ''}
          onChange={(e) => set({ deviceId: e.target.value === '' ? null : e.target.value })}
        >
          <option value="">all</option>
          {devices.map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        State{' '}
        <select
          data-testid="history-filter-state"
          value={filter.state ?? ''}
          onChange={(e) => set({ state: e.target.value === '' ? null : (e.target.value as RunState) })}
        >
          <option value="">all</option>
          {STATES.map((st) => (
            <option key={st} value={st}>
              {st}
            </option>
          ))}
        </select>
      </label>
      {technique('lpl', 'LPL')}
      {technique('tdtm', 'TDTM')}
      <label>
        Tag{' '}
        <select
          data-testid="history-filter-tag"
          value={filter.tag ?? ''}
          onChange={(e) => set({ tag: e.target.value === '' ? null : e.target.value })}
        >
          <option value="">any</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

/** A column header that sorts by its column (again: the other direction). */
function SortHeader({
  title,
  column,
  order,
  onSort,
}: {
  title: string;
  column: SortKey;
  order: SortOrder;
  onSort: (next: SortOrder) => void;
}) {
  const active = order.key === column;
  return (
    <th aria-sort={active ? (order.descending ? 'descending' : 'ascending') : 'none'}>
      <button
        type="button"
        className="link"
        data-testid={`history-sort-${column}`}
        onClick={() => onSort({ key: column, descending: active ? !order.descending : column === 'created' })}
      >
        {title}
        {active ? (order.descending ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );
}

/** The History screen. */
export function HistoryScreen() {
  const { api } = useStudio();
  const runs = useQuery(runsQuery(api));
  const [selected, setSelected] = useState<string[]>([]);
  const [filter, setFilter] = useState<HistoryFilter>(NO_FILTER);
  const [order, setOrder] = useState<SortOrder>(NEWEST_FIRST);
  const all = runs.data?.runs ?? [];
  const list = sortRuns(filterRuns(all, filter), order);
  const unreadable = runs.data?.unreadable ?? [];
  const select = (runId: string, on: boolean): void =>
    setSelected((prev) =>
      on
        ? [...prev.filter((id) => id !== runId), runId].slice(-MAX_COMPARED_RUNS)
        : prev.filter((id) => id !== runId),
    );
  const canCompare = selected.length >= 2 && selected.length <= MAX_COMPARED_RUNS;
  return (
    <section className="screen" aria-labelledby="screen-history">
      <header className="screen-header">
        <h1 id="screen-history">History</h1>
        <p className="screen-summary">
          Every run folder, with its name, tags, notes, metrics, events, frames and parameters.
        </p>
      </header>
      <div className="history-actions">
        <button
          type="button"
          data-testid="history-compare"
          disabled={!canCompare}
          onClick={() => navigate(['compare', ...selected])}
        >
          Compare the selected runs
        </button>
        <span className="muted" data-testid="history-selected-count">
          {' '}
          {selected.length} selected (2–{MAX_COMPARED_RUNS})
        </span>
      </div>
      {all.length > 0 && <HistoryFilters summaries={all} filter={filter} onChange={setFilter} />}
      {runs.isPending && <p className="muted">Loading runs…</p>}
      {runs.isError && <p className="error">{errorText(runs.error)}</p>}
      {runs.isSuccess && all.length === 0 && (
        <p className="muted">{unreadable.length === 0 ? 'No runs yet.' : 'No readable runs.'}</p>
      )}
      {all.length > 0 && list.length === 0 && (
        <p className="muted" data-testid="history-no-match">
          No run matches the search and filters.
        </p>
      )}
      {list.length > 0 && (
        <table className="history">
          <thead>
            <tr>
              <th>Compare</th>
              <th aria-label="Thumbnail" />
              <SortHeader title="Run" column="name" order={order} onSort={setOrder} />
              <th>Device</th>
              <th>State</th>
              <th>
                <SortHeaderButton order={order} onSort={setOrder} />
              </th>
              {METRIC_COLUMNS.map((c) => (
                <SortHeader key={c.key} title={c.title} column={c.key} order={order} onSort={setOrder} />
              ))}
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <HistoryRow
                key={r.runId}
                run={r}
                selected={selected.includes(r.runId)}
                onSelect={(on) => select(r.runId, on)}
              />
            ))}
          </tbody>
        </table>
      )}
      {unreadable.length > 0 && <UnreadableRuns folders={unreadable} />}
    </section>
  );
}

/** The Actions header doubles as "newest first" (the order History opens in). */
function SortHeaderButton({ order, onSort }: { order: SortOrder; onSort: (next: SortOrder) => void }) {
  return (
    <button
      type="button"
      className="link"
      data-testid="history-sort-created"
      onClick={() =>
        onSort({ key: 'created', descending: order.key === 'created' ? !order.descending : true })
      }
    >
      {order.key === 'created' ? (order.descending ? 'Newest first ▼' : 'Oldest first ▲') : 'By date'}
    </button>
  );
}
