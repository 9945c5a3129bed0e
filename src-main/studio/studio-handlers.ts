// The studio's command handlers and the one dispatcher every transport (Electron IPC, HTTP, later WebSocket) goes
// through, so validation and error mapping cannot differ between the desktop window and the browser page.
import { ENGINE_VERSION } from '../../shared/engine/version';
import {
  isStudioCommand,
  parseStudioArgs,
  parseStudioResult,
  studioError,
  type StudioArgs,
  type StudioCommand,
  type StudioReply,
  type StudioResult,
} from '../../shared/protocol/studio-contract';
import { DeviceError } from '../devices/client-errors';
import { startBaseline } from './services/baseline';
import type { DeviceHub } from './services/device-hub';
import { StudioServiceError, studioErrorOfDevice } from './services/errors';
import { preflight, type PreflightOptions } from './services/preflight';
import type { ReportService } from './services/reports';
import type { RunHistory } from './services/run-history';
import type { RunService } from './services/run-service';
import type { SweepService } from './services/sweep-service';

/**
 * The connection a call came over, for what belongs to a connection rather than to the studio: which runs' events
 * it wants pushed (`events.follow`). Absent for calls over `POST /api/`, which receive no pushed events.
 */
export interface StudioConnection {
  followRuns(runIds: readonly string[]): void;
}

/**
 * One async handler per contract command, called with arguments that already passed the schema (and the
 * connection, where the transport has one). A mapped type over the contract: a command without a handler (or a
 * handler of the wrong shape) does not compile.
 */
export type StudioHandlers = {
  [C in StudioCommand]: (args: StudioArgs<C>, connection?: StudioConnection) => Promise<StudioResult<C>>;
};

/** What the handlers need to know about the host they run in. */
export interface StudioHostInfo {
  appVersion: string;
  platform: 'electron' | 'web';
  /** Electron's version, when running inside Electron. */
  electron?: string;
  /** The git commit the studio runs from (null: not a git checkout; absent: not looked up). */
  gitCommit?: string | null;
}

/** The services behind the device and run commands (services/index.ts builds them). */
export interface StudioHandlerServices {
  hub: DeviceHub;
  runs: RunService;
  history: RunHistory;
  reports: ReportService;
  sweeps: SweepService;
  /** Where preflight looks for the devices' block sets. */
  preflight?: PreflightOptions;
}

/**
 * The studio's handlers. Without services (a bare web server in tests) only `app.info` answers; the others say
 * the studio has no devices or runs service.
 */
