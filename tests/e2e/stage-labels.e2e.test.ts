// The phase breakdown's labels say what the run is doing now, never what it was doing once: a run cancelled in the
// middle of denoising reads "stopped", not "running", and a replay of it says "replaying" while it plays and ends
// as the run ended. `odsora studio --web` as a child process with its built-in device, Debian's Chromium on the page.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import { testIdAttr } from '../helpers/studio-page';
import { builtinStatus, type StudioProcess } from '../helpers/studio-process';

let studio: StudioProcess;
let ui: StudioPage | undefined;
let page: Page;
let runId = '';

beforeAll(async () => {
  ui = await openStudioPage();
  ({ studio, page } = ui);
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

/** The text of each phase row of the breakdown, by phase. */
async function phaseTexts(): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll('[data-testid="phase-breakdown"] [data-phase]')).map((row) => [
        row.getAttribute('data-phase') ?? '',
        row.querySelector('dd')?.textContent ?? '',
      ]),
    ),
  );
}

/** Starts recording every distinct phase-breakdown text on each animation frame (a replay is over in moments). */
async function startPhaseRecorder(): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __phaseTexts?: string[]; __phaseStop?: boolean };
    w.__phaseTexts = [];
    w.__phaseStop = false;
    const tick = (): void => {
      const text = document.querySelector('[data-testid="phase-breakdown"] dl')?.textContent ?? '';
      if (w.__phaseTexts!.at(-1) !== text) w.__phaseTexts!.push(text);
      if (w.__phaseStop !== true) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

async function stopPhaseRecorder(): Promise<string[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __phaseTexts?: string[]; __phaseStop?: boolean };
    w.__phaseStop = true;
    return w.__phaseTexts ?? [];
  });
}

describe('phase labels in the live view (web mode, built-in device)', () => {
  it('says a phase stopped, not that it is running, once the run is cancelled in it', async () => {
    await expect.poll(() => builtinStatus(studio), { timeout: 90_000, interval: 200 }).toBe('paired');
    // Many plain steps, so the run is still denoising when Cancel is clicked.
    const started = await studio.api('runs.start', {
      deviceId: 'builtin',
      params: { prompt: 'a red circle moving right on a black background', seed: 3, steps: 400 },
    });
    runId = (started.body as { result: { run: { runId: string } } }).result.run.runId;
    await page.evaluate((id) => (window.location.hash = `#/live/${encodeURIComponent(id)}`), runId);
    await expect
      .poll(async () => (await phaseTexts())['denoise'] ?? '', { timeout: 60_000, interval: 50 })
      .toMatch(/\(running\)/);
    await page.getByTestId('cancel-run').click();
    await expect
      .poll(async () => testIdAttr(page, 'run-state', 'data-state'), { timeout: 60_000, interval: 100 })
      .toBe('cancelled');
    // The badge says cancelled; the breakdown must agree with it, now and after a moment.
    await page.waitForTimeout(500);
    const texts = await phaseTexts();
    await saveViewScreenshot(page, 'live-cancelled');
    expect(Object.values(texts).join(' | ')).not.toMatch(/running/);
    expect(texts['denoise']).toMatch(/\d+(\.\d+)? (ms|s) \(stopped: run cancelled\)/);
    // Phases that never started stay blank.
    expect(texts['decode']).toBe('—');
  });

  it('says "replaying" while a replay plays the cancelled run, and ends as the run ended', async () => {
    expect(runId, 'the cancelled run exists').not.toBe('');
    await page.getByTestId('replay-run').click();
    await startPhaseRecorder();
    await page.getByText('replaying the stored events…').waitFor({ timeout: 15_000 });
    await page.getByText('replaying the stored events…').waitFor({ state: 'detached', timeout: 60_000 });
    const seen = await stopPhaseRecorder();
    expect(seen.length, 'the breakdown changed while the replay played').toBeGreaterThan(1);
    expect(
      seen.filter((t) => t.includes('running')),
      'a replay runs nothing',
    ).toEqual([]);
    expect(seen.some((t) => t.includes('(replaying)'))).toBe(true);
    expect((await phaseTexts())['denoise']).toMatch(/\(stopped: run cancelled\)/);
  });
});
