/**
 * The studio's one composition root: the device hub (discovery, manual devices, pairing), the built-in device and
 * the run and sweep services, wired to the contract handlers and to one stream of pushed {@link StudioEvent}s. Electron main
 * and `odsora studio --web` both build the studio with {@link createStudioServices}.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ENGINE_VERSION } from '../../../shared/engine/version';
import type { StudioEvent } from '../../../shared/protocol/studio-contract';
import { defaultCacheRoot, findRepoRoot } from '../../models/bundled';
import { readGitCommit } from '../git-commit';
import {
  createStudioDispatch,
  createStudioHandlers,
  type StudioDispatch,
  type StudioHandlers,
  type StudioHostInfo,
} from '../studio-handlers';
import { startBuiltinDevice, type BuiltinDevice, type BuiltinDeviceOptions } from './builtin-device';
import { DeviceHub, type DeviceHubOptions } from './device-hub';
import { ReportService } from './reports';
import { RunHistory } from './run-history';
import { RunService } from './run-service';
import { SweepService } from './sweep-service';

/** Options of {@link createStudioServices}. */
export interface StudioServicesOptions extends StudioHostInfo {
  /** Where keys, devices.json, runs and the built-in device's state live (default {@link defaultStudioDataDir}). */
  dataDir?: string;
  /** mDNS browsing (default on; tests use loopback). */
  discovery?: DeviceHubOptions['discovery'];
  /** The built-in device (default on with the bundled model); false leaves it out. */
  builtinDevice?: false | Omit<BuiltinDeviceOptions, 'dataDir' | 'onState' | 'log'>;
  requestTimeoutMs?: number;
  retryDelayMs?: DeviceHubOptions['retryDelayMs'];
  log?: (line: string) => void;
}

/** The running studio services. */
export interface StudioServices {
  readonly dataDir: string;
  readonly hub: DeviceHub;
  readonly runs: RunService;
  readonly history: RunHistory;
  readonly reports: ReportService;
  readonly sweeps: SweepService;
  readonly builtin: BuiltinDevice | null;
  readonly handlers: StudioHandlers;
  /** The validated dispatcher every transport uses. */
  readonly dispatch: StudioDispatch;
  /** Pushed updates; returns the unsubscribe function. */
  onEvent(listener: (event: StudioEvent) => void): () => void;
  /** Stops runs being followed, the built-in device, discovery and every connection. */
  close(): Promise<void>;
}

/** `$ODSORA_STUDIO_DATA`, else `~/.local/share/odsora/studio`. */
function defaultStudioDataDir(): string {
  const env = process.env['ODSORA_STUDIO_DATA'];
  return env && env.trim() !== '' ? env : join(homedir(), '.local', 'share', 'odsora', 'studio');
}

/** Builds and starts the studio's services. */
export async function createStudioServices(opts: StudioServicesOptions): Promise<StudioServices> {
  const dataDir = opts.dataDir ?? defaultStudioDataDir();
  const log = opts.log ?? ((): void => undefined);
  const listeners = new Set<(event: StudioEvent) => void>();
  const emit = (event: StudioEvent): void => {
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        log(`studio event listener failed: ${String(err)}`);
      }
    }
  };
  const hub = new DeviceHub({
    dataDir,
    ...(opts.discovery !== undefined ? { discovery: opts.discovery } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    log,
  });
  hub.onChange((devices) => emit({ type: 'devices.changed', devices }));
  await hub.start();
  const runs = await RunService.open({ dataDir, hub, emit, log });
  let builtin: BuiltinDevice | null = null;
  if (opts.builtinDevice !== false) {
    hub.setBuiltin({ status: 'starting' });
    const b = startBuiltinDevice({
      ...(opts.builtinDevice ?? {}),
      dataDir,
      log,
      onState: (state) => hub.setBuiltin(state, () => b.nextPairingCode()),
    });
    builtin = b;
  }
  const history = new RunHistory(runs, log);
  const gitCommit =
    opts.gitCommit !== undefined ? opts.gitCommit : readGitCommit(findRepoRoot() ?? process.cwd());
  const host: StudioHostInfo = { ...opts, gitCommit };
  const reports = new ReportService({
    dataDir,
    runs,
    history,
    provenance: () => ({
      appVersion: host.appVersion,
      engineVersion: ENGINE_VERSION,
      gitCommit,
      host: host.platform,
    }),
  });
  // The built-in device converts its model into this cache: preflight finds its block sizes there.
  const builtinCache = opts.builtinDevice !== false ? opts.builtinDevice?.env?.['ODSORA_CACHE'] : undefined;
  const cacheRoots = [...(builtinCache ? [builtinCache] : []), defaultCacheRoot()];
  // After the built-in device is on its way: a sweep left unfinished resumes once its devices are paired.
  const sweeps = await SweepService.open({ dataDir, hub, runs, history, emit, log });
  const handlers = createStudioHandlers(host, {
    hub,
    runs,
    history,
    reports,
    sweeps,
    preflight: { cacheRoots },
  });
  let closed = false;
  return {
    dataDir,
    hub,
    runs,
    history,
    reports,
    sweeps,
    builtin,
    handlers,
    dispatch: createStudioDispatch(handlers),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      await sweeps.close();
      await runs.close();
      await hub.close();
      await builtin?.stop();
      listeners.clear();
    },
  };
}
