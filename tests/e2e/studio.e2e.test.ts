// The studio end to end, as a researcher meets it: `odsora studio --web` started as a real child process (temporary
// HOME), its built-in device (the bundled Open-Sora Nano on a simulated iPhone 15 Pro), and Debian's Chromium
// driving the page. One paper-defaults run watched live, its baseline, Compare, the exported report opened offline
// and printed to PDF, presentation mode, history (reopen, run again, delete), the read-only mirror, a wrong token,
// and a second device added by host:port and paired with the code it shows. Screenshots of each view go to
// artifacts/e2e/<view>.png. The steps share one studio and run in order; a failed step fails the ones after it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../shared/protocol/limits';
import {
  newStudioContext,
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import {
  bridgeCallFromPage,
  openOffline,
  playMp4,
  readEngineEvents,
  pdfPageCount,
  startLiveRecorder,
  stopLiveRecorder,
  TERMINAL_STATES,
  testIdAttr,
  valuesBeforeEnd,
} from '../helpers/studio-page';
import type { StudioProcess } from '../helpers/studio-process';
import { startCompanion, stopCompanion, type CompanionProcess } from '../helpers/companion-process';

let studio: StudioProcess;
let browser: Browser;
let context: BrowserContext;
let ui: StudioPage | undefined;
let page: Page;
/** The paper-defaults run and its baseline, filled in as the steps go. */
const runs: { target?: string; baseline?: string } = {};
/** The speedup Compare showed, to check that presentation mode shows the same one. */
let compareSpeedup: number | null = null;

beforeAll(async () => {
  ui = await openStudioPage();
  ({ studio, browser, context, page } = ui);
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

/** Navigates with the sidebar, as a user would. */
async function go(
  to: 'devices' | 'composer' | 'live' | 'compare' | 'history' | 'presentation',
): Promise<void> {
  await page.getByTestId(`nav-${to}`).click();
}

/** Waits until the run-state badge shows a terminal state; returns it. */
async function waitForRunEnd(timeoutMs = 60_000): Promise<string> {
  await expect
    .poll(async () => testIdAttr(page, 'run-state', 'data-state'), { timeout: timeoutMs, interval: 100 })
    .toMatch(new RegExp(`^(${TERMINAL_STATES.join('|')})$`));
  return (await testIdAttr(page, 'run-state', 'data-state')) ?? '';
}

/** `expect.poll` with a timeout for a loaded 2-core machine (vitest's default is 1 s). */
function poll<T>(read: () => Promise<T>, timeoutMs = 15_000) {
  return expect.poll(read, { timeout: timeoutMs, interval: 100 });
}

/** The first decimal number in a text, e.g. 1.37 in "1.37× A 1.69 s". */
function firstNumber(text: string): number | null {
  const m = /\d+(\.\d+)?/.exec(text);
  return m === null ? null : Number(m[0]);
}

/** The history row of a run. */
function historyRow(runId: string) {
  return page.locator(`[data-testid="history-row"][data-run-id="${runId}"]`);
}

/** The studio's runs, through the token-protected HTTP API. */
async function listRuns(): Promise<{ runId: string; state: string; label: string | null }[]> {
  const { body } = await studio.api('runs.list');
  return (body as { result: { runs: { runId: string; state: string; label: string | null }[] } }).result.runs;
}

describe('the studio in Chromium (web mode, built-in device)', () => {
  it('lists the built-in device as paired and makes it the baseline device', async () => {
    await go('devices');
    // By id: other companions advertised on loopback (parallel tests) may show up as discovered devices too.
    const row = page.locator('[data-testid="device-row"][data-device-id="builtin"]');
    await poll(async () => row.getAttribute('data-status'), 90_000).toBe('paired');
    expect(await row.innerText()).toMatch(/iPhone 15 Pro/);
    // The diagnostics panel answers the questions of a device that will not connect.
    await row.getByText('Diagnostics', { exact: true }).click();
    const diagnostics = row.getByTestId('diagnostics');
    await diagnostics.waitFor({ timeout: 10_000 });
    const facts = await diagnostics.innerText();
    expect(facts).toMatch(/Port reachable\s+yes/);
    expect(facts).toMatch(new RegExp(`Protocol version\\s+${PROTOCOL_VERSION}\\b`));
    expect(facts).toMatch(/Paired\s+yes/);
    // The simulated phone is also the baseline machine here: baselines run on it with the techniques off.
    await row.getByTestId('set-baseline').click();
    await poll(async () => row.getAttribute('data-baseline')).toBe('true');
    await saveViewScreenshot(page, 'devices');
  });

  it('runs the paper-defaults preset and the live views update while it runs', async () => {
    await go('composer');
    await page.getByTestId('preset-paper').click();
    // The preset the issue names: 30 steps, LPL 16/30 (the engine's leap index 15), TDTM 15 merge steps, CI-DL on.
    await poll(async () => page.getByTestId('steps-input').inputValue()).toBe('30');
    await poll(async () => page.getByTestId('lpl-leap-step').inputValue()).toBe('16');
    await poll(async () => page.getByTestId('tdtm-merge-steps').inputValue()).toBe('15');
    await poll(async () => page.getByTestId('cidl-enabled').isChecked()).toBe(true);
    await page.getByTestId('prompt-input').fill('a green circle moving right on a white background');
    await page.getByTestId('seed-input').fill('7');
    // The memory preflight is shown before the run and says the plan fits the device.
    await expect
      .poll(async () => testIdAttr(page, 'preflight', 'data-fits'), { timeout: 20_000 })
      .toBe('true');
    await saveViewScreenshot(page, 'composer');

    const before = new Set((await listRuns()).map((r) => r.runId));
    await startLiveRecorder(page);
    await page.getByTestId('start-run').click();
    // Starting a run opens the live view; go there ourselves if the composer stays.
    if ((await page.getByTestId('step-timeline').count()) === 0) await go('live');
    expect(await waitForRunEnd()).toBe('finished');
    const observations = await stopLiveRecorder(page);

    // Every view drew more as events arrived: at least two growing readings before the run ended.
    const steps = valuesBeforeEnd(observations, (o) => o.stepsDrawn);
    const events = valuesBeforeEnd(observations, (o) => o.eventsDrawn);
    const previews = valuesBeforeEnd(observations, (o) =>
      o.previewIndex === null ? null : o.previewIndex + 1,
    );
    expect(steps.length, `steps drawn while running: ${steps.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(events.length, `events drawn while running: ${events.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(previews.length, `previews shown while running: ${previews.join(', ')}`).toBeGreaterThanOrEqual(2);
    for (const series of [steps, events]) expect([...series].sort((a, b) => a - b)).toEqual(series);

    // The finished timeline marks the leap at step 15 and the 15 merged (TDTM) steps.
    const timeline = page.getByTestId('step-timeline');
    expect(Number(await timeline.getAttribute('data-leap-step'))).toBe(15);
    expect(Number(await timeline.getAttribute('data-merged-steps'))).toBe(15);
    expect(Number(await page.getByTestId('residency-lanes').getAttribute('data-lanes'))).toBeGreaterThan(0);
    await page.getByTestId('phase-breakdown').waitFor();
    await saveViewScreenshot(page, 'live');

    const created = (await listRuns()).filter((r) => !before.has(r.runId));
    expect(created).toHaveLength(1);
    expect(created[0]!.state).toBe('finished');
    runs.target = created[0]!.runId;
  });

  it('runs the baseline and compares the two runs frame by frame', async () => {
    expect(runs.target, 'the paper-defaults run finished').toBeDefined();
    await go('compare');
    await page.getByTestId('start-baseline').click();
    const compare = page.getByTestId('compare-view');
    await compare.waitFor({ timeout: 60_000 });
    // Metrics shown: each is a number once both runs have their final frames.
    for (const id of ['metric-psnr', 'metric-ssim', 'metric-flicker', 'metric-speedup', 'metric-memory']) {
      await expect
        .poll(async () => (await page.getByTestId(id).innerText()).match(/\d/) !== null, { timeout: 60_000 })
        .toBe(true);
    }
    compareSpeedup = firstNumber(await page.getByTestId('metric-speedup').innerText());
    const baseline = (await listRuns()).find((r) => r.runId !== runs.target);
    expect(baseline?.state).toBe('finished');
    runs.baseline = baseline!.runId;

    // Frames aligned: both players show the same frame index while scrubbing and while playing.
    const frameIndex = async (id: 'frame-a' | 'frame-b'): Promise<string | null> =>
      testIdAttr(page, id, 'data-frame-index');
    const scrubber = page.getByTestId('frame-scrubber');
    const max = Number((await scrubber.getAttribute('max')) ?? '0');
    expect(max).toBeGreaterThan(0);
    for (const target of [max, 0, Math.floor(max / 2)]) {
      await scrubber.fill(String(target));
      await poll(async () => frameIndex('frame-a')).toBe(String(target));
      expect(await frameIndex('frame-b')).toBe(String(target));
    }
    await page.getByTestId('play-toggle').click();
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const pair = await page.evaluate(() =>
        ['frame-a', 'frame-b'].map(
          (id) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-frame-index') ?? null,
        ),
      );
      expect(pair[0]).toBe(pair[1]);
      if (pair[0] !== null && pair[0] !== undefined) seen.add(pair[0]);
      await page.waitForTimeout(80);
    }
    await page.getByTestId('play-toggle').click();
    expect(seen.size, 'playback advanced the frames').toBeGreaterThanOrEqual(2);
    await page.getByTestId('wipe-slider').waitFor();
    await page.getByTestId('diff-heatmap').waitFor();
    await saveViewScreenshot(page, 'compare');
  });

  it('exports a report that opens offline, prints to a PDF with pages, and a video that plays', async () => {
    expect(runs.baseline, 'the baseline run finished').toBeDefined();
    await page.getByTestId('export-html').click();
    const link = page.locator('[data-testid="export-result"][data-format="html"]');
    await link.first().waitFor({ timeout: 60_000 });
    const href = await link.first().getAttribute('href');
    expect(href).toBeTruthy();
    const reportUrl = new URL(href!, studio.origin).toString();

    const offline = await newStudioContext(browser);
    try {
      const { page: report, blocked } = await openOffline(offline, reportUrl);
      expect(blocked, 'the report fetched nothing besides itself').toEqual([]);
      // Charts render inline (SVG or canvas with a size) and the frames decode from the file itself.
      await poll(async () =>
        report.evaluate(
          () =>
            Array.from(document.querySelectorAll('svg, canvas')).filter((el) => {
              const box = el.getBoundingClientRect();
              return box.width > 20 && box.height > 20;
            }).length,
        ),
      ).toBeGreaterThan(0);
      await poll(async () =>
        report.evaluate(
          () => Array.from(document.images).filter((img) => img.complete && img.naturalWidth > 0).length,
        ),
      ).toBeGreaterThan(0);
      const text = await report.evaluate(() => document.body.innerText);
      expect(text).toContain('a green circle moving right on a white background');
      expect(text).toMatch(/PSNR/i);
      await saveViewScreenshot(report, 'report');
      const pdf = await report.pdf({ format: 'A4', printBackground: true });
      expect(pdfPageCount(pdf)).toBeGreaterThan(0);
    } finally {
      await offline.close();
    }

    // The JSON export carries the provenance the issue asks for.
    await page.getByTestId('export-json').click();
    const jsonLink = page.locator('[data-testid="export-result"][data-format="json"]');
    await jsonLink.first().waitFor({ timeout: 30_000 });
    const jsonUrl = new URL((await jsonLink.first().getAttribute('href'))!, studio.origin);
    const json = JSON.stringify(await (await fetch(jsonUrl)).json());
    expect(json).toContain(runs.target!);
    expect(json).toContain('"seed"');

    // "Print / Save as PDF" in a browser opens the report for the browser to print: print it.
    const [printable] = await Promise.all([
      context.waitForEvent('page'),
      page.getByTestId('export-pdf').click(),
    ]);
    await printable.waitForLoadState('load');
    expect(pdfPageCount(await printable.pdf({ format: 'A4' }))).toBeGreaterThan(0);
    await printable.close();

    // The video: MP4 encoded in the page with WebCodecs, and it plays back at the frames' size.
    await page.getByTestId('export-video').click();
    const videoLink = page.locator('[data-testid="export-result"][data-format="mp4"]');
    await videoLink.first().waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), videoLink.first().click()]);
    const mp4 = readFileSync(await download.path());
    expect(mp4.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const video = await playMp4(context, mp4);
    expect(video.width).toBeGreaterThan(0);
    expect(video.duration).toBeGreaterThan(0);
  });

  it('switches to presentation mode with the key numbers', async () => {
    await go('presentation');
    await page.getByTestId('presentation-view').waitFor();
    // Both runs are known by now, so every key number is a number (a dash would mean "not known").
    for (const id of ['pres-step', 'pres-elapsed', 'pres-speedup', 'pres-memory']) {
      await expect.poll(async () => page.getByTestId(id).innerText(), { timeout: 10_000 }).toMatch(/\d/);
    }
    expect(await page.getByTestId('pres-speedup').innerText()).toMatch(/\d+(\.\d+)?\s*×/);
    // The audience sees the speedup Compare computed, not another measurement of it.
    expect(firstNumber(await page.getByTestId('pres-speedup').innerText())).toBeCloseTo(compareSpeedup!, 1);
    await saveViewScreenshot(page, 'presentation');
    // Presentation hides the studio's chrome; leaving it brings the navigation back.
    await page.getByRole('link', { name: 'Leave presentation' }).click();
    await page.getByTestId('nav-history').waitFor();
  });

  it('keeps both runs in history, reopens one from its folder and offers to run it again', async () => {
    await go('history');
    const rows = page.getByTestId('history-row');
    await poll(async () => rows.count()).toBeGreaterThanOrEqual(2);
    for (const id of [runs.target!, runs.baseline!]) {
      expect(await historyRow(id).getAttribute('data-state')).toBe('finished');
    }
    await saveViewScreenshot(page, 'history');

    // Reopened from history, the paper-defaults run draws again from its stored events: 16 steps (leap at 15).
    await historyRow(runs.target!).getByTestId('history-open').click();
    await poll(async () => testIdAttr(page, 'step-timeline', 'data-steps-drawn')).toBe('16');
    expect(await testIdAttr(page, 'step-timeline', 'data-leap-step')).toBe('15');
    expect(await testIdAttr(page, 'run-state', 'data-state')).toBe('finished');

    // "Run again" fills the composer with that run's parameters (not started here).
    await go('history');
    await historyRow(runs.target!).getByTestId('history-rerun').click();
    await poll(async () => page.getByTestId('prompt-input').inputValue()).toBe(
      'a green circle moving right on a white background',
    );
    expect(await page.getByTestId('seed-input').inputValue()).toBe('7');
    expect(await page.getByTestId('steps-input').inputValue()).toBe('30');
    expect(await page.getByTestId('lpl-leap-step').inputValue()).toBe('16');
    expect(await page.getByTestId('tdtm-merge-steps').inputValue()).toBe('15');
  });

  it('serves a read-only mirror that follows the studio and refuses changes', async () => {
    const mirror = await context.newPage();
    try {
      await mirror.goto(studio.mirrorUrl);
      await mirror.getByTestId('nav-devices').click();
      await expect
        .poll(
          async () =>
            mirror
              .locator('[data-testid="device-row"][data-device-id="builtin"]')
              .getAttribute('data-status'),
          {
            timeout: 30_000,
          },
        )
        .toBe('paired');
      // No control that changes anything is offered.
      for (const id of ['pair-button', 'request-code', 'set-baseline', 'forget-device', 'manual-add']) {
        expect(await mirror.getByTestId(id).count(), `${id} on the mirror`).toBe(0);
      }
      await mirror.getByTestId('nav-history').click();
      await poll(async () => mirror.getByTestId('history-row').count()).toBeGreaterThanOrEqual(2);
      for (const id of ['history-delete', 'history-rerun', 'start-run', 'start-baseline', 'cancel-run']) {
        expect(await mirror.getByTestId(id).count(), `${id} on the mirror`).toBe(0);
      }
      await saveViewScreenshot(mirror, 'mirror');
      // A mutating call over the mirror's own bridge connection is refused by the studio, not just hidden.
      const reply = await bridgeCallFromPage(mirror, `mirror=${studio.mirrorToken}`, {
        command: 'runs.start',
        args: { deviceId: 'builtin', params: { prompt: 'not allowed', seed: 1, steps: 2 } },
      });
      expect(reply).toMatchObject({ id: 1, ok: false, error: { code: 'forbidden' } });
      // The mirror token is no API token either.
      expect((await studio.api('runs.list', {}, studio.mirrorToken)).status).toBe(401);
      expect((await listRuns()).length).toBe(2);
    } finally {
      await mirror.close();
    }
  });

  it('refuses a page and API calls with a wrong token', async () => {
    const wrong = `${'x'.repeat(32)}`;
    expect(await studio.api('devices.list', {}, wrong)).toMatchObject({
      status: 401,
      body: { ok: false, error: { code: 'unauthorized' } },
    });
    const intruder = await context.newPage();
    try {
      await intruder.goto(`${studio.origin}/?token=${wrong}`);
      const answer = await bridgeCallFromPage(intruder, `token=${wrong}`, {
        command: 'devices.list',
        args: {},
      });
      expect(answer).toEqual({ refused: true });
      await intruder.waitForTimeout(1500);
      expect(await intruder.getByTestId('device-row').count()).toBe(0);
      expect(await intruder.getByTestId('history-row').count()).toBe(0);
    } finally {
      await intruder.close();
    }
    // Nothing here used the user's files: the studio kept everything under its temporary HOME.
    expect(readFileSync(`${studio.dataDir}/runs/${runs.target}/run.json`, 'utf8')).toContain(runs.target!);
  });

  it('adds a device by host:port and pairs it with the code the device shows', async () => {
    // A second companion on loopback, not advertised (as on a network where mDNS fails). It replays the
    // paper-defaults run's event log instead of loading a model, so it starts at once.
    let device: CompanionProcess | undefined;
    try {
      device = await startCompanion({
        modelDir: mkdtempSync(join(tmpdir(), 'odsora-e2e-unused-model-')),
        name: 'Replay device (e2e)',
        extraArgs: [
          '--no-advertise',
          '--replay',
          join(studio.dataDir, 'runs', runs.target!, 'events.jsonl'),
          '--replay-rate',
          '1000',
        ],
      });
      await go('devices');
      await page.getByTestId('manual-host').fill('127.0.0.1');
      await page.getByTestId('manual-port').fill(String(device.port));
      await page.getByTestId('manual-add').click();
      const row = page.getByTestId('device-row').filter({ hasText: 'Replay device (e2e)' });
      await expect.poll(async () => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('connected');
      const code = device.latestPairingCode();
      expect(code).toMatch(/^[0-9]{6}$/);
      // A wrong code is refused and the device stays unpaired.
      const wrongCode = code === '000000' ? '111111' : '000000';
      await row.getByTestId('pair-code-input').fill(wrongCode);
      await row.getByTestId('pair-button').click();
      await row.getByRole('alert').waitFor({ timeout: 15_000 });
      expect(await row.getAttribute('data-status')).not.toBe('paired');
      await row.getByTestId('pair-code-input').fill(code!);
      await row.getByTestId('pair-button').click();
      await expect.poll(async () => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('paired');
      await saveViewScreenshot(page, 'devices-manual-paired');

      // The paired device streams its replayed run into the studio's run folder like any device (the path
      // `odsora bench studio` measures): every recorded engine event arrives, in order, restamped at emission.
      const deviceId = await row.getAttribute('data-device-id');
      const started = await studio.api('runs.start', {
        deviceId,
        params: { prompt: 'replayed', seed: 1, steps: 30 },
      });
      const replayRunId = (started.body as { result: { run: { runId: string } } }).result.run.runId;
      await expect
        .poll(async () => (await listRuns()).find((r) => r.runId === replayRunId)?.state, { timeout: 60_000 })
        .toBe('finished');
      const original = readEngineEvents(studio.dataDir, runs.target!);
      const replayed = readEngineEvents(studio.dataDir, replayRunId);
      expect(replayed.map((e) => e.type)).toEqual(original.map((e) => e.type));
      for (let i = 1; i < replayed.length; i++)
        expect(replayed[i]!.atMs).toBeGreaterThanOrEqual(replayed[i - 1]!.atMs);

      // Deleting it from history removes the row and the run folder; the other runs stay.
      await go('history');
      await historyRow(replayRunId).getByTestId('history-delete').click();
      await poll(async () => historyRow(replayRunId).count()).toBe(0);
      expect(existsSync(join(studio.dataDir, 'runs', replayRunId))).toBe(false);
      expect((await listRuns()).map((r) => r.runId).sort()).toEqual([runs.target!, runs.baseline!].sort());
    } finally {
      await stopCompanion(device);
    }
  });
});
