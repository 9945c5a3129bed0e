// The video Compare exports holds both runs side by side (A | B), each under a label, plays at the frame rate the run
// reported (the model's 24 fps when the job leaves fps unset, not 8), and lands in the same report folder as the
// rest of the export. `odsora studio --web` as a child process with its built-in device, Debian's Chromium; the MP4
// is read from the report folder on disk, its frame rate and frame count from the container (mediabunny), and its
// pictures decoded by Chromium's WebCodecs and compared with the runs' stored frames.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import type { Page } from 'playwright-core';
import UPNG from 'upng-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoLayout } from '../../src-renderer/export/video-export';
import {
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import type { StudioProcess } from '../helpers/studio-process';

let studio: StudioProcess;
let ui: StudioPage | undefined;
let page: Page;

beforeAll(async () => {
  ui = await openStudioPage();
  ({ studio, page } = ui);
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

function poll<T>(read: () => Promise<T>, timeoutMs = 30_000) {
  return expect.poll(read, { timeout: timeoutMs, interval: 100 });
}

async function call<T>(command: string, args?: unknown): Promise<T> {
  const { status, body } = await studio.api(command, args);
  if (status !== 200) throw new Error(`${command}: ${status} ${JSON.stringify(body)}`);
  return (body as { result: T }).result;
}

async function runState(runId: string): Promise<string> {
  return (await call<{ run: { state: string } }>('runs.get', { runId })).run.state;
}

/** A stored final frame of a run as RGBA. */
async function storedFrame(
  runId: string,
  index: number,
): Promise<{ w: number; h: number; rgba: Uint8Array }> {
  const { frames } = await call<{ frames: { png: string }[] }>('runs.frames', {
    runId,
    which: 'final',
    from: index,
    limit: 1,
  });
  const png = Buffer.from(frames[0]!.png, 'base64');
  const img = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength));
  return { w: img.width, h: img.height, rgba: new Uint8Array(UPNG.toRGBA8(img)[0]!) };
}

/**
 * Decodes every frame of `mp4` with Chromium's WebCodecs `VideoDecoder` (in the studio's page, a secure context),
 * the packets and decoder configuration read from the container by mediabunny; RGBA of the frames at `indices`.
 */
async function decodedFrames(
  mp4: Uint8Array,
  indices: number[],
): Promise<{ width: number; height: number; frames: number; rgba: number[][] }> {
  const input = new Input({ source: new BufferSource(mp4), formats: ALL_FORMATS });
  const track = (await input.getPrimaryVideoTrack())!;
  const config = (await track.getDecoderConfig())!;
  const sink = new EncodedPacketSink(track);
  const packets: { key: boolean; us: number; data: string }[] = [];
  for (let p = await sink.getFirstPacket(); p !== null; p = await sink.getNextPacket(p))
    packets.push({
      key: p.type === 'key',
      us: Math.round(p.timestamp * 1e6),
      data: Buffer.from(p.data).toString('base64'),
    });
  const d = config.description;
  const description =
    d === undefined
      ? null
      : Buffer.from(
          ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d),
        ).toString('base64');
  return page.evaluate(
    async ({ codec, description, packets, indices }) => {
      const bytes = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const out: { width: number; height: number; frames: number; rgba: number[][] } = {
        width: 0,
        height: 0,
        frames: 0,
        rgba: [],
      };
      let failure: unknown = null;
      const decoder = new VideoDecoder({
        output: (frame) => {
          const index = out.frames++;
          if (indices.includes(index)) {
            const canvas = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
            const c = canvas.getContext('2d')!;
            c.drawImage(frame, 0, 0);
            out.width = frame.displayWidth;
            out.height = frame.displayHeight;
            out.rgba[indices.indexOf(index)] = Array.from(c.getImageData(0, 0, out.width, out.height).data);
          }
          frame.close();
        },
        error: (e) => (failure = e),
      });
      decoder.configure({ codec, ...(description !== null ? { description: bytes(description) } : {}) });
      for (const p of packets)
        decoder.decode(
          new EncodedVideoChunk({ type: p.key ? 'key' : 'delta', timestamp: p.us, data: bytes(p.data) }),
        );
      await decoder.flush();
      decoder.close();
      if (failure !== null) throw new Error(`the video does not decode: ${String(failure)}`);
      return out;
    },
    { codec: config.codec, description, packets, indices },
  );
}

/** Mean absolute RGB difference between a stored frame and the video's picture in `box` (sampled per pixel). */
function meanDiff(
  frame: { w: number; h: number; rgba: Uint8Array },
  video: { width: number; rgba: number[] },
  box: { x: number; y: number; width: number; height: number },
): number {
  let sum = 0;
  let n = 0;
  for (let fy = 0; fy < frame.h; fy++)
    for (let fx = 0; fx < frame.w; fx++) {
      const vx = Math.floor(box.x + ((fx + 0.5) * box.width) / frame.w);
      const vy = Math.floor(box.y + ((fy + 0.5) * box.height) / frame.h);
      for (let ch = 0; ch < 3; ch++) {
        sum += Math.abs(
          frame.rgba[(fy * frame.w + fx) * 4 + ch]! - video.rgba[(vy * video.width + vx) * 4 + ch]!,
        );
        n++;
      }
    }
  return sum / n;
}

