// Frame-locked playback shared by the two-run player and the 3–4 run grid: one frame index (looping while playing,
// else the scrubber's), a play/pause toggle and a scrubber.
import { useState } from 'react';
import { useFrameLoop } from '../live/preview-frames';

/** The shared frame index and what moves it. */
export interface FramePlayback {
  index: number;
  playing: boolean;
  /** Play, or pause on the frame shown. */
  toggle(): void;
  /** Pause and show frame `i`. */
  seek(i: number): void;
}

/** Playback of `count` frames at `fps`. */
export function useFramePlayback(count: number, fps: number): FramePlayback {
  const [playing, setPlaying] = useState(false);
  const [manual, setManual] = useState(0);
  const looped = useFrameLoop(count, fps, playing);
  return {
    index: playing ? looped : Math.min(manual, Math.max(0, count - 1)),
    playing,
    toggle: () => {
      if (playing) setManual(looped);
      setPlaying(!playing);
    },
    seek: (i) => {
      setPlaying(false);
      setManual(i);
    },
  };
}

/** Play/pause, scrubber and "frame i / n" for one {@link FramePlayback}. */
export function PlaybackControls(props: {
  playback: FramePlayback;
  count: number;
  testIds: { play: string; scrubber: string };
  /** The scrubber's accessible name. */
  label: string;
  playDisabled?: boolean;
}) {
  const { playback, count, testIds, label, playDisabled } = props;
  return (
    <div className="player-controls">
      <button type="button" data-testid={testIds.play} disabled={playDisabled} onClick={playback.toggle}>
        {playback.playing ? 'Pause' : 'Play'}
      </button>
      <input
        data-testid={testIds.scrubber}
        type="range"
        min={0}
        max={Math.max(0, count - 1)}
        value={playback.index}
        aria-label={label}
        onChange={(e) => playback.seek(Number(e.target.value))}
      />
      <span>
        frame {Math.min(playback.index + 1, count)} / {count}
      </span>
    </div>
  );
}
