/**
 * The built-in device: `odsora companion --profile iphone-15-pro` on 127.0.0.1 with the bundled model, started as a
 * child process of the studio (so an engine crash cannot take the studio down, and the studio talks to it only
 * through the wire protocol like any other device). It is private to its studio: started with `--no-advertise`, so
 * another studio on the same machine never lists it (it would show a second built-in device it cannot pair with:
 * only its own studio reads the pairing code from the child's output). Its state lives in `<studio data>/builtin-device`, so its device
 * id and the pairing survive restarts. The pairing code it prints is handed to the hub, which pairs with it on its
 * own; a missing model or CLI becomes a clear `error` state instead of a crash.
 *
 * Inside Electron the child runs Electron's own binary as Node (`ELECTRON_RUN_AS_NODE=1`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILTIN_DEVICE_NICE, idleSchedulingPrefix } from '../../companion/priority';
import { bundledModelDir, findRepoRoot, isBlockSetDir, isModelDir } from '../../models/bundled';
import type { BuiltinDeviceState } from './device-hub';

/** Options of {@link startBuiltinDevice}. */
export interface BuiltinDeviceOptions {
  /** The studio's data directory; the device keeps its own state in `<dataDir>/builtin-device`. */
  dataDir: string;
  /** The model directory (default: the bundled Open-Sora Nano, `bundledModelDir()`). */
  modelDir?: string;
  /** The built command line (default `<repo>/out/cli/odsora.cjs`). */
  cliPath?: string;
  /** Shown name. */
  name?: string;
  /** Extra environment (tests point ODSORA_CACHE at a temp dir). */
  env?: Record<string, string>;
  /** How long to wait for the companion's JSON line (default 120 s: the first start converts the model). */
  readyTimeoutMs?: number;
  onState?: (state: BuiltinDeviceState) => void;
  log?: (line: string) => void;
}

