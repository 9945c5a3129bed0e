// The Sweeps screen, as a researcher uses it: `odsora studio --web` as a child process with its built-in device;
// a 2 × 2 grid (LPL leap × TDTM merge steps), 1 prompt, 1 seed, warm-up 1, 6 steps, the thermal gate on, built in
// the UI; the run count before starting; progress watched to the end, patched from the pushed deltas (a handful of
// `sweeps.get`, not one per `sweep.updated`); the table (flicker, adherence) sorted by wall time both ways; Export
// report, its report.html opened offline (nothing fetched, the Pareto plot inline); a point's runs (with their
// thermal record) opened on Live run.
// Screenshots: artifacts/e2e/sweeps.png, artifacts/e2e/sweep-report.png.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newStudioContext,
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import { openOffline, testIdAttr } from '../helpers/studio-page';
import { builtinStatus, type StudioProcess } from '../helpers/studio-process';

let studio: StudioProcess;
let browser: Browser;
let ui: StudioPage | undefined;
let page: Page;
/** What crossed the page's bridge socket: `sweeps.get` calls sent, `sweep.updated` and `run.event` events received. */
const bridge = { gets: 0, updates: 0, runEvents: 0 };

beforeAll(async () => {
  ui = await openStudioPage({
    beforeGoto: (p) =>
      p.on('websocket', (ws) => {
        ws.on('framesent', (f) => {
          if (String(f.payload).includes('"command":"sweeps.get"')) bridge.gets += 1;
        });
        ws.on('framereceived', (f) => {
          if (String(f.payload).includes('"sweep.updated"')) bridge.updates += 1;
          if (String(f.payload).includes('"type":"run.event"')) bridge.runEvents += 1;
        });
      }),
  });
  ({ studio, page, browser } = ui);
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

/** The medians of a column of the table, top to bottom. */
async function medians(metric: string): Promise<number[]> {
  return page
    .locator(`[data-testid="sweep-row"] td[data-metric="${metric}"]`)
    .evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-median'))));
}

describe('Sweeps (web mode, built-in device)', () => {
  it('builds a 2 × 2 sweep, runs it to the end, sorts the table and opens a point’s runs', async () => {
    await expect.poll(() => builtinStatus(studio), { timeout: 120_000, interval: 200 }).toBe('paired');
    await page.getByTestId('nav-sweeps').click();
    await page.getByTestId('axis-lpl-leapStep').fill('4, 5'); // LPL 4/6 and 5/6, counted from 1
    await page.getByTestId('axis-tdtm-mergeSteps').fill('0, 2');
    await page.getByTestId('sweep-prompts').fill('a red circle moving right on a black background');
    await page.getByTestId('sweep-seeds').fill('5');
    await page.getByTestId('sweep-steps').fill('6');
    await page.getByTestId('sweep-repeats').fill('1');
    await page.getByTestId('sweep-warmup').fill('1');
    await page.getByTestId('sweep-order').selectOption('interleaved');
    await page.getByTestId('sweep-name').fill('e2e-grid');
    await page.locator('[data-testid="sweep-device"][data-device-id="builtin"]').check();
    // The thermal gate: off by default; on, its fields show (critical: no run ever waits).
    expect(await page.getByTestId('sweep-thermal-max').count()).toBe(0);
    await page.getByTestId('sweep-thermal').check();
    await page.getByTestId('sweep-thermal-max').selectOption('critical');
    // 4 points + 1 baseline + 1 warm-up.
    await expect.poll(() => testIdAttr(page, 'sweep-count', 'data-total'), { timeout: 10_000 }).toBe('6');
    await expect.poll(() => page.getByTestId('sweep-eta').textContent(), { timeout: 10_000 }).toMatch(/ETA/);
    const before = { ...bridge };
    await page.getByTestId('sweep-start').click();

    await page.getByTestId('sweep-view').waitFor({ timeout: 30_000 });
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await testIdAttr(page, 'sweep-done', 'data-finished')) ?? '');
          return testIdAttr(page, 'sweep-state', 'data-state');
        },
        { timeout: 420_000, interval: 250 },
      )
      .toBe('finished');
    expect(await testIdAttr(page, 'sweep-done', 'data-finished')).toBe('6');
    expect(seen.size, 'progress was shown between start and end').toBeGreaterThan(2);
    const gets = bridge.gets - before.gets;
    const updates = bridge.updates - before.updates;
    expect(updates, 'sweep.updated events').toBeGreaterThanOrEqual(12); // at least a start and an end per run
    expect(gets, `sweeps.get calls for ${updates} sweep.updated events`).toBeLessThanOrEqual(4);
    // The Sweeps screen shows no run, so it follows none (events.follow with no runs from the page's start): the
    // sweep's thousands of run.events stream past it.
    expect(bridge.runEvents - before.runEvents, 'run.event frames pushed to the Sweeps screen').toBe(0);
    expect(await page.getByTestId('sweep-row').count()).toBe(4);
    expect(await page.locator('[data-testid="sweep-row"] td[data-metric="speedup_wall"]').count()).toBe(4);
    // Flicker of every point's clip; adherence too (a prompt in the Nano vocabulary).
    expect(await page.locator('[data-sort-key="metric:flicker"]').textContent()).toBe('Flicker');
    expect(await page.locator('[data-testid="sweep-row"] td[data-metric="flicker"]').count()).toBe(4);
    expect(await page.locator('[data-testid="sweep-row"] td[data-metric="adherence"]').count()).toBe(4);
    expect(await page.getByTestId('sweep-thermal-gate').textContent()).toMatch(
      /starts at critical or cooler/,
    );

    await page.locator('[data-testid="sweep-sort"][data-sort-key="metric:wall"] button').click();
    const up = await medians('wall');
    expect(up).toEqual([...up].sort((a, b) => a - b));
    await page.locator('[data-testid="sweep-sort"][data-sort-key="metric:wall"] button').click();
    const down = await medians('wall');
    expect(down).toEqual([...up].reverse());
    await page.getByTestId('sweep-filter').fill('mergeSteps=2');
    expect(await page.getByTestId('sweep-row').count()).toBe(2);
    await page.getByTestId('sweep-filter').fill('');

    // The Pareto plot draws every point and marks a front; clicking a point opens its row's runs.
    expect(await page.getByTestId('pareto-point').count()).toBe(4);
    expect(await page.locator('[data-testid="pareto-point"][data-front="true"]').count()).toBeGreaterThan(0);
    const clicked = page.getByTestId('pareto-point').last();
    const pointId = await clicked.getAttribute('data-point-id');
    await clicked.click();
    await page.getByTestId('sweep-point-runs').waitFor();
    expect(await page.locator(`[data-testid="sweep-row"].selected`).getAttribute('data-point-id')).toBe(
      pointId,
    );
    expect(await page.getByTestId('sweep-point-run').count()).toBe(1);
    expect(await page.getByTestId('sweep-run-thermal').textContent()).toMatch(/thermal \w+ → \w+ · gate \w+/);
    await saveViewScreenshot(page, 'sweeps');

    // Export report: the studio writes the report folder and links its five files; report.html opens offline.
    await page.getByTestId('sweep-export-report').click();
    const links = page.getByTestId('sweep-export-result');
    await links.first().waitFor({ timeout: 60_000 });
    expect(await links.evaluateAll((as) => as.map((a) => a.getAttribute('data-name')))).toEqual([
      'report.html',
      'pareto.svg',
      'parallel-coordinates.svg',
      'sweep.csv',
      'sweep-points.csv',
    ]);
    const reportUrl = new URL(
      (await page
        .locator('[data-testid="sweep-export-result"][data-name="report.html"]')
        .getAttribute('href'))!,
      studio.origin,
    ).toString();
    const served = await fetch(reportUrl);
    expect(served.status).toBe(200);
    const html = await served.text();
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|<iframe|@import|url\(/i);
    expect(html).toContain('e2e-grid');
    const offline = await newStudioContext(browser);
    try {
      const { page: report, blocked } = await openOffline(offline, reportUrl);
      expect(blocked, 'the report fetched nothing besides itself').toEqual([]);
      // The Pareto plot is drawn inline, with its four points, and has a size.
      const pareto = report.locator('svg[aria-label^="Pareto"]');
      expect(await pareto.locator('circle[data-point]').count()).toBe(4);
      expect((await pareto.boundingBox())?.width).toBeGreaterThan(20);
      await saveViewScreenshot(report, 'sweep-report');
    } finally {
      await offline.close();
    }

    await page.getByTestId('sweep-open-run').first().click();
    await expect.poll(() => page.evaluate(() => window.location.hash)).toMatch(/^#\/live\//);
    await expect
      .poll(() => testIdAttr(page, 'run-state', 'data-state'), { timeout: 30_000, interval: 100 })
      .toBe('finished');
  });
});
