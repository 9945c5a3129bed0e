// Frame-locked playback of two runs: one frame index drives both images, a wipe slider overlays B on A, and the
// diff heatmap follows the same frame.
import { useEffect, useState } from 'react';
import type { FrameImages } from '../studio/queries';
import { PlaybackControls, useFramePlayback } from './frame-playback';
import { DiffHeatmap } from './diff-heatmap';

/** Plays `a` and `b` in lockstep at `fps`, with scrubber, play toggle, wipe and diff. */
export function FramePlayer(props: {
  a: FrameImages;
  b: FrameImages;
  fps: number;
  labels: [string, string];
  onFrame?: (index: number) => void;
}) {
  const { a, b, fps, labels, onFrame } = props;
  const count = Math.min(a.frames.length, b.frames.length);
  const playback = useFramePlayback(count, fps);
  const { index } = playback;
  const [wipe, setWipe] = useState(50);
  useEffect(() => onFrame?.(index), [index, onFrame]);
  const fa = a.frames[index];
  const fb = b.frames[index];
  if (fa === undefined || fb === undefined) return <p className="muted">No frames to play yet.</p>;
  return (
    <div className="frame-player">
      <div className="frame-row">
        <figure className="frame-cell">
          <img
            data-testid="frame-a"
            data-frame-index={index}
            className="pixelated frame-img"
            src={fa.url}
            alt={`${labels[0]}, frame ${index + 1}`}
          />
          <figcaption>A · {labels[0]}</figcaption>
        </figure>
        <figure className="frame-cell">
          <img
            data-testid="frame-b"
            data-frame-index={index}
            className="pixelated frame-img"
            src={fb.url}
            alt={`${labels[1]}, frame ${index + 1}`}
          />
          <figcaption>B · {labels[1]}</figcaption>
        </figure>
        <figure className="frame-cell">
          <div className="wipe">
            <img className="pixelated frame-img" src={fa.url} alt="" />
            <img
              className="pixelated frame-img wipe-top"
              src={fb.url}
              alt=""
              style={{ clipPath: `inset(0 0 0 ${wipe}%)` }}
            />
          </div>
          <figcaption>
            wipe: A ◀ {wipe}% ▶ B
            <input
              data-testid="wipe-slider"
              type="range"
              min={0}
              max={100}
              value={wipe}
              aria-label="Wipe between A and B"
              onChange={(e) => setWipe(Number(e.target.value))}
            />
          </figcaption>
        </figure>
        <DiffHeatmap urlA={fa.url} urlB={fb.url} width={fa.width} height={fa.height} />
      </div>
      <PlaybackControls
        playback={playback}
        count={count}
        testIds={{ play: 'play-toggle', scrubber: 'frame-scrubber' }}
        label="Frame"
      />
    </div>
  );
}
