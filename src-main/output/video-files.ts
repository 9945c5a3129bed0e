/**
 * Writing a generated video: one PNG per frame and an animated PNG (APNG), both truecolour (shared/media/png), at the native size, and a
 * GIF (gifenc) upscaled with nearest-neighbour so small videos are viewable (the smaller side reaches ≥ 256 px).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GIFEncoder, applyPalette, quantize } from 'gifenc';
import { encodeRgbApng, encodeRgbPng } from '../../shared/media/png';

/** Interleaved 8-bit RGB frames (GenerateResult.frames). */
export interface RgbFrames {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly frames: readonly Uint8Array[];
}

/** What was written, relative to the output directory. */
export interface VideoFiles {
  frames: string[];
  apng: { file: string; width: number; height: number; frameDelayMs: number };
  gif: { file: string; width: number; height: number; scale: number; frameDelayMs: number; note: string };
}

/** The smaller side of the GIF reaches at least this many pixels (nearest-neighbour upscaling). */
const GIF_MIN_SIDE_PX = 256;

/** RGB → RGBA (alpha 255), optionally upscaled by an integer factor with nearest-neighbour. */
function toRgba(rgb: Uint8Array, width: number, height: number, scale = 1): Uint8Array {
  const W = width * scale;
  const H = height * scale;
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < W; x++) {
      const s = (sy * width + Math.floor(x / scale)) * 3;
      const d = (y * W + x) * 4;
      out[d] = rgb[s] as number;
      out[d + 1] = rgb[s + 1] as number;
      out[d + 2] = rgb[s + 2] as number;
      out[d + 3] = 255;
    }
  }
  return out;
}

/** Lossless PNG of one RGB frame (truecolour, shared/media/png). */
export function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  return encodeRgbPng(rgb, width, height);
}

/** Lossless APNG of all frames, each shown `delayMs` (truecolour, shared/media/png). */
export function encodeApng(v: RgbFrames, delayMs: number): Uint8Array {
  return encodeRgbApng(v.frames, v.width, v.height, delayMs);
}

/** GIF of all frames, upscaled by `scale`, a 256-colour palette per frame, looping forever. */
export function encodeGif(v: RgbFrames, delayMs: number, scale: number): Uint8Array {
  const gif = GIFEncoder();
  const W = v.width * scale;
  const H = v.height * scale;
  for (const f of v.frames) {
    const rgba = toRgba(f, v.width, v.height, scale);
    const palette = quantize(rgba, 256);
    gif.writeFrame(applyPalette(rgba, palette), W, H, { palette, delay: delayMs, repeat: 0 });
  }
  gif.finish();
  return gif.bytes();
}

/** The GIF's integer upscale factor: the smallest that makes the smaller side ≥ GIF_MIN_SIDE_PX (at least 1). */
export function gifScale(width: number, height: number): number {
  return Math.max(1, Math.ceil(GIF_MIN_SIDE_PX / Math.min(width, height)));
}

/** Writes `frames/0000.png …`, `video.png` (APNG) and `video.gif` into `outDir`. */
export async function writeVideoFiles(outDir: string, v: RgbFrames, fps: number): Promise<VideoFiles> {
  await mkdir(join(outDir, 'frames'), { recursive: true });
  const pad = Math.max(4, String(v.frames.length - 1).length);
  const frames: string[] = [];
  for (const [i, f] of v.frames.entries()) {
    const rel = `frames/${String(i).padStart(pad, '0')}.png`;
    await writeFile(join(outDir, rel), encodePng(f, v.width, v.height));
    frames.push(rel);
  }
  const delayMs = 1000 / fps;
  await writeFile(join(outDir, 'video.png'), encodeApng(v, Math.round(delayMs)));
  const scale = gifScale(v.width, v.height);
  await writeFile(join(outDir, 'video.gif'), encodeGif(v, delayMs, scale));
  return {
    frames,
    apng: { file: 'video.png', width: v.width, height: v.height, frameDelayMs: Math.round(delayMs) },
    gif: {
      file: 'video.gif',
      width: v.width * scale,
      height: v.height * scale,
      scale,
      frameDelayMs: Math.round(delayMs / 10) * 10,
      note: `upscaled ${scale}× with nearest-neighbour for viewing; GIF delays are in 1/100 s and palettes are 256 colours per frame (the PNGs are exact)`,
    },
  };
}
