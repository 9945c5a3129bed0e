// History: every run folder, newest first; reopen (Live run in read-only replay), delete, run again with the same
// parameters, pick two to compare. Runs the studio stopped following (restart, lost device) are marked; folders
// that cannot be read as runs are listed with why, and a run whose stored events had damage says what was skipped.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { RunParams } from '../../shared/protocol/run';
import type { RunSummary, UnreadableRun } from '../../shared/protocol/studio-contract';
import { navigate } from '../routes';
import { formatBytes } from '../../shared/format';
import { errorText, formatWhen } from '../studio/format';
import { runQuery, runsQuery, studioKeys } from '../studio/queries';
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

function RunSettings({ runId }: { runId: string }) {
  const { api } = useStudio();
  const detail = useQuery({ ...runQuery(api, runId), staleTime: Infinity });
  if (detail.data === undefined) return null;
  return (
    <>
      <p className="run-settings muted">
        “{detail.data.params.prompt}” · {settingsLine(detail.data.params)}
      </p>
      {detail.data.eventLogProblem !== null && (
        <p className="run-settings error" data-testid="history-event-log-problem">
          {detail.data.eventLogProblem}
        </p>
      )}
    </>
  );
}

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
        <strong>{run.label ?? run.runId}</strong>
        <br />
        <small className="muted">{formatWhen(run.createdAtEpochMs)}</small>
        <RunSettings runId={run.runId} />
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
    </tr>
  );
}

/** The History screen. */
export function HistoryScreen() {
  const { api } = useStudio();
  const runs = useQuery(runsQuery(api));
  const [selected, setSelected] = useState<string[]>([]);
  const list = runs.data?.runs ?? [];
  const unreadable = runs.data?.unreadable ?? [];
  const select = (runId: string, on: boolean): void =>
    setSelected((prev) =>
      on ? [...prev.filter((id) => id !== runId), runId].slice(-2) : prev.filter((id) => id !== runId),
    );
  return (
    <section className="screen" aria-labelledby="screen-history">
      <header className="screen-header">
        <h1 id="screen-history">History</h1>
        <p className="screen-summary">Every run folder, with its events, frames and parameters.</p>
      </header>
      <div className="history-actions">
        <button
          type="button"
          disabled={selected.length !== 2}
          onClick={() => navigate(['compare', ...selected])}
        >
          Compare the two selected runs
        </button>
        <span className="muted"> {selected.length}/2 selected</span>
      </div>
      {runs.isPending && <p className="muted">Loading runs…</p>}
      {runs.isError && <p className="error">{errorText(runs.error)}</p>}
      {runs.isSuccess && list.length === 0 && (
        <p className="muted">{unreadable.length === 0 ? 'No runs yet.' : 'No readable runs.'}</p>
      )}
      {list.length > 0 && (
        <table className="history">
          <thead>
            <tr>
              <th>Compare</th>
              <th>Run</th>
              <th>Device</th>
              <th>State</th>
              <th>Actions</th>
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
