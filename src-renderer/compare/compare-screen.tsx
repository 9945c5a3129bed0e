// Compare: a run against its baseline (same prompt, seed and noise, techniques off on the baseline device) or
// any two runs from History: frame-locked playback, wipe, diff heatmap, PSNR / SSIM / flicker, speedup and
// memory ratio, latency and memory overlaid; 3–4 runs from History go to multi-compare.tsx.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ExportPanel } from '../export/export-panel';
import { navigate } from '../routes';
import { errorText } from '../studio/format';
import { compareQuery, framesQuery, runQuery, runsQuery, studioKeys } from '../studio/queries';
import { useRunStore, useStudio } from '../studio/studio-context';
import { BaselineChoiceNote, useBaselineChoice } from './baseline-choice';
import { CompareMetrics, PerFrameChart } from './compare-metrics';
import { FramePlayer } from './frame-player';
import { MultiCompare, RunOverlays } from './multi-compare';

function StartBaseline({ runId, runDeviceId }: { runId: string; runDeviceId: string }) {
  const { api, readOnly } = useStudio();
  const client = useQueryClient();
  const choice = useBaselineChoice(runDeviceId);
  const start = useMutation({
    mutationFn: () => api.startBaseline({ runId }),
    onSuccess: ({ run }) => {
      void client.invalidateQueries({ queryKey: studioKeys.runs });
      navigate(['compare', runId, run.runId]);
    },
  });
  return (
    <div className="card">
      <h2>No baseline yet</h2>
      <p>
        Runs the same prompt, seed (the same initial noise), steps, CFG and size with LPL, TDTM and CI-DL off,
        then compares the two.
      </p>
      {choice !== null && <BaselineChoiceNote choice={choice} />}
      {!readOnly && choice?.ok === true && (
        <button
          type="button"
          className="primary"
          data-testid="start-baseline"
          disabled={start.isPending}
          onClick={() => start.mutate()}
        >
          Run baseline on {choice.device.name}
        </button>
      )}
      {start.isError && (
        <p className="error" role="alert">
          {errorText(start.error)}
        </p>
      )}
    </div>
  );
}

function RunStatus({ runId, label }: { runId: string; label: string }) {
  const { api } = useStudio();
  const detail = useQuery(runQuery(api, runId));
  const store = useRunStore(runId);
  const state = store?.view.state ?? detail.data?.run.state ?? '…';
  const steps = store?.view.steps.filter((s) => s?.latencyMs != null).length ?? 0;
  return (
    <p className="run-status">
      <strong>{label}</strong>{' '}
      <a href={`#/live/${encodeURIComponent(runId)}`}>{detail.data?.device.name ?? runId}</a>{' '}
      <span className="state-badge" data-state={state}>
        {state}
      </span>{' '}
      {steps > 0 && `· ${steps} steps`}
    </p>
  );
}

function Comparison({ runA, runB }: { runA: string; runB: string }) {
  const { api } = useStudio();
  const a = useQuery(runQuery(api, runA));
  const b = useQuery(runQuery(api, runB));
  const storeA = useRunStore(runA); // keeps the run details fresh while either run is live (run.updated …)
  useRunStore(runB);
  const bothDone = a.data?.run.state === 'finished' && b.data?.run.state === 'finished';
  const result = useQuery({ ...compareQuery(api, runA, runB), enabled: bothDone });
  const framesA = useQuery({
    ...framesQuery(api, runA, 'final', a.data?.run.lastSeq ?? 0),
    enabled: bothDone,
  });
  const framesB = useQuery({
    ...framesQuery(api, runB, 'final', b.data?.run.lastSeq ?? 0),
    enabled: bothDone,
  });
  const [frameIndex, setFrameIndex] = useState(0);
  // The frame rate the video has (run.finished), else the one asked for.
  const fps = storeA?.view.finished?.fps ?? a.data?.params.fps ?? 8;
  return (
    <div data-testid="compare-view" className="compare-view" data-ready={String(result.isSuccess)}>
      <RunStatus runId={runA} label="A" />
      <RunStatus runId={runB} label="B" />
      {!bothDone && <p className="muted">Waiting for both runs to finish…</p>}
      {result.isError && (
        <p className="error" role="alert">
          {errorText(result.error)}
        </p>
      )}
      {result.data !== undefined && <CompareMetrics result={result.data} frameIndex={frameIndex} />}
      {framesA.data !== undefined && framesB.data !== undefined && (
        <FramePlayer
          a={framesA.data}
          b={framesB.data}
          fps={Math.min(fps, 12)}
          labels={[a.data?.device.name ?? 'A', b.data?.device.name ?? 'B']}
          onFrame={setFrameIndex}
        />
      )}
      {result.data !== undefined && <PerFrameChart result={result.data} />}
      {bothDone && (
        <RunOverlays
          runIds={[runA, runB]}
          names={[`A · ${a.data?.device.name ?? runA}`, `B · ${b.data?.device.name ?? runB}`]}
        />
      )}
      {bothDone && <ExportPanel runIds={[runA, runB]} />}
    </div>
  );
}

