/**
 * Runs the real studio as a user would: `odsora studio --web --port 0` (bin/odsora.cjs) as a child process, with
 * HOME, the XDG folders, the studio data and the model cache all under one temporary folder, so nothing touches
 * the user's files. Reads the full-control and mirror URLs it prints, keeps stderr for diagnostics and stops it
 * (SIGTERM, then SIGKILL) on teardown. The studio starts its built-in device (the bundled Open-Sora Nano) itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Repository root. */
export const STUDIO_REPO_ROOT = join(__dirname, '..', '..');

/** A running `odsora studio --web`. */
export interface StudioProcess {
  readonly child: ChildProcess;
  /** Full-control page URL (`…/?token=…`). */
  readonly url: string;
  /** Read-only mirror URL (`…/?mirror=…`). */
  readonly mirrorUrl: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly token: string;
  readonly mirrorToken: string;
  /** The temporary HOME holding every file this studio writes. */
  readonly home: string;
  /** The studio's data folder (`runs/`, keys, the built-in device's state). */
  readonly dataDir: string;
  /** Everything the studio printed on stderr so far (bounded). */
  stderr(): string;
  /** Calls a contract command over the token-protected HTTP API, as a script would. */
  api(command: string, args?: unknown, token?: string): Promise<{ status: number; body: unknown }>;
  /** Stops the studio (SIGTERM, SIGKILL after 10 s) and removes its temporary HOME. */
  stop(): Promise<void>;
}

/** Options of {@link startStudioProcess}. */
export interface StartStudioOptions {
  /** How long to wait for the URLs (default 180 s: the first start may build the renderer). */
  readyTimeoutMs?: number;
  /** Extra environment for the studio. */
  env?: Record<string, string>;
  /** Fills the studio's data folder before it starts (e.g. run folders history should find). */
  prepare?: (dataDir: string) => void | Promise<void>;
}

/** Parses the lines `odsora studio --web` prints (see describeWebStudio) into its two URLs. */
export function parseStudioUrls(stdout: string): { url: string; mirrorUrl: string } | null {
  const url = /Full control:\s+(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(stdout)?.[1];
  const mirrorUrl = /Read-only mirror:\s+(http:\/\/127\.0\.0\.1:\d+\/\?mirror=[A-Za-z0-9_-]+)/.exec(
    stdout,
  )?.[1];
  return url !== undefined && mirrorUrl !== undefined ? { url, mirrorUrl } : null;
}

/** Starts `odsora studio --web --port 0` in a fresh temporary HOME and waits until it prints its URLs. */
export async function startStudioProcess(opts: StartStudioOptions = {}): Promise<StudioProcess> {
  const home = mkdtempSync(join(tmpdir(), 'odsora-e2e-home-'));
  const dataDir = join(home, 'studio-data');
  for (const dir of ['config', 'data', 'cache', 'state']) mkdirSync(join(home, dir));
  await opts.prepare?.(dataDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_STATE_HOME: join(home, 'state'),
    ODSORA_STUDIO_DATA: dataDir,
    ODSORA_CACHE: join(home, 'cache', 'odsora'),
    ...opts.env,
  };
  const child = spawn(
    process.execPath,
    [join(STUDIO_REPO_ROOT, 'bin', 'odsora.cjs'), 'studio', '--web', '--port', '0'],
    {
      cwd: STUDIO_REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-200_000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  const urls = await new Promise<{ url: string; mirrorUrl: string }>((resolve, reject) => {
    const timeoutMs = opts.readyTimeoutMs ?? 180_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`odsora studio --web printed no URLs within ${timeoutMs} ms.\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      const found = parseStudioUrls(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`odsora studio --web exited (${code ?? signal}) before printing its URLs.\n${stderr}`),
      );
    });
  });
  const parsed = new URL(urls.url);
  const token = parsed.searchParams.get('token') ?? '';
  const mirrorToken = new URL(urls.mirrorUrl).searchParams.get('mirror') ?? '';

  return {
    child,
    url: urls.url,
    mirrorUrl: urls.mirrorUrl,
    origin: parsed.origin,
    token,
    mirrorToken,
    home,
    dataDir,
    stderr: () => stderr,
    async api(command, args = {}, useToken = token) {
      const res = await fetch(`${parsed.origin}/api/${command}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${useToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(args),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The built-in device's status in the studio's device list (`paired` once it can run jobs), or undefined. */
export async function builtinStatus(studio: Pick<StudioProcess, 'api'>): Promise<string | undefined> {
  const { body } = await studio.api('devices.list');
  const list = (body as { result: { devices: { id: string; status: string }[] } }).result.devices;
  return list.find((d) => d.id === 'builtin')?.status;
}
