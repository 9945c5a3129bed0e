/**
 * Runs the real Node companion host (`odsora companion`, the BUILT command line out/cli/odsora.cjs) as a child
 * process on loopback: `--json --port 0 [--loopback] --models <fixture model dir> --data <dir> --profile
 * iphone-15-pro`. Reads the JSON line it prints first ({port, id, name, pairingCode}), keeps later stdout lines
 * (new pairing codes) and stderr for diagnostics, and kills it on teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureModelDir } from './fixture-model-dir';
import { CLI_PATH, ensureCliBuilt, REPO_ROOT } from './odsora-cli';

/** The first line `odsora companion --json` prints. */
export interface CompanionReady {
  port: number;
  id: string;
  name: string;
  pairingCode: string | null;
  [key: string]: unknown;
}

/** A running companion process. */
export interface CompanionProcess {
  readonly child: ChildProcess;
  readonly ready: CompanionReady;
  readonly port: number;
  readonly dataDir: string;
  readonly modelDir: string;
  /** Every stdout line so far. */
  readonly stdoutLines: string[];
  /** stderr so far (bounded). */
  stderr(): string;
  /** The most recent pairing code the host printed (a `pairingCode` field on any JSON stdout line). */
  latestPairingCode(): string | null;
  /** True while the process runs. */
  alive(): boolean;
  /** Resolves with the exit code/signal once it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL now (a crash); resolves once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Options of {@link startCompanion}. */
export interface StartCompanionOptions {
  /** State directory (default a new temp dir); pass the same one to restart "the same device". */
  dataDir?: string;
  /** Model directory (default a fresh fixture model dir). */
  modelDir?: string;
  profile?: 'iphone-15-pro' | 'desktop' | 'gpu';
  name?: string;
  extraArgs?: string[];
  /** Pass `--loopback` (default true); false starts it as a person would, announcing wherever `--host` says. */
  loopback?: boolean;
  /** How long to wait for the JSON line (default 60 s). */
  readyTimeoutMs?: number;
}

/** Starts `odsora companion` and waits for its JSON line. */
export async function startCompanion(opts: StartCompanionOptions = {}): Promise<CompanionProcess> {
  ensureCliBuilt();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'odsora-companion-data-'));
  const modelDir = opts.modelDir ?? fixtureModelDir();
  const args = [
    CLI_PATH,
    'companion',
    '--json',
    '--port',
    '0',
    ...(opts.loopback === false ? [] : ['--loopback']),
    '--models',
    modelDir,
    '--data',
    dataDir,
    '--profile',
    opts.profile ?? 'iphone-15-pro',
    ...(opts.name === undefined ? [] : ['--name', opts.name]),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ODSORA_CACHE: join(dataDir, 'cache') },
  });
  const stdoutLines: string[] = [];
  let stderr = '';
  let partial = '';
  let onLine: ((line: string) => void) | null = null;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      if (line === '') continue;
      stdoutLines.push(line);
      onLine?.(line);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-200_000);
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    }),
  );

  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const ready = await new Promise<CompanionReady>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`odsora companion printed no JSON line within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    const tryLine = (line: string): boolean => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        return false;
      }
      const r = json as Partial<CompanionReady>;
      if (typeof r !== 'object' || r === null || typeof r.port !== 'number' || typeof r.id !== 'string')
        return false;
      clearTimeout(timer);
      onLine = null;
      resolve(r as CompanionReady);
      return true;
    };
    for (const line of stdoutLines) if (tryLine(line)) return;
    onLine = (line) => void tryLine(line);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`odsora companion exited (${code ?? signal}) before its JSON line; stderr:\n${stderr}`),
      );
    });
  });

  const proc: CompanionProcess = {
    child,
    ready,
    port: ready.port,
    dataDir,
    modelDir,
    stdoutLines,
    stderr: () => stderr,
    latestPairingCode(): string | null {
      for (let i = stdoutLines.length - 1; i >= 0; i--) {
        try {
          const j = JSON.parse(stdoutLines[i]!) as { pairingCode?: unknown; code?: unknown };
          const code = j.pairingCode ?? j.code;
          if (typeof code === 'string' && /^[0-9]{6}$/.test(code)) return code;
        } catch {
          const m = /\b([0-9]{6})\b/.exec(stdoutLines[i]!);
          if (m) return m[1]!;
        }
      }
      return null;
    },
    alive: () => exitInfo === null && child.exitCode === null && child.signalCode === null,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
      if (proc.alive()) child.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (proc.alive()) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  return proc;
}

/** Kills the process and removes its directories (unless `keepData`). Safe to call with undefined. */
export async function stopCompanion(
  proc: CompanionProcess | undefined,
  opts: { keepData?: boolean; keepModels?: boolean } = {},
): Promise<void> {
  if (!proc) return;
  await proc.kill('SIGTERM');
  if (!opts.keepData) rmSync(proc.dataDir, { recursive: true, force: true });
  if (!opts.keepModels) rmSync(proc.modelDir, { recursive: true, force: true });
}

/** Waits until `check` is true (polling), or throws after `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
