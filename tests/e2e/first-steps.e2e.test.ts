// What a newcomer meets first, in Debian's Chromium against `odsora studio --web` (a real child process in a
// temporary HOME, with its built-in device): a companion started as the README says shows up connected by itself;
// another studio's built-in device never shows up; two devices with one name are told apart; the composer says
// what "LPL 16/30" means, and warns about prompt words the model does not know before anything runs.
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import { startCompanion, stopCompanion, type CompanionProcess } from '../helpers/companion-process';
import { startStudioProcess, type StudioProcess } from '../helpers/studio-process';

const BUILTIN_NAME = 'Built-in iPhone 15 Pro (simulated)';

let ui: StudioPage | undefined;
let page: Page;
const companions: CompanionProcess[] = [];
let otherStudio: StudioProcess | undefined;

beforeAll(async () => {
  ui = await openStudioPage();
  page = ui.page;
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(async () => {
  for (const c of companions) await stopCompanion(c);
  await otherStudio?.stop();
  await ui?.close();
});

function poll<T>(read: () => Promise<T>, timeoutMs = 30_000) {
  return expect.poll(read, { timeout: timeoutMs, interval: 200 });
}

/** The Devices screen's row of a device entry. */
function deviceRow(id: string) {
  return page.locator(`[data-testid="device-row"][data-device-id="${id}"]`);
}

/** The built-in device of a studio process, once it paired (through its HTTP API). */
async function pairedBuiltinId(s: StudioProcess): Promise<string> {
  let deviceId: string | null = null;
  await poll(async () => {
    const { body } = await s.api('devices.list');
    const devices = (
      body as { result?: { devices: { id: string; deviceId: string | null; status: string }[] } }
    ).result?.devices;
    const builtin = devices?.find((d) => d.id === 'builtin');
    deviceId = builtin?.deviceId ?? null;
    return builtin?.status;
  }, 120_000).toBe('paired');
  return deviceId!;
}

describe('a newcomer’s first steps in the studio', () => {
  it('lists a companion started as the README says, connected, without adding it by address', async () => {
    await page.getByTestId('nav-devices').click();
    await poll(async () => deviceRow('builtin').getAttribute('data-status'), 120_000).toBe('paired');
    const name = `lab-phone ${randomUUID().slice(0, 8)}`;
    const phone = await startCompanion({ name, loopback: false });
    companions.push(phone);
    const row = deviceRow(phone.ready.id);
    await poll(async () => row.getAttribute('data-status')).toBe('connected');
    expect(await row.innerText()).toContain(name);
    expect(await row.innerText()).toMatch(/via discovered/);
    // It can be paired right there with the code it printed.
    await row.getByTestId('pair-code-input').fill(phone.latestPairingCode() ?? '');
    await row.getByTestId('pair-button').click();
    await poll(async () => row.getAttribute('data-status')).toBe('paired');
  });

  it('never lists another studio’s built-in device, and tells two devices of one name apart', async () => {
    otherStudio = await startStudioProcess();
    const theirs = await pairedBuiltinId(otherStudio);
    // A companion announced under the built-in device's very name (discovery works: it shows up).
    const namesake = await startCompanion({ name: BUILTIN_NAME });
    companions.push(namesake);
    await poll(async () => deviceRow(namesake.ready.id).getAttribute('data-status')).toBe('connected');
    // Announcements repeat 1 s and 3 s after a start: a leaked one has had its chances.
    await page.waitForTimeout(4000);
    expect(await deviceRow(theirs).count()).toBe(0);
    // Other tests on this machine may announce devices of that name too: every one of them is told apart.
    const sameName = page.locator('[data-testid="device-row"]', { hasText: BUILTIN_NAME });
    expect(await sameName.count()).toBeGreaterThanOrEqual(2);
    const shown = await sameName.getByTestId('device-distinction').allInnerTexts();
    expect(shown).toHaveLength(await sameName.count());
    expect(new Set(shown).size).toBe(shown.length);
    const distinction = async (id: string): Promise<string> =>
      deviceRow(id).getByTestId('device-distinction').innerText();
    expect(await distinction('builtin')).toMatch(/^built in · id …[0-9a-f]{6}$/);
    expect(await distinction(namesake.ready.id)).toBe(
      `127.0.0.1:${namesake.port} · id …${namesake.ready.id.slice(-6)}`,
    );
    await saveViewScreenshot(page, 'devices-same-name');
  });

  it('shows the fixed leap as LPL N/steps, counted from 1', async () => {
    await page.getByTestId('nav-composer').click();
    await page.getByTestId('preset-paper').click();
    await poll(async () => page.getByTestId('lpl-leap-step').inputValue()).toBe('16');
    expect(await page.getByTestId('lpl-leap-step-label').innerText()).toBe('LPL 16/30');
    await page.getByTestId('lpl-leap-step').fill('30');
    await poll(async () => page.getByTestId('lpl-leap-step-label').innerText()).toBe('LPL 30/30');
    expect(await page.getByTestId('composer-error').count()).toBe(0);
    await page.getByTestId('lpl-leap-step').fill('31');
    await poll(async () => page.getByTestId('composer-error').innerText()).toMatch(/must be 1\.\.30/);
    await page.getByTestId('lpl-leap-step').fill('16');
  });

  it('warns about prompt words the model does not know before the run, and offers the ones it knows', async () => {
    await page.getByTestId('device-select').selectOption('builtin');
    await page.getByTestId('prompt-input').fill('a purple elephant moving left on a black background');
    const warning = page.getByTestId('prompt-warning');
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.innerText()).toMatch(/does not know elephant/);
    expect(await page.getByTestId('unknown-word').allInnerTexts()).toEqual(['elephant']);
    const offered = await page.getByTestId('prompt-vocabulary').getByRole('button').allInnerTexts();
    expect(offered).toEqual(expect.arrayContaining(['circle', 'square', 'triangle', 'purple', 'growing']));
    await saveViewScreenshot(page, 'composer-unknown-words');
    await page
      .getByTestId('prompt-vocabulary')
      .getByRole('button', { name: 'triangle', exact: true })
      .click();
    await poll(async () => page.getByTestId('prompt-input').inputValue()).toBe(
      'a purple triangle moving left on a black background',
    );
    await poll(async () => warning.count()).toBe(0);
  });
});
