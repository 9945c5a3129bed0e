// History in Chromium when some run folders are damaged: `odsora studio --web` (a real child process, temporary
// HOME) opens a data folder holding a good run, a run.json with a 300-character label (the contract allows 256), a
// run.json cut short, and a run whose events.jsonl has a damaged line. The good runs are listed as always; each
// unreadable folder is listed with why; the damaged log's run says which line was skipped. Screenshot:
// artifacts/e2e/history-damage.png.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import type { StudioProcess } from '../helpers/studio-process';
import { sampleLog } from '../unit/shared/report/fixtures';
import { writeRunFolder } from '../unit/src-main/studio/services/run-folders';

let studio: StudioProcess;
let ui: StudioPage | undefined;
let page: Page;

beforeAll(async () => {
  ui = await openStudioPage({
    prepare: async (dataDir) => {
      await writeRunFolder(dataDir, 'r-good', [], [4, 4], sampleLog(), { label: 'a good run' });
      await writeRunFolder(dataDir, 'r-long-label', [], [4, 4], sampleLog(), { label: 'x'.repeat(300) });
      await writeRunFolder(dataDir, 'r-truncated', [], [4, 4]);
      const truncated = join(dataDir, 'runs', 'r-truncated', 'run.json');
      writeFileSync(truncated, readFileSync(truncated, 'utf8').slice(0, 120));
      await writeRunFolder(dataDir, 'r-damaged-log', [], [4, 4], sampleLog(), { label: 'damaged log' });
      const events = join(dataDir, 'runs', 'r-damaged-log', 'events.jsonl');
      const lines = readFileSync(events, 'utf8').split('\n');
      lines[2] = `${lines[2]!.slice(0, 30)}\u0000`;
      writeFileSync(events, lines.join('\n'));
    },
  });
  ({ studio, page } = ui);
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

describe('history with damaged run folders', () => {
  it('lists the readable runs, each unreadable folder with why, and the skipped event line', async () => {
    await page.getByTestId('nav-history').click();
    const rows = page.getByTestId('history-row');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id')).sort())).toEqual([
      'r-damaged-log',
      'r-good',
    ]);
    const unreadable = page.getByTestId('history-unreadable');
    await expect.poll(() => unreadable.count(), { timeout: 15_000 }).toBe(2);
    const text = async (folder: string): Promise<string> =>
      (await page.locator(`[data-testid="history-unreadable"][data-folder="${folder}"]`).textContent()) ?? '';
    expect(await text('r-long-label')).toMatch(/run\.json: label: .*256/);
    expect(await text('r-truncated')).toMatch(/run\.json is not valid JSON \(cut short\?\)/);
    const problem = page.locator('[data-run-id="r-damaged-log"] [data-testid="history-event-log-problem"]');
    await expect.poll(() => problem.count(), { timeout: 15_000 }).toBe(1);
    expect(await problem.textContent()).toMatch(/events\.jsonl: 1 unreadable line skipped \(line 3\)/);
    expect(
      await page.locator('[data-run-id="r-good"] [data-testid="history-event-log-problem"]').count(),
    ).toBe(0);
    expect(studio.stderr()).toMatch(/run folder r-long-label is not listed: run\.json: label/);
    await saveViewScreenshot(page, 'history-damage');
  });
});