/** Bright (label text) pixels in the band above a picture. */
function labelPixels(
  video: { width: number; rgba: number[] },
  box: { x: number; y: number; width: number },
): number {
  let bright = 0;
  for (let y = 2; y < box.y - 2; y++)
    for (let x = box.x; x < box.x + box.width; x++) {
      const i = (y * video.width + x) * 4;
      if (video.rgba[i]! > 160 && video.rgba[i + 1]! > 160 && video.rgba[i + 2]! > 160) bright++;
    }
  return bright;
}

describe('the video Compare exports (web mode)', () => {
  it('holds A | B side by side with labels, at the run’s fps, in the report folder with the rest', async () => {
    await poll(async () => {
      const { devices } = await call<{ devices: { id: string; status: string }[] }>('devices.list');
      return devices.find((d) => d.id === 'builtin')?.status;
    }, 90_000).toBe('paired');
    // No fps in the job: the model's default (24) is the video's frame rate.
    const { run } = await call<{ run: { runId: string } }>('runs.start', {
      deviceId: 'builtin',
      params: {
        prompt: 'a red circle moving right on a black background',
        seed: 3,
        steps: 8,
        lpl: { mode: 'fixed', leapStep: 4 },
      },
    });
    const runA = run.runId;
    await poll(() => runState(runA), 60_000).toBe('finished');
    const runB = (await call<{ run: { runId: string } }>('runs.startBaseline', { runId: runA })).run.runId;
    await poll(() => runState(runB), 60_000).toBe('finished');
    const finished = readFileSync(join(studio.dataDir, 'runs', runA, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"run.finished"'))
      .map((l) => (JSON.parse(l) as { event: { fps: number; frames: number } }).event)[0]!;
    expect(finished.fps).toBe(24);

    await page.evaluate(
      ([a, b]) => void (window.location.hash = `#/compare/${encodeURIComponent(a)}/${encodeURIComponent(b)}`),
      [runA, runB] as const,
    );
    await page.getByTestId('compare-view').waitFor();
    await page.getByTestId('export-html').click();
    const html = page.locator('[data-testid="export-result"][data-format="html"]');
    await html.waitFor({ timeout: 60_000 });
    await page.getByTestId('export-video').click();
    const video = page.locator('[data-testid="export-result"][data-format="mp4"]');
    await video.or(page.getByRole('alert')).first().waitFor({ timeout: 120_000 });
    expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
    await saveViewScreenshot(page, 'compare-export-video');

    // One report folder holds the report and the video, served from it.
    const folderOf = (href: string | null): string =>
      new URL(href ?? '', studio.origin).pathname.split('/').slice(0, 3).join('/');
    const htmlHref = await html.getAttribute('href');
    const videoHref = await video.getAttribute('href');
    expect(folderOf(videoHref)).toBe(folderOf(htmlHref));
    const reportId = decodeURIComponent(folderOf(htmlHref).split('/')[2]!);
    const folder = join(studio.dataDir, 'reports', reportId);
    expect(readdirSync(folder).filter((f) => !f.endsWith('.json'))).toEqual(['report.html', 'video.mp4']);
    const mp4 = readFileSync(join(folder, 'video.mp4'));
    const served = await fetch(new URL(videoHref!, studio.origin));
    expect(served.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await served.arrayBuffer()).equals(mp4)).toBe(true);

    // The container: one frame per stored frame, at the run's frame rate.
    const input = new Input({ source: new BufferSource(mp4), formats: ALL_FORMATS });
    const track = (await input.getPrimaryVideoTrack())!;
    const stats = await track.computePacketStats();
    expect(stats.packetCount).toBe(finished.frames);
    expect(stats.averagePacketRate).toBeCloseTo(24, 1);

    // The pictures: A on the left, B on the right, each under a label.
    const a0 = await storedFrame(runA, 0);
    const b0 = await storedFrame(runB, 0);
    const layout = videoLayout(a0.w, a0.h, 2);
    expect([track.displayWidth, track.displayHeight]).toEqual([layout.width, layout.height]);
    const last = finished.frames - 1;
    const decoded = await decodedFrames(mp4, [0, last]);
    expect(decoded.frames).toBe(finished.frames);
    expect([decoded.width, decoded.height]).toEqual([layout.width, layout.height]);
    const [left, right] = layout.pictures as [(typeof layout.pictures)[0], (typeof layout.pictures)[0]];
    const first = { width: decoded.width, rgba: decoded.rgba[0]! };
    expect(meanDiff(a0, first, left)).toBeLessThan(12);
    expect(meanDiff(b0, first, right)).toBeLessThan(12);
    expect(labelPixels(first, left)).toBeGreaterThan(30);
    expect(labelPixels(first, right)).toBeGreaterThan(30);
    // The last frame is each run's last frame: the halves move with the video.
    const end = { width: decoded.width, rgba: decoded.rgba[1]! };
    const aLast = await storedFrame(runA, last);
    expect(meanDiff(aLast, end, left)).toBeLessThan(12);
    expect(meanDiff(await storedFrame(runB, last), end, right)).toBeLessThan(12);
    expect(meanDiff(aLast, first, left)).toBeGreaterThan(meanDiff(aLast, end, left) + 5);
  });
});
