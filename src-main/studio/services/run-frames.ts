/**
 * The images of a run folder, stored as PNG files as they arrive:
 *
 *     runs/<runId>/frames/0000.png            final frames (lossless: the device's RGB bytes, PNG-encoded here)
 *     runs/<runId>/previews/<seq>-<i>.png     preview frame i of the `preview.ready` event with that seq
 *
 * The latest preview set is the one with the highest seq. Reading decodes PNGs back to RGB for the metrics.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import UPNG from 'upng-js';
import type { Video } from '../../../shared/metrics/video';
import type { BinaryFrame } from '../../../shared/protocol/binary-frame';
import { encodeRgbPng } from '../../../shared/media/png';

/** Which images: the final frames or the latest previews. */
export type FrameSet = 'final' | 'preview';

const FINAL_DIR = 'frames';
const PREVIEW_DIR = 'previews';
const FINAL_NAME = /^(\d{4,})\.png$/;
const PREVIEW_NAME = /^(\d{8})-(\d{4})\.png$/;

/**
 * The PNG bytes of an image frame (`image-rgb8`, `image-rgba8` or `png`, re-encoded as RGB), or null for a
 * non-image frame or one that does not decode.
 */
export function framePng(frame: BinaryFrame): Uint8Array | null {
  if (frame.kind === 'png') {
    try {
      const { width, height, rgb } = decodePngRgb(frame.payload);
      return encodeRgbPng(rgb, width, height);
    } catch {
      return null;
    }
  }
  if (frame.kind !== 'image-rgb8' && frame.kind !== 'image-rgba8') return null;
  const [height, width, channels] = frame.dims;
  if (height === undefined || width === undefined || channels === undefined) return null;
  if (frame.payload.length !== height * width * channels) return null;
  let rgb = frame.payload;
  if (channels === 4) {
    rgb = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      rgb[p * 3] = frame.payload[p * 4]!;
      rgb[p * 3 + 1] = frame.payload[p * 4 + 1]!;
      rgb[p * 3 + 2] = frame.payload[p * 4 + 2]!;
    }
  } else if (channels !== 3) return null;
  return encodeRgbPng(rgb, width, height);
}

/** Width and height from a PNG's IHDR chunk (null when it is not a PNG). */
export function pngSize(png: Uint8Array): { width: number; height: number } | null {
  if (png.length < 24 || png[0] !== 0x89 || png[1] !== 0x50 || png[12] !== 0x49 || png[13] !== 0x48)
    return null;
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** RGB bytes of a PNG file (alpha dropped); throws when it does not decode. */
export function decodePngRgb(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const buffer = png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength) as ArrayBuffer;
  const image = UPNG.decode(buffer);
  // A file cut short (no IEND) decodes to an image without pixel data.
  if ((image.data as unknown) === undefined || image.width < 1 || image.height < 1)
    throw new Error('not a complete PNG file');
  const rgba = new Uint8Array(UPNG.toRGBA8(image)[0]!);
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let p = 0; p < image.width * image.height; p++) {
    rgb[p * 3] = rgba[p * 4]!;
    rgb[p * 3 + 1] = rgba[p * 4 + 1]!;
    rgb[p * 3 + 2] = rgba[p * 4 + 2]!;
  }
  return { width: image.width, height: image.height, rgb };
}

/** Stores final frame `index` of a run. */
export async function writeFinalFrame(runDir: string, index: number, png: Uint8Array): Promise<void> {
  await mkdir(join(runDir, FINAL_DIR), { recursive: true });
  await writeFile(join(runDir, FINAL_DIR, `${String(index).padStart(4, '0')}.png`), png);
}

/** Stores preview frame `index` of the `preview.ready` event `seq`. */
export async function writePreviewFrame(
  runDir: string,
  seq: number,
  index: number,
  png: Uint8Array,
): Promise<void> {
  await mkdir(join(runDir, PREVIEW_DIR), { recursive: true });
  const name = `${String(seq).padStart(8, '0')}-${String(index).padStart(4, '0')}.png`;
  await writeFile(join(runDir, PREVIEW_DIR, name), png);
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** The files of a frame set in frame order: every final frame, or the previews of the latest preview event. */
async function frameFiles(runDir: string, which: FrameSet): Promise<string[]> {
  if (which === 'final') {
    return (await names(join(runDir, FINAL_DIR)))
      .filter((n) => FINAL_NAME.test(n))
      .sort((a, b) => Number(FINAL_NAME.exec(a)![1]) - Number(FINAL_NAME.exec(b)![1]))
      .map((n) => join(runDir, FINAL_DIR, n));
  }
  const previews = (await names(join(runDir, PREVIEW_DIR))).filter((n) => PREVIEW_NAME.test(n)).sort();
  const latest = previews.at(-1)?.slice(0, 8);
  return previews.filter((n) => n.startsWith(`${latest}-`)).map((n) => join(runDir, PREVIEW_DIR, n));
}

/** One stored frame as the contract carries it. */
export interface StoredFramePage {
  total: number;
  frames: { index: number; width: number; height: number; png: string }[];
}

/** Frames `[from, from + limit)` of a set as base64 PNGs, and how many the set holds. */
export async function readFramePage(
  runDir: string,
  which: FrameSet,
  from: number,
  limit: number,
): Promise<StoredFramePage> {
  const files = await frameFiles(runDir, which);
  const frames: StoredFramePage['frames'] = [];
  for (const [offset, file] of files.slice(from, from + limit).entries()) {
    const png = new Uint8Array(await readFile(file));
    const size = pngSize(png);
    if (size === null) throw new Error(`${file} is not a PNG file`);
    frames.push({ index: from + offset, ...size, png: Buffer.from(png).toString('base64') });
  }
  return { total: files.length, frames };
}

/** The PNG files of a set, in frame order. */
export async function readFramePngs(runDir: string, which: FrameSet): Promise<Uint8Array[]> {
  return Promise.all((await frameFiles(runDir, which)).map(async (f) => new Uint8Array(await readFile(f))));
}

/** A run's final frames as a {@link Video} for the metrics (null when it has none). */
export async function readFinalVideo(runDir: string): Promise<Video | null> {
  const pngs = await readFramePngs(runDir, 'final');
  if (pngs.length === 0) return null;
  const decoded = pngs.map(decodePngRgb);
  const { width, height } = decoded[0]!;
  for (const [i, d] of decoded.entries()) {
    if (d.width !== width || d.height !== height)
      throw new Error(`frame ${i} is ${d.width}×${d.height}, frame 0 is ${width}×${height}`);
  }
  return { width, height, frames: decoded.map((d) => d.rgb) };
}
