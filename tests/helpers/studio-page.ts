/**
 * Page-side helpers for the studio's browser tests: an in-page recorder of the live views' counters (read on every
 * animation frame, so a 2-second run cannot slip between two Playwright round trips), opening a file offline, and
 * counting the pages of a PDF.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

/** One reading of the live run's counters (null: the element or attribute is not on the page). */
export interface LiveObservation {
  atMs: number;
  state: string | null;
  stepsDrawn: number | null;
  eventsDrawn: number | null;
  previewIndex: number | null;
}

/** Starts recording the live counters on every animation frame; readings are kept only when something changed. */
export async function startLiveRecorder(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __e2eLive?: LiveObservation[]; __e2eLiveStop?: boolean };
    w.__e2eLive = [];
    w.__e2eLiveStop = false;
    const num = (id: string, attr: string): number | null => {
      const v = document.querySelector(`[data-testid="${id}"]`)?.getAttribute(attr);
      if (v === null || v === undefined || v.trim() === '') return null;
      const n = Number(v);
      return Number.isFinite(n) ? n : null;
    };
    const tick = (): void => {
      const obs = {
        atMs: performance.now(),
        state: document.querySelector('[data-testid="run-state"]')?.getAttribute('data-state') ?? null,
        stepsDrawn: num('step-timeline', 'data-steps-drawn'),
        eventsDrawn: num('residency-lanes', 'data-events-drawn'),
        previewIndex: num('preview-frame', 'data-preview-index'),
      };
      const log = w.__e2eLive!;
      const last = log[log.length - 1];
      if (
        last === undefined ||
        last.state !== obs.state ||
        last.stepsDrawn !== obs.stepsDrawn ||
        last.eventsDrawn !== obs.eventsDrawn ||
        last.previewIndex !== obs.previewIndex
      )
        log.push(obs);
      if (w.__e2eLiveStop !== true) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

/** Stops the recorder and returns its readings. */
export async function stopLiveRecorder(page: Page): Promise<LiveObservation[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __e2eLive?: LiveObservation[]; __e2eLiveStop?: boolean };
    w.__e2eLiveStop = true;
    return w.__e2eLive ?? [];
  });
}

/** An attribute of the first element with `data-testid="<testId>"`, read at once (null: no such element or attribute). */
export async function testIdAttr(page: Page, testId: string, attr: string): Promise<string | null> {
  return page.evaluate(
    ([id, name]) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute(name) ?? null,
    [testId, attr] as const,
  );
}

/** Run states after which a run takes no more events. */
export const TERMINAL_STATES = ['finished', 'failed', 'cancelled', 'interrupted'];

/**
 * The distinct values a counter took while the run was not yet in a terminal state, in the order seen (first
 * reading of each). A view that updates live shows several; one that only draws at the end shows at most one.
 */
export function valuesBeforeEnd(
  observations: readonly LiveObservation[],
  pick: (o: LiveObservation) => number | null,
): number[] {
  const seen: number[] = [];
  for (const o of observations) {
    if (o.state !== null && TERMINAL_STATES.includes(o.state)) break;
    const v = pick(o);
    if (v !== null && v > 0 && seen[seen.length - 1] !== v) seen.push(v);
  }
  return seen;
}

/** The number of pages of a PDF file: the `/Type /Page` objects (not `/Pages`), cross-checked with `/Count`. */
export function pdfPageCount(pdf: Uint8Array): number {
  const text = Buffer.from(pdf).toString('latin1');
  if (!text.startsWith('%PDF-')) throw new Error('not a PDF file (no %PDF- header)');
  const pages = text.match(/\/Type\s*\/Page(?![A-Za-z])/g)?.length ?? 0;
  const counts = [
    ...text.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/g),
  ];
  const declared = counts.map((m) => Number(m[1] ?? m[2])).reduce((a, b) => Math.max(a, b), 0);
  return Math.max(pages, declared);
}

/**
 * Opens `url` in a new page of `context` with every other request aborted, as if the machine were offline; returns
 * the page and the URLs it tried to fetch besides the file itself (a self-contained file tries none).
 */
export async function openOffline(
  context: BrowserContext,
  url: string,
): Promise<{ page: Page; blocked: string[] }> {
  const blocked: string[] = [];
  const page = await context.newPage();
  await page.route('**', (route) => {
    const requested = route.request().url();
    if (requested === url) return route.continue();
    // data: and blob: URLs never reach the network; anything else would need it.
    blocked.push(requested);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, blocked };
}

/**
 * Opens the studio's WebSocket bridge from inside `page` (so the browser sends the page's own Origin) with the
 * given query (`token=…` or `mirror=…`) and sends one request. Resolves with the reply to it, or with
 * `{ refused: true }` when the server refuses the connection.
 */
export async function bridgeCallFromPage(
  page: Page,
  query: string,
  request: { command: string; args: unknown },
): Promise<unknown> {
  return page.evaluate(
    async ([q, req]) => {
      const ws = new WebSocket(`ws://${location.host}/bridge?${q}`);
      return new Promise<unknown>((resolve) => {
        let opened = false;
        ws.onopen = () => {
          opened = true;
          ws.send(JSON.stringify({ id: 1, ...req }));
        };
        ws.onclose = () => {
          if (!opened) resolve({ refused: true });
        };
        ws.onmessage = (m) => {
          const frame = JSON.parse(String(m.data)) as { id?: number };
          if (frame.id === 1) {
            ws.close();
            resolve(frame);
          }
        };
      });
    },
    [query, request] as const,
  );
}

/** Plays an MP4 file in a fresh page (served from a stub origin) and returns its video size and duration. */
export async function playMp4(
  context: BrowserContext,
  mp4: Uint8Array,
): Promise<{ width: number; height: number; duration: number }> {
  const player = await context.newPage();
  try {
    await player.route('http://player.test/**', (route) =>
      route.request().url().endsWith('.mp4')
        ? route.fulfill({ body: Buffer.from(mp4), contentType: 'video/mp4' })
        : route.fulfill({ body: '<video muted></video>', contentType: 'text/html' }),
    );
    await player.goto('http://player.test/');
    return await player.evaluate(async () => {
      const el = document.querySelector('video')!;
      await new Promise<void>((resolve, reject) => {
        el.onloadedmetadata = () => resolve();
        el.onerror = () => reject(new Error(`the MP4 does not load: ${el.error?.message ?? ''}`));
        el.src = '/export.mp4';
      });
      return { width: el.videoWidth, height: el.videoHeight, duration: el.duration };
    });
  } finally {
    await player.close();
  }
}

/** The engine events of a run folder's `events.jsonl` (run-level events and previews left out), in order. */
export function readEngineEvents(dataDir: string, runId: string): { type: string; atMs: number }[] {
  return readFileSync(join(dataDir, 'runs', runId, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { event: { type: string; atMs: number } }).event)
    .filter((e) => !e.type.startsWith('run.') && e.type !== 'preview.ready');
}
