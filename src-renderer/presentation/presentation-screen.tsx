// Presentation mode: full screen, large type; the device's live run next to its baseline, with the key numbers
// (step, elapsed, speedup, memory) readable from the back of a room.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import type { RunDetail } from '../../shared/protocol/studio-contract';
import { latencyAxisTop } from '../../shared/report/axes';
import { elapsedMs } from '../live/live-screen';
import { PreviewFrames } from '../live/preview-frames';
import { ResidencyLanes } from '../live/residency-lanes';
import type { RunStore } from '../live/run-store';
import { drawnSteps, maxStepLatency, StepTimeline } from '../live/step-timeline';
import { formatBytes } from '../../shared/format';
import { formatMs, formatNumber } from '../studio/format';
import { compareQuery, runQuery, runsQuery } from '../studio/queries';
import { useRunStore, useStudio } from '../studio/studio-context';

/** The axes both sides share, so the same bar or curve height means the same on each. */
interface SharedAxes {
  latencyTopMs: number;
  peakBytes: number;
}

function Side(props: {
  title: string;
  runId: string;
  store: RunStore | null;
  detail?: RunDetail;
  axes: SharedAxes;
}) {
  const { title, runId, store, detail, axes } = props;
  return (
    <div className="pres-side">
      <h2>
        {title} <span className="muted">{detail?.device.name ?? ''}</span>
      </h2>
      <StepTimeline
        store={store}
        totalSteps={detail?.params.steps ?? null}
        latencyTopMs={axes.latencyTopMs}
      />
      <div className="pres-side-row">
        <PreviewFrames
          runId={runId}
          previews={store?.view.previews ?? []}
          finished={store?.view.state === 'finished'}
        />
        <ResidencyLanes store={store} sharedPeakBytes={axes.peakBytes} />
      </div>
    </div>
  );
}

function BigNumber({ id, label, value, note }: { id: string; label: string; value: string; note?: string }) {
  return (
    <div className="big-number">
      <span className="big-label">{label}</span>
      <strong data-testid={id}>{value}</strong>
      {note !== undefined && <small className="big-sub">{note}</small>}
    </div>
  );
}

/** Speedup: the baseline's wall time over the run's, once both are known. */
function speedupOf(run: RunDetail | undefined, baseline: RunDetail | undefined): number | null {
  const a = run?.wallMs;
  const b = baseline?.wallMs;
  return a != null && b != null && a > 0 ? b / a : null;
}

/** The Presentation screen for `runId` (default: the newest run that is not a baseline of another). */
export function PresentationScreen({ runId }: { runId: string | null }) {
  const { api } = useStudio();
  const root = useRef<HTMLElement | null>(null);
  const toggleFullscreen = (): void => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void root.current?.requestFullscreen?.();
  };
  // "f" toggles full screen (Esc leaves it, as everywhere).
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key !== 'f' || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
      if (document.fullscreenElement) void document.exitFullscreen();
      else void root.current?.requestFullscreen?.();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const runs = useQuery({ ...runsQuery(api), enabled: runId === null });
  const id = runId ?? runs.data?.runs[0]?.runId ?? null;
  const detail = useQuery({ ...runQuery(api, id ?? '-'), enabled: id !== null });
  // Opened on a baseline run: show the run it is the baseline of, with this one beside it.
  const mainId = detail.data?.baselineOf ?? id;
  const main = useQuery({ ...runQuery(api, mainId ?? '-'), enabled: mainId !== null });
  const baselineId = main.data?.baselineRunId ?? null;
  const baseline = useQuery({ ...runQuery(api, baselineId ?? '-'), enabled: baselineId !== null });
  const store = useRunStore(mainId);
  const baseStore = useRunStore(baselineId);
  const total = main.data?.params.steps ?? null;
  const done = store !== null ? drawnSteps(store.view) : 0;
  const bothDone = main.data?.run.state === 'finished' && baseline.data?.run.state === 'finished';
  // The same numbers Compare shows (one cached `runs.compare`), so the room sees what the comparison computed.
  const compared = useQuery({
    ...compareQuery(api, mainId ?? '-', baselineId ?? '-'),
    enabled: bothDone && mainId !== null && baselineId !== null,
  });
  const speedup = compared.data?.timing.speedup ?? speedupOf(main.data, baseline.data);
  const peak = store?.view.peakResidentBytes ?? null;
  const basePeak = baseStore?.view.peakResidentBytes ?? null;
  const memory = peak !== null && peak > 0 ? formatBytes(peak) : '—';
  const axes: SharedAxes = {
    latencyTopMs: latencyAxisTop([
      [store !== null ? maxStepLatency(store.view) : 0],
      [baseStore !== null ? maxStepLatency(baseStore.view) : 0],
    ]),
    peakBytes: Math.max(peak ?? 0, basePeak ?? 0),
  };
  const ratio =
    compared.data?.memory.ratio ??
    (peak !== null && basePeak !== null && basePeak > 0 ? peak / basePeak : null);
  const memoryNote =
    ratio !== null && basePeak !== null && basePeak > 0
      ? `${formatNumber(ratio * 100, 0)} % of the baseline's ${formatBytes(basePeak)}`
      : undefined;
  return (
    <section
      className="screen presentation"
      data-testid="presentation-view"
      ref={root}
      aria-label="Presentation"
    >
      <div className="pres-bar">
        <BigNumber id="pres-step" label="step" value={total !== null ? `${done} / ${total}` : String(done)} />
        <BigNumber id="pres-elapsed" label="elapsed" value={formatMs(elapsedMs(store))} />
        <BigNumber
          id="pres-speedup"
          label="speedup"
          value={speedup !== null ? `${formatNumber(speedup, 2)}×` : '—'}
        />
        <BigNumber id="pres-memory" label="peak memory" value={memory} note={memoryNote} />
        <button
          type="button"
          className="fullscreen-toggle"
          title="Full screen (f)"
          onClick={toggleFullscreen}
        >
          Full screen
        </button>
        <a className="pres-exit" href={mainId !== null ? `#/live/${encodeURIComponent(mainId)}` : '#/live'}>
          Leave presentation
        </a>
      </div>
      {mainId === null ? (
        <p className="big-note">Waiting for a run…</p>
      ) : (
        <div className="pres-sides">
          <Side title="On device" runId={mainId} store={store} detail={main.data} axes={axes} />
          {baselineId !== null ? (
            <Side title="Baseline" runId={baselineId} store={baseStore} detail={baseline.data} axes={axes} />
          ) : (
            <div className="pres-side">
              <h2>Baseline</h2>
              <p className="big-note">No baseline run yet (Compare → Run baseline).</p>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
