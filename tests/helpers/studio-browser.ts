/**
 * Debian's Chromium driven by playwright-core, launched exactly as the machine notes say (no downloaded browser,
 * no `npx playwright install`), with helpers the studio's browser tests share: a page with animations off, and
 * screenshots saved as test artifacts under `artifacts/e2e/<view>.png`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { STUDIO_REPO_ROOT } from './studio-process';

/** Where the browser tests expect Chromium (`apt-get install chromium`; `.ci/run` installs it). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The flags the machine notes name for headless Chromium on these machines. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Folder of the screenshots the e2e tests save (git-ignored). */
export const E2E_ARTIFACTS_DIR = join(STUDIO_REPO_ROOT, 'artifacts', 'e2e');

/** Throws a clear error (the suite fails, it does not skip) when Debian's Chromium is missing. */
export function requireChromium(path: string = CHROMIUM_PATH): void {
  if (!existsSync(path)) {
    throw new Error(
      `The studio's browser tests need Debian's Chromium at ${path}, which is missing. ` +
        'Install it with `sudo apt-get install -y chromium` (.ci/run does this); never `npx playwright install`.',
    );
  }
}

/** Launches Debian's Chromium headless. */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** A fresh context with reduced motion, a fixed viewport and animations/transitions turned off on every page. */
export async function newStudioContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    reducedMotion: 'reduce',
    deviceScaleFactor: 1,
  });
  await context.addInitScript(() => {
    const style = (): void => {
      const el = document.createElement('style');
      el.textContent =
        '*, *::before, *::after { animation: none !important; transition: none !important; caret-color: transparent !important; }';
      document.head.appendChild(el);
    };
    if (document.head) style();
    else document.addEventListener('DOMContentLoaded', style, { once: true });
  });
  return context;
}

/** Saves a screenshot of the page as `artifacts/e2e/<view>.png` and returns its path. */
export async function saveViewScreenshot(page: Page, view: string): Promise<string> {
  mkdirSync(E2E_ARTIFACTS_DIR, { recursive: true });
  const path = join(E2E_ARTIFACTS_DIR, `${view}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}
