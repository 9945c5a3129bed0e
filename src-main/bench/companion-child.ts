/**
 * A real companion process for the protocol benches (`odsora bench protocol`, its `--fuzz` mode): `odsora companion
 * --json --port 0 --no-advertise` on a model directory, in a fresh data directory, stopped (SIGTERM, then SIGKILL
 * after 5 s) and cleaned up by {@link CompanionChild.stop}.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Options of {@link startCompanionChild}. */
export interface CompanionChildOptions {
  /** Model directory (`--models`). */
  models: string;
  /** The built command line (default out/cli/odsora.cjs under the current directory). */
  cliPath?: string;
  profile?: 'iphone-15-pro' | 'desktop' | 'gpu';
  extraArgs?: readonly string[];
}

/** A started companion process. */
export interface CompanionChild {
  readonly port: number;
  readonly pairingCode: string;
  readonly pid: number;
  /** The last 20,000 characters of its stderr. */
  stderr(): string;
  /** True while it runs. */
  alive(): boolean;
  /** Its resident bytes now (Linux /proc; null elsewhere or once it is gone). */
  rssBytes(): number | null;
  stop(): Promise<void>;
}

/** Starts the companion and waits (up to 2 minutes) for its JSON line. */
export async function startCompanionChild(opts: CompanionChildOptions): Promise<CompanionChild> {
  const cli = resolve(opts.cliPath ?? join('out', 'cli', 'odsora.cjs'));
  const data = mkdtempSync(join(tmpdir(), 'odsora-protocol-bench-'));
  const child = spawn(
    process.execPath,
    [
      cli,
      'companion',
      '--json',
      '--port',
      '0',
      '--no-advertise',
      '--models',
      resolve(opts.models),
      '--data',
      data,
      '--profile',
      opts.profile ?? 'desktop',
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ODSORA_CACHE: join(data, 'cache') } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r(null);
      else child.once('exit', r);
      setTimeout(() => {
        child.kill('SIGKILL');
        r(null);
      }, 5000).unref();
    });
    rmSync(data, { recursive: true, force: true });
  };
  try {
    const ready = await new Promise<{ port: number; pairingCode: string }>((res, rej) => {
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        buf += c;
        const line = buf.split('\n').find((l) => l.trim().startsWith('{') && l.includes('"port"'));
        if (line) res(JSON.parse(line) as { port: number; pairingCode: string });
      });
      child.once('exit', (code) => rej(new Error(`odsora companion exited (${code}): ${stderr}`)));
      setTimeout(() => rej(new Error(`odsora companion did not start: ${stderr}`)), 120_000).unref();
    });
    return {
      port: ready.port,
      pairingCode: ready.pairingCode,
      pid: child.pid!,
      stderr: () => stderr,
      alive: () => child.exitCode === null && child.signalCode === null,
      rssBytes: () => {
        try {
          const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          return m ? Number(m[1]) * 1024 : null;
        } catch {
          return null;
        }
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
