// History as a notebook, as a researcher uses it: `odsora studio --web` (a real child process, temporary HOME) with
// its built-in device runs three short nano runs (LPL + TDTM, TDTM only, neither; same prompt and seed). In
// Debian's Chromium: name one, tag two, note one; filter by tag and by search text; sort by wall time; select the
// three → Compare (three frame panes, three latency curves, one slider moves all); reload the page and the names,
// tags and notes are still there (and in each run.json, version 3). Screenshots: artifacts/e2e/history-notebook.png
// and artifacts/e2e/compare-3-runs.png.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../shared/protocol/studio-contract';
import {
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import { builtinStatus, type StudioProcess } from '../helpers/studio-process';

let studio: StudioProcess;
let ui: StudioPage | undefined;
let page: Page;
/** [LPL + TDTM, TDTM only, neither]. */
const ids: string[] = [];

const prompt = 'a red circle moving right on a black background';
const settings = [
  { lpl: { mode: 'fixed', leapStep: 2 }, tdtm: { mergeSteps: 2 } },
  { tdtm: { mergeSteps: 2 } },
  {},
];

async function listRuns(): Promise<RunSummary[]> {
  const { body } = await studio.api('runs.list');
  return (body as { result: { runs: RunSummary[] } }).result.runs;
}

const row = (runId: string): Locator => page.locator(`[data-testid="history-row"][data-run-id="${runId}"]`);
const shownIds = async (): Promise<string[]> =>
  page.getByTestId('history-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id') ?? ''));

beforeAll(async () => {
  ui = await openStudioPage();
  ({ studio, page } = ui);
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

/** Starts the three runs on the built-in device once it is paired, and waits until all three finished. */
async function runThree(): Promise<void> {
  await expect.poll(() => builtinStatus(studio), { timeout: 90_000, interval: 200 }).toBe('paired');
  for (const s of settings) {
    const started = await studio.api('runs.start', {
      deviceId: 'builtin',
      params: { prompt, seed: 7, steps: 4, ...s },
    });
    ids.push((started.body as { result: { run: { runId: string } } }).result.run.runId);
  }
  await expect
    .poll(async () => (await listRuns()).map((r) => r.state).join(','), { timeout: 180_000, interval: 250 })
    .toBe('finished,finished,finished');
}

/** Opens a row's editor, fills what is given and saves. */
async function annotate(
  runId: string,
  fields: { name?: string; tags?: string; notes?: string },
): Promise<void> {
  const r = row(runId);
  await r.getByTestId('history-edit').click();
  if (fields.name !== undefined) await r.getByTestId('run-name-input').fill(fields.name);
  if (fields.tags !== undefined) await r.getByTestId('run-tags-input').fill(fields.tags);
  if (fields.notes !== undefined) await r.getByTestId('run-notes-input').fill(fields.notes);
  await r.getByTestId('run-notes-save').click();
  await r.getByTestId('run-notes-editor').waitFor({ state: 'detached', timeout: 15_000 });
}

describe('History as a notebook (web mode, built-in device)', () => {
  it('names, tags and notes runs, filters, searches, sorts by a metric and compares three', async () => {
    await runThree();
    const [leap, tdtm, plain] = ids as [string, string, string];
    await page.getByTestId('nav-history').click();
    await expect.poll(() => page.getByTestId('history-row').count(), { timeout: 30_000 }).toBe(3);
    // Every finished run lists its metrics (stored in run.json when it ended) and a thumbnail.
    for (const id of ids)
      expect(await row(id).getByTestId('history-metric-wallMs').textContent()).toMatch(/\d/);
    await expect.poll(() => page.getByTestId('history-thumbnail').count(), { timeout: 30_000 }).toBe(3);

    await annotate(leap, { name: 'LPL 3/4 + TDTM 2', tags: 'lpl, keep' });
    await annotate(tdtm, { tags: 'keep' });
    await annotate(plain, { notes: 'no techniques: the reference' });
    await expect
      .poll(async () => row(leap).getByTestId('history-run-name').textContent())
      .toBe('LPL 3/4 + TDTM 2');

    // Filter by tag, then by search text.
    await page.getByTestId('history-filter-tag').selectOption('keep');
    await expect.poll(async () => (await shownIds()).sort()).toEqual([leap, tdtm].sort());
    await page.getByTestId('history-filter-tag').selectOption('');
    await page.getByTestId('history-search').fill('reference');
    await expect.poll(shownIds).toEqual([plain]);
    await page.getByTestId('history-search').fill('');
    await page.getByTestId('history-filter-lpl').selectOption('on');
    await expect.poll(shownIds).toEqual([leap]);
    await page.getByTestId('history-filter-lpl').selectOption('any');
    await expect.poll(() => page.getByTestId('history-row').count()).toBe(3);

    // Sort by wall time, fastest first, as runs.list's stored metrics order them.
    const byWall = (await listRuns())
      .map((r) => ({ id: r.runId, wall: r.metrics?.wallMs ?? Infinity }))
      .sort((a, b) => a.wall - b.wall)
      .map((r) => r.id);
    await page.getByTestId('history-sort-wallMs').click();
    await expect.poll(shownIds).toEqual(byWall);
    await saveViewScreenshot(page, 'history-notebook');

    // Select the three → Compare.
    for (const id of [plain, leap, tdtm]) await row(id).getByTestId('history-compare-select').check();
    await page.getByTestId('history-compare').click();
    await page.getByTestId('multi-compare').waitFor({ timeout: 15_000 });
    const panes = page.getByTestId('multi-frame');
    await expect.poll(() => panes.count(), { timeout: 30_000 }).toBe(3);
    await expect.poll(() => page.getByTestId('overlay-latency-curve').count(), { timeout: 30_000 }).toBe(3);
    for (const curve of await page.getByTestId('overlay-latency-curve').all())
      expect(await curve.isVisible()).toBe(true);
    expect(await page.getByTestId('overlay-memory-curve').count()).toBe(3);
    expect(await page.getByTestId('overlay-leap').count()).toBe(1);
    await page.getByTestId('multi-frame-scrubber').fill('9');
    await expect
      .poll(() => panes.evaluateAll((els) => els.map((e) => e.getAttribute('data-frame-index'))))
      .toEqual(['9', '9', '9']);
    // Each of the other two against the first (the plain run): PSNR of the same seed's clip.
    await expect.poll(() => page.getByTestId('multi-psnr').count(), { timeout: 30_000 }).toBe(2);
    await saveViewScreenshot(page, 'compare-3-runs');

    // A reload (no restart) reads them back from the studio; each run.json (version 3) holds them.
    await page.evaluate(() => (window.location.hash = '#/history'));
    await page.reload();
    await expect.poll(() => page.getByTestId('history-row').count(), { timeout: 30_000 }).toBe(3);
    expect(await row(leap).getByTestId('history-run-name').textContent()).toBe('LPL 3/4 + TDTM 2');
    expect(await row(leap).getByTestId('history-tag').allTextContents()).toEqual(['lpl', 'keep']);
    expect(await row(tdtm).getByTestId('history-tag').allTextContents()).toEqual(['keep']);
    expect(await row(plain).getByTestId('history-notes').textContent()).toBe('no techniques: the reference');
    const onDisk = JSON.parse(readFileSync(join(studio.dataDir, 'runs', leap, 'run.json'), 'utf8'));
    expect(onDisk).toMatchObject({ version: 3, label: 'LPL 3/4 + TDTM 2', tags: ['lpl', 'keep'], notes: '' });
    expect(onDisk.metrics.wallMs).toBeGreaterThan(0);
  }, 420_000);
});
