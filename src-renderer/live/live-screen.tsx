// Live run: the step timeline, phase breakdown, residency lanes and previews of one run, folded from pushed events
// (caught up with `runs.events` when opened late). A finished run opened from History replays the same way,
// read-only.
import { useMutation, useQuery } from '@tanstack/react-query';
import { ExportPanel } from '../export/export-panel';
import { TraceExport } from '../export/trace-export';
import { navigate } from '../routes';
import { formatBytes } from '../../shared/format';
import { errorText, formatMs } from '../studio/format';
import { devicesQuery, runQuery, runsQuery } from '../studio/queries';
import { RunNotesInline } from '../history/run-notes-editor';
import { useRunStore, useStoreUpdates, useStudio } from '../studio/studio-context';
import { useReplay } from './replay';
import type { RunStore } from './run-store';
import { PhaseBreakdown } from './phase-breakdown';
import { PreviewFrames } from './preview-frames';
import { ResidencyLanes } from './residency-lanes';
import { StepTimeline } from './step-timeline';
import { ThermalBadge } from './thermal-badge';
import type { RunState } from '../../shared/protocol/run';
import type { RunDetail } from '../../shared/protocol/studio-contract';

const TERMINAL: readonly RunState[] = ['finished', 'failed', 'cancelled', 'interrupted'];

/** The state to show: a terminal state from the studio's record wins (it knows about interruptions). */
function displayState(store: RunStore | null, detail: RunDetail | undefined): RunState | 'loading' {
  const recorded = detail?.run.state;
  if (recorded !== undefined && TERMINAL.includes(recorded)) return recorded;
  return store?.view.state ?? recorded ?? 'loading';
}

/** Elapsed engine time of a run so far (its total once finished). */
export function elapsedMs(store: RunStore | null): number | null {
  const v = store?.view;
  if (v === undefined) return null;
  if (v.finished !== null) return v.finished.totalMs;
  return v.firstAtMs !== null && v.lastAtMs !== null ? v.lastAtMs - v.firstAtMs : null;
}

/** The run's views; `replaying` while a replay plays into `store`. */
function RunPanels({
  runId,
  store,
  detail,
  replaying = false,
}: {
  runId: string;
  store: RunStore | null;
  detail?: RunDetail;
  replaying?: boolean;
}) {
  const view = store?.view;
  const recorded = detail?.run.state;
  const endedAs = recorded !== undefined && TERMINAL.includes(recorded) ? recorded : null;
  return (
    <div className="run-panels">
      <StepTimeline store={store} totalSteps={detail?.params.steps ?? null} />
      <ResidencyLanes store={store} />
      <div className="run-panels-row">
        {view !== undefined && (
          <PhaseBreakdown
            view={view}
            stamp={view.phasesVersion + view.stepsVersion}
            replaying={replaying}
            endedAs={endedAs}
          />
        )}
        <PreviewFrames runId={runId} previews={view?.previews ?? []} finished={view?.state === 'finished'} />
      </div>
    </div>
  );
}

function RunHeader({ runId, store, detail }: { runId: string; store: RunStore | null; detail?: RunDetail }) {
  const { api, readOnly } = useStudio();
  const state = displayState(store, detail);
  const cancel = useMutation({ mutationFn: () => api.cancelRun({ runId }) });
  const devices = useQuery(devicesQuery(api));
  const view = store?.view;
  const device = devices.data?.devices.find((d) => d.id === detail?.run.deviceId);
  return (
    <header className="screen-header run-header">
      <h1 id="screen-live">{detail?.params.prompt ?? runId}</h1>
      <p className="screen-summary">
        <span className="state-badge" data-testid="run-state" data-state={state}>
          {state}
        </span>{' '}
        {detail !== undefined &&
          `${detail.device.name} (${detail.device.model}) · seed ${detail.params.seed}`}
        {' · '}elapsed {formatMs(elapsedMs(store))} · peak {formatBytes(view?.peakResidentBytes)}
        {detail?.run.interruption != null && ` · interrupted (${detail.run.interruption.reason})`}
        {view?.failure != null && ` · ${view.failure}`}{' '}
        {view !== undefined && (
          <ThermalBadge
            start={view.thermal.start}
            end={view.thermal.end}
            now={device?.thermalState}
            ended={TERMINAL.includes(state as RunState)}
          />
        )}
      </p>
      {detail !== undefined && <RunNotesInline run={detail.run} />}
      {!readOnly && (state === 'running' || state === 'queued') && (
        <button
          type="button"
          data-testid="cancel-run"
          onClick={() => cancel.mutate()}
          disabled={cancel.isPending}
        >
          Cancel run
        </button>
      )}
      {cancel.isError && <p className="error">{errorText(cancel.error)}</p>}
      {store?.error != null && <p className="error">Catching up failed: {store.error}</p>}
      {detail?.baselineRunId != null && (
        <button type="button" onClick={() => navigate(['compare', runId, detail.baselineRunId ?? ''])}>
          Compare with its baseline
        </button>
      )}
      {detail !== undefined &&
        detail.baselineRunId === null &&
        detail.baselineOf === null &&
        state === 'finished' && (
          <button type="button" onClick={() => navigate(['compare', runId])}>
            Compare with a baseline…
          </button>
        )}
    </header>
  );
}

/** The Live run screen for `runId`, or for the newest run when none is named. */
export function LiveScreen({ runId }: { runId: string | null }) {
  const { api } = useStudio();
  const runs = useQuery({ ...runsQuery(api), enabled: runId === null });
  const newest = runs.data?.runs.find((r) => r.stream === 'live') ?? runs.data?.runs[0];
  const id = runId ?? newest?.runId ?? null;
  const detail = useQuery({ ...runQuery(api, id ?? '-'), enabled: id !== null });
  const live = useRunStore(id);
  const replay = useReplay(api, id ?? '-');
  useStoreUpdates(replay.store);
  const store = replay.store ?? live;
  if (id === null) {
    return (
      <section className="screen">
        <header className="screen-header">
          <h1 id="screen-live">Live run</h1>
          <p className="screen-summary">
            {runs.isPending ? 'Loading runs…' : 'No run yet: start one from the Composer.'}
          </p>
        </header>
      </section>
    );
  }
  return (
    <section className="screen" aria-labelledby="screen-live">
      <RunHeader runId={id} store={store} detail={detail.data} />
      {detail.data !== undefined && TERMINAL.includes(detail.data.run.state) && (
        <div className="replay-controls" role="group" aria-label="Replay">
          {[1, 4, 16].map((speed) => (
            <button
              key={speed}
              type="button"
              data-testid={speed === 1 ? 'replay-run' : undefined}
              onClick={() => replay.play(speed)}
            >
              Replay {speed}×
            </button>
          ))}
          {replay.store !== null && (
            <button type="button" onClick={replay.stop}>
              {replay.playing ? 'Stop replay' : 'Back to the stored run'}
            </button>
          )}
          {replay.playing && <span className="muted">replaying the stored events…</span>}
          {replay.error !== null && <span className="error">{replay.error}</span>}
          <TraceExport runId={id} />
        </div>
      )}
      {detail.isError && <p className="error">{errorText(detail.error)}</p>}
      <RunPanels runId={id} store={store} detail={detail.data} replaying={replay.playing} />
      {detail.data?.run.state === 'finished' && (
        <ExportPanel runIds={detail.data.baselineRunId !== null ? [id, detail.data.baselineRunId] : [id]} />
      )}
    </section>
  );
}