function RunPicker({ runA, runB }: { runA: string | null; runB: string | null }) {
  const { api } = useStudio();
  const runs = useQuery(runsQuery(api));
  const list = runs.data?.runs ?? [];
  const pick = (which: 0 | 1, id: string): void => {
    const next: [string | null, string | null] = [runA, runB];
    next[which] = id === '' ? null : id;
    navigate(['compare', ...next.filter((v): v is string => v !== null)]);
  };
  return (
    <div className="run-picker">
      {([0, 1] as const).map((which) => (
        <label key={which}>
          Run {which === 0 ? 'A' : 'B'}{' '}
          <select
            value={(which === 0 ? runA : runB) ?? ''}
            onChange={(e) => pick(which, e.target.value)}
            disabled={which === 1 && runA === null}
          >
            <option value="">{which === 1 ? 'its baseline' : 'choose a run'}</option>
            {list.map((r) => (
              <option key={r.runId} value={r.runId}>
                {r.label ?? r.runId} · {r.deviceName} · {r.state}
              </option>
            ))}
          </select>
        </label>
      ))}
    </div>
  );
}

/** The most runs one comparison shows. */
export const MAX_COMPARED_RUNS = 4;

/** The Compare screen for `#/compare[/<runA>[/<runB>[/<runC>[/<runD>]]]]`. */
export function CompareScreen({
  runA,
  runB,
  more = [],
}: {
  runA: string | null;
  runB: string | null;
  more?: readonly string[];
}) {
  if (runA !== null && runB !== null && more.length > 0)
    return <ManyRuns runIds={[runA, runB, ...more].slice(0, MAX_COMPARED_RUNS)} />;
  return <TwoRuns runA={runA} runB={runB} />;
}

/** 3–4 runs side by side. */
function ManyRuns({ runIds }: { runIds: string[] }) {
  return (
    <section className="screen" aria-labelledby="screen-compare">
      <header className="screen-header">
        <h1 id="screen-compare">Compare</h1>
        <p className="screen-summary">
          {runIds.length} runs frame by frame, their step latency and memory on shared axes, each against the
          first.
        </p>
      </header>
      <MultiCompare runIds={runIds} />
    </section>
  );
}

/** A run and its baseline, or any two runs. */
function TwoRuns({ runA, runB }: { runA: string | null; runB: string | null }) {
  const { api } = useStudio();
  const runs = useQuery({ ...runsQuery(api), enabled: runA === null });
  const fallbackA =
    runs.data?.runs.find((r) => r.state === 'finished')?.runId ?? runs.data?.runs[0]?.runId ?? null;
  const first = runA ?? fallbackA;
  const detailA = useQuery({ ...runQuery(api, first ?? '-'), enabled: first !== null });
  // A baseline run on its own is compared as the B side of the run it was made for.
  const baselineOf = runB === null ? (detailA.data?.baselineOf ?? null) : null;
  const a = baselineOf ?? first;
  const b = baselineOf !== null ? first : (runB ?? detailA.data?.baselineRunId ?? null);
  return (
    <section className="screen" aria-labelledby="screen-compare">
      <header className="screen-header">
        <h1 id="screen-compare">Compare</h1>
        <p className="screen-summary">A run next to its baseline (or any two runs), frame by frame.</p>
      </header>
      <RunPicker runA={a} runB={b} />
      {a === null && <p className="muted">No run yet: start one from the Composer.</p>}
      {a !== null && b === null && detailA.isSuccess && (
        <StartBaseline runId={a} runDeviceId={detailA.data.run.deviceId} />
      )}
      {a !== null && b !== null && <Comparison runA={a} runB={b} />}
    </section>
  );
}