export function createStudioHandlers(host: StudioHostInfo, services?: StudioHandlerServices): StudioHandlers {
  const need = (): StudioHandlerServices => {
    if (!services) throw new StudioServiceError('unavailable', 'this studio runs without device services');
    return services;
  };
  return {
    'app.info': async () => ({
      appVersion: host.appVersion,
      engineVersion: ENGINE_VERSION,
      platform: host.platform,
      ...(host.electron !== undefined ? { electron: host.electron } : {}),
      gitCommit: host.gitCommit ?? null,
    }),
    'devices.list': async () => ({ devices: need().hub.list() }),
    'devices.addManual': async ({ host: address, port }) => ({
      device: await need().hub.addManual(address, port),
    }),
    'devices.pair': async ({ deviceId, code }) => ({ device: await need().hub.pair(deviceId, code) }),
    'devices.requestPairingCode': async ({ deviceId }) => need().hub.requestPairingCode(deviceId),
    'devices.forget': async ({ deviceId }) => ({ forgotten: await need().hub.forget(deviceId) }),
    'devices.setBaseline': async ({ deviceId }) => ({ device: await need().hub.setBaseline(deviceId) }),
    'runs.list': async () => ({ runs: need().runs.list(), unreadable: need().runs.unreadable() }),
    'runs.start': async ({ deviceId, params, preview, label }) => ({
      run: await need().runs.start(deviceId, params, {
        ...(preview !== undefined ? { preview } : {}),
        ...(label !== undefined ? { label } : {}),
      }),
    }),
    'runs.cancel': async ({ runId }) => ({ run: await need().runs.cancel(runId) }),
    'runs.annotate': async ({ runId, ...patch }) => ({ run: await need().runs.annotate(runId, patch) }),
    'runs.get': async ({ runId }) => need().history.detail(runId),
    'runs.events': async ({ runId, afterSeq, limit }) => need().history.eventPage(runId, afterSeq, limit),
    'events.follow': async ({ runIds }, connection) => {
      if (connection === undefined)
        throw new StudioServiceError(
          'bad-request',
          'events.follow is for connections that receive pushed events (the /bridge WebSocket, Electron); POST /api/ receives none',
        );
      connection.followRuns(runIds);
      return { runIds };
    },
    'runs.frames': async ({ runId, which, from, limit }) =>
      need().history.framePage(runId, which, from, limit),
    'runs.delete': async ({ runId }) => ({ deleted: await need().runs.delete(runId) }),
    'runs.startBaseline': async ({ runId }) => ({ run: await startBaseline(need().hub, need().runs, runId) }),
    'runs.compare': async ({ runA, runB }) => need().history.compare(runA, runB),
    'devices.preflight': async ({ deviceId, params }) => {
      const { client } = need().hub.pairedClient(deviceId);
      return preflight(await client.deviceInfo(), params, need().preflight ?? {});
    },
    'reports.export': async ({ runIds, formats, reportId }) =>
      need().reports.export(runIds, formats, reportId),
    'reports.putVideo': async (args) => need().reports.putVideo(args),
    'sweeps.list': async () => ({ sweeps: need().sweeps.list() }),
    'sweeps.get': async ({ sweepId }) => need().sweeps.get(sweepId),
    'sweeps.estimate': async ({ spec }) => need().sweeps.estimate(spec),
    'sweeps.start': async ({ spec }) => ({ sweep: await need().sweeps.start(spec) }),
    'sweeps.pause': async ({ sweepId }) => ({ sweep: await need().sweeps.pause(sweepId) }),
    'sweeps.resume': async ({ sweepId }) => ({ sweep: await need().sweeps.resume(sweepId) }),
    'sweeps.cancel': async ({ sweepId }) => ({ sweep: await need().sweeps.cancel(sweepId) }),
    'sweeps.exportReport': async ({ sweepId }) =>
      need().reports.exportSweep(sweepId, need().sweeps.folder(sweepId)),
  };
}

/**
 * Validates a call from an untrusted transport (Electron IPC, the WebSocket bridge, HTTP), runs it and answers
 * with the reply envelope; never throws.
 */
export type StudioDispatch = (
  command: unknown,
  rawArgs: unknown,
  connection?: StudioConnection,
) => Promise<StudioReply>;

/** Builds the dispatcher: unknown command, bad args, handler failure and bad results all become typed errors. */
export function createStudioDispatch(handlers: StudioHandlers): StudioDispatch {
  return async (command, rawArgs, connection) => {
    if (typeof command !== 'string' || !isStudioCommand(command)) {
      return { ok: false, error: studioError('unknown-command', `Unknown command: ${String(command)}`) };
    }
    const args = parseStudioArgs(command, rawArgs);
    if (!args.ok) return { ok: false, error: args.error };
    let raw: unknown;
    try {
      // The mapped type cannot follow the correlation between `command` and `handlers[command]`; the schema did.
      const handler = handlers[command] as (a: unknown, c?: StudioConnection) => Promise<unknown>;
      raw = await handler(args.args, connection);
    } catch (err) {
      const known = err instanceof DeviceError ? studioErrorOfDevice(err) : err;
      if (known instanceof StudioServiceError)
        return { ok: false, error: studioError(known.code, `${command}: ${known.message}`, known.retryable) };
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, error: studioError('internal', `${command} failed: ${message}`, true) };
    }
    const result = parseStudioResult(command, raw);
    return result.ok ? { ok: true, result: result.result } : { ok: false, error: result.error };
  };
}
