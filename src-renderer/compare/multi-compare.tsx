// Compare 3–4 runs picked in History (`#/compare/<a>/<b>/<c>[/<d>]`): their final frames in a grid, frame-locked
// (one slider and one play button move every pane), step latency and resident memory overlaid on shared axes, and
// each run's quality (PSNR, SSIM, flicker) and speed against the first run with `runs.compare`.
import { useQuery } from '@tanstack/react-query';
import type { RunSummary } from '../../shared/protocol/studio-contract';
import { measuresOf } from '../../shared/report/measures';
import { errorText, formatMs, formatNumber } from '../studio/format';
import { compareQuery, framesQuery, runsQuery } from '../studio/queries';
import { useRunStore, useStudio } from '../studio/studio-context';
import { PlaybackControls, useFramePlayback } from './frame-playback';
import { RUN_COLOURS, RunOverlayCharts, type OverlayRun } from './overlay-charts';

/** Frames of the grid per second while playing. */
const GRID_FPS = 8;

const nameOf = (run: RunSummary | undefined, runId: string): string => run?.label ?? runId;

/** One run's final frame at the shared index. */
function FramePane({
  run,
  runId,
  index,
  colour,
}: {
  run?: RunSummary;
  runId: string;
  index: number;
  colour: string;
}) {
  const { api } = useStudio();
  const finished = run?.state === 'finished';
  const frames = useQuery({ ...framesQuery(api, runId, 'final', run?.lastSeq ?? 0), enabled: finished });
  const frame = frames.data?.frames[Math.min(index, (frames.data?.frames.length ?? 1) - 1)];
  return (
    <figure className="frame-cell" style={{ borderTop: `4px solid ${colour}` }}>
      {frame !== undefined ? (
        <img
          data-testid="multi-frame"
          data-run-id={runId}
          data-frame-index={frame.index}
          className="pixelated frame-img"
          src={frame.url}
          alt={`${nameOf(run, runId)}, frame ${frame.index + 1}`}
        />
      ) : (
        <p className="muted">
          {finished ? 'Loading frames…' : `This run is ${run?.state ?? '…'}: no frames.`}
        </p>
      )}
      <figcaption>
        {nameOf(run, runId)} · {run?.deviceName ?? ''}
      </figcaption>
    </figure>
  );
}

/** One run's numbers against the first run. */
function QualityRow({ run, runId, first }: { run?: RunSummary; runId: string; first: string }) {
  const { api } = useStudio();
  const bothFinished = run?.state === 'finished';
  const result = useQuery({ ...compareQuery(api, runId, first), enabled: bothFinished && runId !== first });
  const r = result.data;
  return (
    <tr data-testid="multi-quality-row" data-run-id={runId}>
      <td>{nameOf(run, runId)}</td>
      <td className="num">{formatMs(run?.metrics?.wallMs)}</td>
      {runId === first ? (
        <td colSpan={4} className="muted">
          the reference
        </td>
      ) : r !== undefined ? (
        <>
          <td className="num" data-testid="multi-psnr">
            {formatNumber(r.clip.psnr, 2)} dB
          </td>
          <td className="num">{formatNumber(r.clip.ssim, 4)}</td>
          <td className="num">{formatNumber(r.clip.flickerA, 4)}</td>
          <td className="num">{r.timing.speedup === null ? '—' : `${formatNumber(r.timing.speedup, 2)}×`}</td>
        </>
      ) : (
        <td colSpan={4} className={result.isError ? 'error' : 'muted'}>
          {result.isError ? errorText(result.error) : bothFinished ? 'Comparing…' : 'not finished'}
        </td>
      )}
    </tr>
  );
}

/** The overlay charts of up to four runs, from their stored events (shared with the other views of the runs). */
export function RunOverlays({ runIds, names }: { runIds: readonly string[]; names: readonly string[] }) {
  const stores = [
    useRunStore(runIds[0] ?? null),
    useRunStore(runIds[1] ?? null),
    useRunStore(runIds[2] ?? null),
    useRunStore(runIds[3] ?? null),
  ];
  const runs: OverlayRun[] = [];
  stores.forEach((store, i) => {
    if (store === null || i >= runIds.length) return;
    const { originMs, phases } = store.view;
    runs.push({
      runId: store.runId,
      label: names[i] ?? store.runId,
      measures: measuresOf(store.view),
      startAtMs: (phases.load.startMs ?? originMs ?? 0) - (originMs ?? 0),
    });
  });
  return <RunOverlayCharts runs={runs} />;
}

/** The N-run comparison. */
export function MultiCompare({ runIds }: { runIds: readonly string[] }) {
  const { api } = useStudio();
  const list = useQuery(runsQuery(api));
  const summaries = runIds.map((id) => list.data?.runs.find((r) => r.runId === id));
  const counts = summaries.map((s) => s?.metrics?.frames ?? 0);
  const count = Math.max(0, Math.min(...counts));
  const playback = useFramePlayback(count, GRID_FPS);
  const { index } = playback;
  const first = runIds[0]!;
  return (
    <div data-testid="multi-compare" className="compare-view" data-runs={runIds.length}>
      <div className="compare-grid">
        {runIds.map((id, i) => (
          <FramePane key={id} runId={id} run={summaries[i]} index={index} colour={RUN_COLOURS[i]!} />
        ))}
      </div>
      <PlaybackControls
        playback={playback}
        count={count}
        testIds={{ play: 'multi-play', scrubber: 'multi-frame-scrubber' }}
        label="Frame of every run"
        playDisabled={count <= 1}
      />
      <table className="history">
        <thead>
          <tr>
            <th>Run</th>
            <th>Wall</th>
            <th>PSNR vs first</th>
            <th>SSIM vs first</th>
            <th>Flicker (1 = steady)</th>
            <th>Speed-up vs first</th>
          </tr>
        </thead>
        <tbody>
          {runIds.map((id, i) => (
            <QualityRow key={id} runId={id} run={summaries[i]} first={first} />
          ))}
        </tbody>
      </table>
      <RunOverlays runIds={runIds} names={runIds.map((id, i) => nameOf(summaries[i], id))} />
    </div>
  );
}