/** A running (or failed) built-in device. */
export interface BuiltinDevice {
  readonly state: BuiltinDeviceState;
  /**
   * A pairing code to pair with: the latest one printed and not yet handed out; waits (up to `timeoutMs`) for the
   * next one the device prints (after a `pair.start`). Null when none came.
   */
  nextPairingCode(timeoutMs?: number): Promise<string | null>;
  /** Stops the device (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Why the built-in device cannot start, or null when it can. */
function builtinDeviceProblem(modelDir: string, cliPath: string): string | null {
  if (!existsSync(modelDir))
    return (
      `the bundled model is missing: ${modelDir} does not exist. Export it with ` +
      '`/usr/bin/python3 tools/nano/export.py --run runs/nano --out models/opensora-nano`'
    );
  if (!isModelDir(modelDir) && !isBlockSetDir(modelDir))
    return `the bundled model at ${modelDir} is incomplete (no stdit/config.json and no block-set manifest)`;
  if (!existsSync(cliPath))
    return `the odsora command line is not built (${cliPath}): run \`npm run build:cli\``;
  return null;
}

/** Starts the built-in device; never throws (failures become the `error` state). */
export function startBuiltinDevice(opts: BuiltinDeviceOptions): BuiltinDevice {
  const log = opts.log ?? ((): void => undefined);
  const root = findRepoRoot() ?? process.cwd();
  // `odsora studio --model DIR` (or ODSORA_MODEL) serves another model, e.g. a converted full-size Open-Sora v1.2.
  const modelDir = opts.modelDir ?? process.env['ODSORA_MODEL'] ?? bundledModelDir();
  const cliPath = opts.cliPath ?? join(root, 'out', 'cli', 'odsora.cjs');
  let state: BuiltinDeviceState = { status: 'starting' };
  let child: ChildProcess | null = null;
  let stopping = false;
  const codes: string[] = [];
  let handedOut = 0;
  const codeWaiters = new Set<() => void>();
  let stderrTail = '';

  const setState = (next: BuiltinDeviceState): void => {
    state = next;
    opts.onState?.(next);
  };
  const addCode = (code: unknown): void => {
    if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code)) return;
    codes.push(code);
    for (const wake of [...codeWaiters]) wake();
  };

  const exited = new Promise<void>((resolveExit) => {
    const problem = builtinDeviceProblem(modelDir, cliPath);
    if (problem !== null) {
      queueMicrotask(() => setState({ status: 'error', message: `built-in device: ${problem}` }));
      resolveExit();
      return;
    }
    const deviceData = join(opts.dataDir, 'builtin-device');
    void mkdir(deviceData, { recursive: true, mode: 0o700 }).then(
      () => launch(deviceData, resolveExit),
      (e: unknown) => {
        setState({ status: 'error', message: `built-in device: ${String(e)}` });
        resolveExit();
      },
    );
  });

  const launch = (deviceData: string, resolveExit: () => void): void => {
    if (stopping) {
      resolveExit();
      return;
    }
    const args = [
      cliPath,
      'companion',
      '--json',
      '--profile',
      'iphone-15-pro',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      // Private to this studio: another studio on the machine must not list (and fail to pair with) it.
      '--no-advertise',
      '--models',
      modelDir,
      '--data',
      deviceData,
      '--name',
      opts.name ?? 'Built-in iPhone 15 Pro (simulated)',
      // Real inference on this machine must not starve the studio's own UI (docs/benchmarks/studio.md); on Linux it
      // also runs under SCHED_IDLE (below, src-main/companion/priority.ts).
      '--nice',
      String(BUILTIN_DEVICE_NICE),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    if (process.versions['electron'] !== undefined) env['ELECTRON_RUN_AS_NODE'] = '1';
    // stdin is a pipe the companion watches (--stop-with-stdin): when this process dies, even by SIGKILL, the pipe
    // closes and the built-in device stops instead of living on as an orphan.
    const [command, ...prefix] = [...idleSchedulingPrefix(), process.execPath];
    child = spawn(command!, [...prefix, ...args, '--stop-with-stdin'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    });
    const timer = setTimeout(() => {
      if (state.status === 'starting') {
        setState({
          status: 'error',
          message: `built-in device: no answer within ${opts.readyTimeoutMs ?? 120_000} ms. ${stderrTail.slice(-500)}`,
        });
        child?.kill('SIGKILL');
      }
    }, opts.readyTimeoutMs ?? 120_000);
    timer.unref();
    let partial = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      partial += chunk;
      for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
        const line = partial.slice(0, nl).trim();
        partial = partial.slice(nl + 1);
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        addCode(json['pairingCode']);
        if (
          state.status === 'starting' &&
          typeof json['port'] === 'number' &&
          typeof json['id'] === 'string'
        ) {
          clearTimeout(timer);
          setState({
            status: 'ready',
            host: '127.0.0.1',
            port: json['port'],
            deviceId: json['id'],
            name: typeof json['name'] === 'string' ? json['name'] : 'Built-in device',
          });
        }
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-8000);
      for (const line of chunk.split('\n')) if (line.trim() !== '') log(`built-in device: ${line}`);
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      setState({ status: 'error', message: `built-in device: cannot start: ${e.message}` });
      resolveExit();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!stopping) {
        const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
        setState({
          status: 'error',
          message: `built-in device exited (${code ?? signal ?? '?'})${tail ? `: ${tail}` : ''}`,
        });
      }
      resolveExit();
    });
  };

  return {
    get state() {
      return state;
    },
    async nextPairingCode(timeoutMs = 5000): Promise<string | null> {
      if (handedOut < codes.length) {
        handedOut = codes.length;
        return codes[codes.length - 1]!;
      }
      await new Promise<void>((resolveWait) => {
        const wake = (): void => {
          clearTimeout(t);
          codeWaiters.delete(wake);
          resolveWait();
        };
        const t = setTimeout(wake, timeoutMs);
        codeWaiters.add(wake);
      });
      if (handedOut >= codes.length) return null;
      handedOut = codes.length;
      return codes[codes.length - 1]!;
    },
    async stop(): Promise<void> {
      stopping = true;
      const c = child as ChildProcess | null;
      if (c && c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        const killer = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}
