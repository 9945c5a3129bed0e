// The README's quick-start screenshot (docs/quick-start-compare.png): the quick start's steps done in Debian's
// Chromium (playwright-core, /usr/bin/chromium) against `odsora studio --web` in a temporary HOME — the built-in
// device as baseline, a Paper-defaults run, its baseline — then the Compare screen. Run from the repository root
// after `npm run build:cli`: `node scripts/quick-start-screenshot.mjs`.
/* global document, window -- inside page.evaluate */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
const root = resolve(process.argv[2] ?? '.');
const outPng = resolve(process.argv[3] ?? 'docs/quick-start-compare.png');
const require = createRequire(join(root, 'package.json'));
const { chromium } = require('playwright-core');
const home = mkdtempSync(join(tmpdir(), 'odsora-screenshot-home-'));
for (const d of ['config', 'data', 'cache', 'state']) mkdirSync(join(home, d));
const env = {
  ...process.env,
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'config'),
  XDG_DATA_HOME: join(home, 'data'),
  XDG_CACHE_HOME: join(home, 'cache'),
  XDG_STATE_HOME: join(home, 'state'),
  ODSORA_STUDIO_DATA: join(home, 'studio-data'),
  ODSORA_CACHE: join(home, 'cache', 'odsora'),
};
const child = spawn(process.execPath, [join(root, 'bin/odsora.cjs'), 'studio', '--web', '--port', '0'], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
child.stdout.on('data', (d) => {
  out += d;
});
child.stderr.on('data', (d) => process.stderr.write(d));
const url = await new Promise((ok, fail) => {
  const t = setInterval(() => {
    const m = /Full control:\s+(\S+)/.exec(out);
    if (m) {
      clearInterval(t);
      ok(m[1]);
    }
  }, 200);
  setTimeout(() => fail(new Error('no url: ' + out)), 300000);
});
console.log('url', url);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
try {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 1000 },
    reducedMotion: 'reduce',
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByTestId('nav-devices').click();
  const row = page.locator('[data-testid="device-row"][data-device-id="builtin"]');
  await row.and(page.locator('[data-status="paired"]')).waitFor({ timeout: 120000 });
  await row.getByTestId('set-baseline').click();
  await row.and(page.locator('[data-baseline="true"]')).waitFor({ timeout: 20000 });
  await page.getByTestId('nav-composer').click();
  await page.getByTestId('preset-paper').click();
  await page.getByTestId('prompt-input').fill('a red circle moving right on a black background');
  await page.getByTestId('seed-input').fill('42');
  await page.locator('[data-testid="preflight"][data-fits="true"]').waitFor({ timeout: 30000 });
  await page.getByTestId('start-run').click();
  if ((await page.getByTestId('step-timeline').count()) === 0) await page.getByTestId('nav-live').click();
  await page.locator('[data-testid="run-state"][data-state="finished"]').waitFor({ timeout: 120000 });
  await page.getByTestId('nav-compare').click();
  await page.getByTestId('start-baseline').click();
  await page.getByTestId('compare-view').waitFor({ timeout: 120000 });
  for (const id of ['metric-psnr', 'metric-ssim', 'metric-speedup']) {
    for (let i = 0; i < 600; i++) {
      if (/\d/.test(await page.getByTestId(id).innerText())) break;
      await page.waitForTimeout(200);
    }
  }
  await page.getByTestId('frame-scrubber').fill('8');
  await page.waitForTimeout(1000);
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('*')) el.scrollTop = 0;
    window.scrollTo(0, 0);
  });
  await page.waitForTimeout(300);
  await page.screenshot({ path: outPng, fullPage: false, animations: 'disabled' });
  console.log('saved', outPng);
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(home, { recursive: true, force: true });
}
