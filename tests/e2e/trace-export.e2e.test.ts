// Export trace, as a researcher uses it: `odsora studio --web` as a child process with its built-in device, a short
// run with LPL, TDTM and a CI-DL budget watched on Live run in Debian's Chromium, then **Export trace** there and
// **Trace** in the Export panel. The saved `<runId>.trace.json` must read as Trace Event Format with the counts the
// run's own stored events give. Screenshot: artifacts/e2e/live-trace-export.png.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../shared/protocol/run';
import {
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import { testIdAttr } from '../helpers/studio-page';
import { builtinStatus, type StudioProcess } from '../helpers/studio-process';
import { checkChromeTrace, expectedTraceCounts } from '../helpers/trace-check';

let studio: StudioProcess;
let ui: StudioPage | undefined;
let page: Page;
let runId = '';

beforeAll(async () => {
  ui = await openStudioPage();
  ({ studio, page } = ui);
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

/** The run's events as the studio stored them. */
async function storedEvents(id: string): Promise<RunEvent[]> {
  const { body } = await studio.api('runs.events', { runId: id, afterSeq: 0, limit: 5000 });
  return (body as { result: { events: { event: RunEvent }[] } }).result.events.map((e) => e.event);
}

/** Checks a trace file's text against the run's stored events. */
async function expectTraceOfRun(text: string): Promise<void> {
  const read = checkChromeTrace(JSON.parse(text));
  const events = await storedEvents(runId);
  const want = expectedTraceCounts(events);
  expect(want.steps).toBe(4); // 6 steps with the leap at the 4th
  expect(read.complete).toEqual({
    stage: want.stages,
    step: want.steps,
    compute: want.computes,
    load: want.loads,
  });
  expect(read.instants['release']).toBe(want.releases);
  expect(read.counters['resident']).toBe(want.resident);
  expect(read.events.filter((e) => e.name === 'LPL leap')).toHaveLength(1);
  expect([...read.threads.values()]).toEqual(['stages', 'engine compute', 'loader']);
  expect(read.metadata).toMatchObject({ source: 'odsora studio', runId, state: 'finished' });
}

describe('Export trace (web mode, built-in device)', () => {
  it('saves the run shown on Live run as <runId>.trace.json in Trace Event Format', async () => {
    await expect.poll(() => builtinStatus(studio), { timeout: 90_000, interval: 200 }).toBe('paired');
    const started = await studio.api('runs.start', {
      deviceId: 'builtin',
      params: {
        prompt: 'a red circle moving right on a black background',
        seed: 5,
        steps: 6,
        lpl: { mode: 'fixed', leapStep: 3 }, // LPL 4/6: the 4th step leaps
        tdtm: { mergeSteps: 2 },
        cidl: { budget: { kind: 'fraction', of: 0.5 } },
      },
    });
    runId = (started.body as { result: { run: { runId: string } } }).result.run.runId;
    await page.evaluate((id) => (window.location.hash = `#/live/${encodeURIComponent(id)}`), runId);
    await expect
      .poll(async () => testIdAttr(page, 'run-state', 'data-state'), { timeout: 90_000, interval: 100 })
      .toBe('finished');

    await page.getByTestId('export-trace-run').click();
    const link = page.getByTestId('trace-result');
    await link.waitFor({ timeout: 30_000 });
    expect(await link.getAttribute('download')).toBe(`${runId}.trace.json`);
    const url = new URL((await link.getAttribute('href'))!, studio.origin);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    await expectTraceOfRun(await res.text());
    await saveViewScreenshot(page, 'live-trace-export');
  });

  it('saves the same trace from the Export panel as a download', async () => {
    expect(runId, 'the run finished').not.toBe('');
    await page.getByTestId('export-trace').click();
    const link = page.locator('[data-testid="export-result"][data-format="trace"]');
    await link.first().waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), link.first().click()]);
    expect(download.suggestedFilename()).toBe(`${runId}.trace.json`);
    await expectTraceOfRun(readFileSync(await download.path(), 'utf8'));
  });
});
