// Live preview frames: on each `preview.ready` the latest preview is read with `runs.frames` and played in a loop.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { framesQuery } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import type { PreviewMark } from '../../shared/report/run-fold';

/** Loops `count` frame indices at `fps` (0 frames: stays at 0). */
export function useFrameLoop(count: number, fps: number, playing = true): number {
  const [index, setIndex] = useState(0);
  useEffect(() => {
    if (!playing || count <= 1) return;
    const timer = setInterval(() => setIndex((i) => (i + 1) % count), 1000 / Math.max(1, fps));
    return () => clearInterval(timer);
  }, [count, fps, playing]);
  return count === 0 ? 0 : index % count;
}

/**
 * The latest preview of a run, looping (or a note that none arrived yet); once the run finished, its final frames.
 */
export function PreviewFrames(props: { runId: string; previews: readonly PreviewMark[]; finished: boolean }) {
  const { runId, previews, finished } = props;
  const { api } = useStudio();
  const latest = previews[previews.length - 1];
  const query = useQuery({
    ...framesQuery(api, runId, finished ? 'final' : 'preview', finished ? 0 : (latest?.seq ?? 0)),
    enabled: finished || latest !== undefined,
  });
  const frames = query.data?.frames ?? [];
  // While the next preview loads the previous one stays on screen: report the one actually shown.
  const shown = finished ? -1 : previews.findIndex((p) => p.seq === query.data?.stamp);
  const shownIndex = shown >= 0 ? shown : previews.length - 1;
  const index = useFrameLoop(frames.length, 8);
  const frame = frames[index];
  return (
    <figure className="viz preview">
      <figcaption>
        {finished
          ? `Result · ${frames.length} frames${frame !== undefined ? ` · ${frame.width}×${frame.height}` : ''}`
          : `Preview${latest !== undefined ? ` · step ${latest.step} · ${latest.width}×${latest.height}` : ''}`}
      </figcaption>
      {frame !== undefined ? (
        <img
          data-testid="preview-frame"
          data-preview-index={shownIndex}
          data-kind={finished ? 'final' : 'preview'}
          data-frame={frame.index}
          className="pixelated preview-img"
          src={frame.url}
          width={frame.width}
          height={frame.height}
          alt={`Preview ${previews.length} at step ${latest?.step ?? 0}, frame ${frame.index + 1} of ${frames.length}`}
        />
      ) : (
        <p className="muted">
          {latest === undefined && !finished
            ? 'No preview yet (previews arrive every few steps when enabled).'
            : 'Loading preview…'}
        </p>
      )}
      {query.isError && <p className="error">Preview unavailable: {String(query.error.message)}</p>}
    </figure>
  );
}
