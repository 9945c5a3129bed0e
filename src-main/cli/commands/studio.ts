// `odsora studio [--web] [--port N] [--rebuild]`: opens the studio in Electron, or serves it to a browser on
// 127.0.0.1. Without an Electron binary (or a display) it says so and falls back to the browser page.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { createStudioServices } from '../../studio/services/index';
import { startWebStudio, type WebStudio } from '../../studio/web-server';
import { examples } from '../help';

interface StudioOptions {
  web?: boolean;
  port: number;
  rebuild?: boolean;
  model?: string;
}

export function registerStudio(program: Command): void {
  program
    .command('studio')
    .description('open the studio: an Electron window, or with --web a page in your browser')
    .option('--web', 'serve the studio to a browser on 127.0.0.1 instead of opening Electron')
    .option('--port <n>', 'port for the web studio (0 picks a free one)', parsePort, 0)
    .option('--rebuild', 'rebuild the studio (out/main, out/preload, out/renderer) before starting')
    .option(
      '--model <dir>',
      'the model the built-in device serves: a model directory or converted block set (default: the bundled Open-Sora Nano; a full-size Open-Sora v1.2 runs under the phone’s 3.3 GB process limit)',
    )
    .addHelpText(
      'after',
      examples([
        { what: 'the studio (Electron, or the browser page where there is none)', args: 'studio' },
        {
          what: 'the web studio on a fixed port: open the printed link yourself',
          args: 'studio --web --port 5178',
        },
      ]),
    )
    .action(async (options: StudioOptions) => {
      if (options.model !== undefined) process.env['ODSORA_MODEL'] = resolve(options.model);
      process.exitCode = await runStudio(options);
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

async function runStudio(options: StudioOptions): Promise<number> {
  const root = findProjectRoot();
  if (options.web) {
    await ensureBuilt(root, { electron: false, force: options.rebuild === true });
    return serveUntilStopped(root, options.port, 'On-device Sora Studio (web)');
  }
  const electron = findElectronBinary(root);
  const noDisplay =
    process.platform === 'linux' && !process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY'];
  if (electron === null || noDisplay) {
    const why =
      electron === null ? 'No Electron binary on this machine' : 'No display for an Electron window';
    await ensureBuilt(root, { electron: false, force: options.rebuild === true });
    return serveUntilStopped(root, options.port, `${why}; starting web mode`);
  }
  await ensureBuilt(root, { electron: true, force: options.rebuild === true });
  return runElectron(electron, root);
}

/** The checkout or install folder: the nearest parent holding this project's package.json. */
export function findProjectRoot(
  start: string = typeof __dirname === 'string' ? __dirname : process.cwd(),
): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && readPackage(pkg).name === 'odsora-studio') return dir;
    if (dirname(dir) === dir) throw new Error(`No odsora-studio package.json above ${start}`);
  }
}

/** A package.json's name and version (empty when it cannot be read). */
export function readPackage(file: string): { name?: string; version?: string } {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
  } catch {
    return {};
  }
}

/** The Electron executable, or null: the npm package installs without one here and `require` then throws. */
function findElectronBinary(root: string): string | null {
  try {
    const binary: unknown = createRequire(join(root, 'package.json'))('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Newest modification time (ms) of the files under `dir` (0 when it does not exist). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Runs `electron-vite build` (main, preload and renderer from electron.vite.config.ts) when outputs are missing or
 * older than the sources they are built from, so a pulled or edited checkout never serves a stale studio.
 */
async function ensureBuilt(root: string, need: { electron: boolean; force: boolean }): Promise<void> {
  const outputs = ['out/renderer/index.html'];
  if (need.electron) outputs.push('out/main/index.js', 'out/preload/index.js');
  const sources = Math.max(
    ...['src-renderer', 'shared', ...(need.electron ? ['src-main'] : [])].map((d) =>
      newestMtime(join(root, d)),
    ),
  );
  const fresh = outputs.every(
    (file) => existsSync(join(root, file)) && statSync(join(root, file)).mtimeMs >= sources,
  );
  if (!need.force && fresh) return;
  let cli: string;
  try {
    cli = join(
      dirname(createRequire(join(root, 'package.json')).resolve('electron-vite/package.json')),
      'bin',
    );
  } catch {
    throw new Error('The studio is not built and electron-vite is not installed: run `npm install` first.');
  }
  console.log('Building the studio (electron-vite build)…');
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, [join(cli, 'electron-vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: root,
      stdio: 'inherit',
    });
    child.on('error', fail);
    child.on('exit', (status) => done(status));
  });
  if (code !== 0) throw new Error(`electron-vite build failed (exit ${code ?? 'signal'})`);
}

/** The lines `odsora studio --web` prints: the full-control URL with its warning, then the read-only mirror URL. */
export function describeWebStudio(studio: Pick<WebStudio, 'url' | 'mirrorUrl'>, heading: string): string[] {
  return [
    heading,
    `  Full control:        ${studio.url}`,
    '    Warning: anyone with this link can drive the studio (pair devices, start and cancel runs).',
    '    Do not share it, paste it into chats or show it on screen.',
    `  Read-only mirror:    ${studio.mirrorUrl}`,
    '    For a second screen or an audience: follows devices and runs live, cannot change anything.',
    'Both links stop working when you stop this command (Ctrl+C).',
  ];
}

/** Serves the web studio until Ctrl+C or SIGTERM, then closes it. */
async function serveUntilStopped(root: string, port: number, heading: string): Promise<number> {
  const appVersion = readPackage(join(root, 'package.json')).version ?? '0.0.0';
  const services = await createStudioServices({
    appVersion,
    platform: 'web',
    log: (line) => console.error(line),
  });
  const studio = await startWebStudio({
    port,
    host: '127.0.0.1',
    staticDir: join(root, 'out/renderer'),
    appVersion,
    dispatch: services.dispatch,
    onEvent: (listener) => services.onEvent(listener),
    reports: services.reports,
  });
  for (const line of describeWebStudio(studio, heading)) console.log(line);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await studio.close();
  await services.close();
  return 0;
}

/** Starts Electron on the built app, forwards Ctrl+C and SIGTERM to it, and mirrors its exit code. */
function runElectron(binary: string, root: string): Promise<number> {
  const env = { ...process.env };
  delete env['ELECTRON_RUN_AS_NODE']; // set, it would make Electron behave as plain Node
  return new Promise((done, fail) => {
    const child = spawn(binary, [root], { cwd: root, env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      done(code ?? (signal ? 1 : 0));
    });
  });
}
