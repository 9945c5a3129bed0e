/**
 * The processes `odsora bench studio` drives, each a real child process of the built command line: the studio in
 * web mode (`odsora studio --web --port 0`, with its built-in device) and the replay companion (`odsora companion
 * --replay …`). Both run under a temporary HOME so the bench never touches the user's studio data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** A child process that prints something we wait for, with its stderr kept for error messages. */
export interface BenchChild {
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** The web studio the bench measures. */
export interface BenchStudio extends BenchChild {
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  /** Its data folder (runs/<id>/events.jsonl are read from here). */
  readonly dataDir: string;
  /** Calls a contract command over the HTTP API; throws with the studio's error message when it fails. */
  call<T>(command: string, args?: unknown): Promise<T>;
}

/** The first line `odsora companion --replay … --json` prints. */
const replayReadySchema = z.object({
  port: z.number().int().positive(),
  id: z.string(),
  pairingCode: z.string(),
  timeOriginEpochMs: z.number(),
  replay: z.object({ events: z.number().int(), logEvents: z.number().int(), ratePerSecond: z.number() }),
});

/** A running replay companion. */
export interface BenchReplayDevice extends BenchChild {
  readonly ready: z.infer<typeof replayReadySchema>;
}

/** Environment that keeps every file of a child under `home`. */
function isolatedEnv(home: string): NodeJS.ProcessEnv {
  for (const dir of ['config', 'data', 'cache']) mkdirSync(join(home, dir), { recursive: true });
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CACHE_HOME: join(home, 'cache'),
    ODSORA_STUDIO_DATA: join(home, 'studio'),
    ODSORA_CACHE: join(home, 'cache', 'odsora'),
  };
}

function spawnChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  onStdout: (all: string) => boolean,
  what: string,
  timeoutMs: number,
): Promise<BenchChild> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-50_000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const handle: BenchChild = {
    child,
    stderr: () => stderr,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start within ${timeoutMs} ms: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      if (onStdout(stdout)) {
        clearTimeout(timer);
        resolve(handle);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready: ${stderr.slice(-2000)}`));
    });
  });
}

/** Starts `odsora studio --web --port 0` and waits for its URL. */
export async function startBenchStudio(cliPath: string, home: string): Promise<BenchStudio> {
  let url = '';
  const base = await spawnChild(
    [cliPath, 'studio', '--web', '--port', '0'],
    isolatedEnv(home),
    (out) => {
      url = /Full control:\s+(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(out)?.[1] ?? '';
      return url !== '';
    },
    'odsora studio --web',
    300_000,
  );
  const parsed = new URL(url);
  const token = parsed.searchParams.get('token') ?? '';
  return {
    ...base,
    url,
    origin: parsed.origin,
    token,
    dataDir: join(home, 'studio'),
    async call<T>(command: string, args: unknown = {}): Promise<T> {
      const res = await fetch(`${parsed.origin}/api/${command}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(args),
      });
      const body = (await res.json()) as { ok: boolean; result?: T; error?: { message: string } };
      if (!body.ok) throw new Error(`${command}: ${body.error?.message ?? res.status}`);
      return body.result as T;
    },
  };
}

/** Starts the replay companion on loopback (no Bonjour) and waits for its JSON line. */
export async function startBenchReplayDevice(
  cliPath: string,
  home: string,
  opts: { logPath: string; ratePerSecond: number; count: number },
): Promise<BenchReplayDevice> {
  const got: { ready?: z.infer<typeof replayReadySchema> } = {};
  const base = await spawnChild(
    [
      cliPath,
      'companion',
      '--replay',
      opts.logPath,
      '--replay-rate',
      String(opts.ratePerSecond),
      '--replay-count',
      String(opts.count),
      '--json',
      '--port',
      '0',
      '--no-advertise',
      '--data',
      join(home, 'replay-device'),
      '--name',
      'Replay device (bench)',
    ],
    isolatedEnv(home),
    (out) => {
      const line = out.split('\n')[0];
      if (line === undefined || !out.includes('\n')) return false;
      got.ready = replayReadySchema.parse(JSON.parse(line));
      return true;
    },
    'odsora companion --replay',
    60_000,
  );
  if (got.ready === undefined) throw new Error('odsora companion --replay printed no JSON line');
  return { ...base, ready: got.ready };
}
