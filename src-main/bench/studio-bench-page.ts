/**
 * The browser side of `odsora bench studio`: playwright-core loaded from the checkout's node_modules at run time
 * (a dev dependency; the CLI bundle does not carry it), Debian's Chromium launched as the machine notes say, and
 * an init script that records animation-frame times and long tasks while the bench says so.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type * as PlaywrightCore from 'playwright-core';

/** Debian's Chromium. */
const BENCH_CHROMIUM_PATH = '/usr/bin/chromium';

/** Loads playwright-core from the project and launches Chromium headless; clear errors when either is missing. */
export async function launchBenchChromium(root: string): Promise<Browser> {
  if (!existsSync(BENCH_CHROMIUM_PATH))
    throw new Error(
      `odsora bench studio needs Debian's Chromium at ${BENCH_CHROMIUM_PATH}: apt-get install -y chromium`,
    );
  let playwright: typeof PlaywrightCore;
  try {
    playwright = createRequire(join(root, 'package.json'))('playwright-core') as typeof PlaywrightCore;
  } catch {
    throw new Error(
      'odsora bench studio needs playwright-core (a dev dependency): run `npm install` in the checkout',
    );
  }
  return playwright.chromium.launch({
    executablePath: BENCH_CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Installed before the page loads: `window.__benchFrames` = { on, frames (epoch ms of each animation frame while
 * on), longTasks (durations ms while on), socketMessages / socketChars (WebSocket messages the page received while
 * on, and their length) }. Plain script text, so it runs unchanged in the page.
 */
export const FRAME_RECORDER_SCRIPT = `(() => {
  const rec = { on: false, frames: [], longTasks: [], socketMessages: 0, socketChars: 0 };
  window.__benchFrames = rec;
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (!rec.on) return;
        rec.socketMessages++;
        rec.socketChars += typeof e.data === 'string' ? e.data.length : 0;
      });
    }
  };
  const tick = (t) => {
    if (rec.on) rec.frames.push(performance.timeOrigin + t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      if (!rec.on) return;
      for (const entry of list.getEntries()) rec.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
  } catch (e) {
    rec.longTaskError = String(e);
  }
})();`;

/** What the page recorded: frame times, long-task durations, what its WebSockets received, its JS heap at the end. */
export interface PageRecording {
  frames: number[];
  longTasks: number[];
  socketMessages: number;
  socketChars: number;
  /** Chromium's `performance.memory.usedJSHeapSize` when the recording stopped (null where absent). */
  heapUsedBytes: number | null;
}

/** Expressions evaluated in the page (strings keep DOM types out of the Node build). */
export const PAGE = {
  startRecording:
    'Object.assign(window.__benchFrames, { on: true, frames: [], longTasks: [], socketMessages: 0, socketChars: 0 });',
  stopRecording:
    '(() => { const r = window.__benchFrames; r.on = false; const m = performance.memory; return { frames: r.frames, ' +
    'longTasks: r.longTasks, socketMessages: r.socketMessages, socketChars: r.socketChars, ' +
    'heapUsedBytes: m === undefined ? null : m.usedJSHeapSize }; })()',
  hasPerfProbe:
    "typeof window.__odsoraPerf === 'object' && typeof window.__odsoraPerf.samples === 'function'",
  resetPerf: 'window.__odsoraPerf.reset()',
  perfSamples: 'window.__odsoraPerf.samples()',
} as const;
