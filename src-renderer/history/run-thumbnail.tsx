// A finished run's middle final frame as a small thumbnail in History, read with `runs.frames` (one frame) only
// once its row scrolls into view.
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { RunSummary } from '../../shared/protocol/studio-contract';
import { useStudio } from '../studio/studio-context';

/** Thumbnail edge in CSS pixels. */
const THUMB_PX = 48;

/** True once the element has been near the viewport (at once where IntersectionObserver is missing). */
function useSeen<T extends Element>(): [React.RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (seen || el === null) return;
    if (typeof IntersectionObserver === 'undefined') {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setSeen(true);
      },
      { rootMargin: '200px' },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [seen]);
  return [ref, seen];
}

/** The run's middle final frame (nothing for a run without final frames). */
export function RunThumbnail({ run }: { run: RunSummary }) {
  const { api } = useStudio();
  const [ref, seen] = useSeen<HTMLDivElement>();
  const frames = run.metrics?.frames ?? 0;
  const index = Math.floor(frames / 2);
  const thumb = useQuery({
    queryKey: ['runs', run.runId, 'thumbnail', index],
    queryFn: () => api.getRunFrames({ runId: run.runId, which: 'final', from: index, limit: 1 }),
    enabled: seen && run.state === 'finished' && frames > 0,
    staleTime: Infinity,
  });
  const frame = thumb.data?.frames[0];
  return (
    <div ref={ref} className="history-thumb" style={{ width: THUMB_PX, height: THUMB_PX }}>
      {frame !== undefined && (
        <img
          data-testid="history-thumbnail"
          className="pixelated"
          width={THUMB_PX}
          height={THUMB_PX}
          src={`data:image/png;base64,${frame.png}`}
          alt={`frame ${frame.index + 1} of ${run.label ?? run.runId}`}
        />
      )}
    </div>
  );
}
