// MP4 in the renderer: the run's final frames drawn onto a canvas (scaled up with nearest-neighbour so a 32 px
// clip stays crisp), encoded with WebCodecs (H.264, else VP9) and muxed by mediabunny. Where the page has no
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

/** Output edge at least this (H.264 wants even sizes; tiny clips are upscaled for viewing). */
const MIN_EDGE_PX = 256;

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('a frame could not be decoded'));
    img.src = url;
  });
}

/** An encoded video: the bytes and what they hold. */
export interface EncodedVideo {
  blob: Blob;
  codec: 'avc' | 'vp9';
  width: number;
  height: number;
  frames: number;
}

/** Encodes `frames` at `fps` into an MP4; throws when neither H.264 nor VP9 can be encoded here. */
export async function encodeMp4(frames: FrameImages['frames'], fps: number): Promise<EncodedVideo> {
  const first = frames[0];
  if (first === undefined) throw new Error('the run has no final frames to encode');
  const scale = Math.max(1, Math.ceil(MIN_EDGE_PX / Math.max(first.width, first.height)));
  const width = Math.ceil((first.width * scale) / 2) * 2;
  const height = Math.ceil((first.height * scale) / 2) * 2;
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
  ctx.imageSmoothingEnabled = false;
  const output = new Output({ format: new Mp4OutputFormat(), target: new BufferTarget() });
  const source = new CanvasSource(canvas, { codec, quality: QUALITY_HIGH });
  output.addVideoTrack(source, { frameRate: fps });
  await output.start();
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i];
    if (frame === undefined) continue;
    ctx.drawImage(await loadImage(frame.url), 0, 0, width, height);
    await source.add(i / fps, 1 / fps);
  }
  await output.finalize();
  const buffer = output.target.buffer;
  if (buffer === null) throw new Error('the muxer produced no file');
  return { blob: new Blob([buffer], { type: 'video/mp4' }), codec, width, height, frames: frames.length };
}
