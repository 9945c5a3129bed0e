// MP4 in the renderer: the final frames of a run, or of a run and its baseline side by side (A | B), each under a
// label band naming it, drawn onto a canvas (scaled up with nearest-neighbour so a 32 px clip stays crisp), encoded
// with WebCodecs (H.264, else VP9) at the video's own fps and muxed by mediabunny. Where the page has no
// VideoEncoder the caller falls back to the GIF that `reports.export` writes.
import {
  BufferTarget,
  CanvasSource,
  Mp4OutputFormat,
  Output,
  QUALITY_HIGH,
  canEncodeVideo,
} from 'mediabunny';
import type { FrameImages } from '../studio/queries';

/** Each side's picture edge at least this (H.264 wants even sizes; tiny clips are upscaled for viewing). */
const MIN_EDGE_PX = 256;
/** Height of the label band above the pictures, and the gap between the two sides. */
const LABEL_BAND_PX = 28;
const GAP_PX = 8;
const BACKGROUND = '#0b0d12';
const LABEL_COLOUR = '#ffffff';

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('a frame could not be decoded'));
    img.src = url;
  });
}

/** One side of the video: a run's final frames and the label drawn above them. */
export interface VideoSide {
  label: string;
  frames: FrameImages['frames'];
}

/** An encoded video: the bytes and what they hold. */
export interface EncodedVideo {
  blob: Blob;
  codec: 'avc' | 'vp9';
  width: number;
  height: number;
  frames: number;
  fps: number;
}

/** Where each side's picture lies in the video (CSS pixels of the canvas), for the encoder and for tests. */
export interface VideoLayout {
  width: number;
  height: number;
  pictures: { x: number; y: number; width: number; height: number }[];
}

/** The layout of `sides` (all the size of the first side's first frame) under a label band. */
export function videoLayout(frameWidth: number, frameHeight: number, sides: number): VideoLayout {
  const scale = Math.max(1, Math.ceil(MIN_EDGE_PX / Math.max(frameWidth, frameHeight)));
  const w = frameWidth * scale;
  const h = frameHeight * scale;
  const width = Math.ceil((w * sides + GAP_PX * (sides - 1)) / 2) * 2;
  const height = Math.ceil((h + LABEL_BAND_PX) / 2) * 2;
  const pictures = Array.from({ length: sides }, (_, i) => ({
    x: i * (w + GAP_PX),
    y: LABEL_BAND_PX,
    width: w,
    height: h,
  }));
  return { width, height, pictures };
}

/**
 * Encodes `sides` (one run, or a run and its baseline) side by side at `fps` into an MP4, each side labelled; as
 * many frames as the longest side (a shorter side holds its last frame). Throws when neither H.264 nor VP9 can be
 * encoded here.
 */
export async function encodeMp4(sides: readonly VideoSide[], fps: number): Promise<EncodedVideo> {
  const first = sides[0]?.frames[0];
  if (first === undefined) throw new Error('the run has no final frames to encode');
  const layout = videoLayout(first.width, first.height, sides.length);
  const { width, height } = layout;
  let codec: 'avc' | 'vp9' | null = null;
  for (const c of ['avc', 'vp9'] as const) {
    if (await canEncodeVideo(c, { width, height })) {
      codec = c;
      break;
    }
  }
  if (codec === null) throw new Error('this browser can encode neither H.264 nor VP9');
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('no 2D canvas to draw the frames on');
  const output = new Output({ format: new Mp4OutputFormat(), target: new BufferTarget() });
  const source = new CanvasSource(canvas, { codec, quality: QUALITY_HIGH });
  output.addVideoTrack(source, { frameRate: fps });
  await output.start();
  const count = Math.max(...sides.map((s) => s.frames.length));
  for (let i = 0; i < count; i++) {
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, width, height);
    ctx.imageSmoothingEnabled = false;
    for (let k = 0; k < sides.length; k++) {
      const side = sides[k]!;
      const box = layout.pictures[k]!;
      const frame = side.frames[Math.min(i, side.frames.length - 1)];
      if (frame !== undefined) ctx.drawImage(await loadImage(frame.url), box.x, box.y, box.width, box.height);
      ctx.fillStyle = LABEL_COLOUR;
      ctx.font = `bold ${LABEL_BAND_PX - 10}px system-ui, sans-serif`;
      ctx.textBaseline = 'middle';
      ctx.fillText(side.label, box.x + 6, LABEL_BAND_PX / 2, box.width - 12);
    }
    await source.add(i / fps, 1 / fps);
  }
  await output.finalize();
  const buffer = output.target.buffer;
  if (buffer === null) throw new Error('the muxer produced no file');
  return { blob: new Blob([buffer], { type: 'video/mp4' }), codec, width, height, frames: count, fps };
}
