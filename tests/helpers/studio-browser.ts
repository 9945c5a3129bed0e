/**
 * Debian's Chromium driven by playwright-core, launched exactly as the machine notes say (no downloaded browser,
 * no `npx playwright install`), with helpers the studio's browser tests share: the studio opened in a page
 * (`openStudioPage`: Chromium, `odsora studio --web`, one page on its full-control URL), a page with animations off,
 * and screenshots saved as test artifacts under `artifacts/e2e/<view>.png`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  startStudioProcess,
  STUDIO_REPO_ROOT,
  type StartStudioOptions,
  type StudioProcess,
} from './studio-process';

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

/** The studio open in Debian's Chromium, as every e2e file starts it. */
export interface StudioPage {
  readonly browser: Browser;
  /** The context of `page` (see {@link newStudioContext}). */
  readonly context: BrowserContext;
  /** A page on the studio's full-control URL. */
  readonly page: Page;
  readonly studio: StudioProcess;
  /** Closes the browser, then stops the studio (removing its temporary HOME). */
  close(): Promise<void>;
}

/** Options of {@link openStudioPage}: the studio's, and the page's viewport when not the context's 1440 × 900. */
export interface OpenStudioPageOptions extends StartStudioOptions {
  viewport?: { width: number; height: number };
  /** Called with the page before it loads the studio (e.g. to watch its bridge WebSocket from the start). */
  beforeGoto?: (page: Page) => void;
}

/** The hook timeout `beforeAll` needs around {@link openStudioPage} (the first start may build the renderer). */
export const OPEN_STUDIO_PAGE_TIMEOUT_MS = 240_000;

/**
 * Launches Chromium (first: a missing /usr/bin/chromium fails the suite with its install hint right away), starts
 * `odsora studio --web` (startStudioProcess) and opens its full-control URL in a fresh studio context. Whatever
 * was started is stopped again when a later step fails.
 */
export async function openStudioPage(opts: OpenStudioPageOptions = {}): Promise<StudioPage> {
  const { viewport, beforeGoto, ...studioOpts } = opts;
  const browser = await launchChromium();
  let studio: StudioProcess | undefined;
  try {
    studio = await startStudioProcess(studioOpts);
    const context = await newStudioContext(browser);
    const page = await context.newPage();
    if (viewport !== undefined) await page.setViewportSize(viewport);
    beforeGoto?.(page);
    await page.goto(studio.url);
    const started = studio;
    return {
      browser,
      context,
      page,
      studio: started,
      async close() {
        await browser.close();
        await started.stop();
      },
    };
  } catch (e) {
    await browser.close();
    await studio?.stop();
    throw e;
  }
}
