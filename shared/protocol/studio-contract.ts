/**
 * The one typed contract between the studio's renderer and its main side (Electron IPC, or HTTP/WebSocket when the
 * studio is served to a plain browser). Each command has an args schema and a result schema; both ends validate
 * with them. Adding a command here makes the preload, the main handlers and the web client fail to type-check
 * until they implement it.
 */
import { z } from 'zod';
import { deviceIdSchema } from './device';
import { PAIRING_CODE_DIGITS } from './limits';
import { runEventSchema } from './run';
import { reportedThermalSchema } from './thermal';
import {
  compareArgsSchema,
  compareResultSchema,
  preflightArgsSchema,
  preflightResultSchema,
  reportExportArgsSchema,
  reportExportResultSchema,
  reportPutVideoArgsSchema,
  reportPutVideoResultSchema,
  runAnnotateArgsSchema,
  runDetailSchema,
  followRunsSchema,
  runEventsArgsSchema,
  runEventsResultSchema,
  runFramesArgsSchema,
  runFramesResultSchema,
  runRefSchema,
  runResultSchema,
  runSummarySchema,
  runsListResultSchema,
  runsStartArgsSchema,
  studioRunIdSchema,
} from './studio-contract-runs';
import {
  sweepDetailSchema,
  sweepEstimateSchema,
  sweepRefSchema,
  sweepReportResultSchema,
  sweepsStartArgsSchema,
  sweepSummarySchema,
  sweepUpdateFields,
} from './studio-contract-sweeps';

export * from './studio-contract-runs';
export * from './studio-contract-sweeps';

/**
 * Version of this contract; bump when a command's args or result change incompatibly. 2: `app.info` gained
 * `gitCommit`; history, baseline, compare, preflight and report commands added. 3: `runs.list` lists unreadable
 * run folders, `runs.get` says what was skipped in a run's stored events; `reports.export` names its report
 * (`reportId`) and can add to an earlier one; `reports.putVideo` added. 4: the `sweeps.*` commands and the
 * `sweep.updated` event; a run summary carries its tags, notes, parameters, metrics and speed-up over its baseline;
 * `runs.annotate` names, tags and notes a run. 5: `sweep.updated` carries the sweep's revision and what changed in
 * its journal (changed runs and top-level fields) instead of only its summary; `sweeps.get` answers with the
 * revision (and its epoch) of the journal it returns; a run summary carries `eventLogProblem` (what its stored event
 * log skipped, checked once when the run ended), so History needs no `runs.get` per row; `events.follow` says which
 * runs' `run.event`s a connection wants (a page no longer receives every event of every run, e.g. a sweep's).
 */
export const STUDIO_CONTRACT_VERSION = 5;

/** `app.info` takes no arguments; unknown keys are rejected so a typo is an error, not a silent no-op. */
export const appInfoArgsSchema = z.strictObject({});

/** What the studio reports about itself: versions and which host it runs in. */
export const appInfoSchema = z.strictObject({
  appVersion: z.string().min(1),
  engineVersion: z.string().min(1),
  platform: z.enum(['electron', 'web']),
  electron: z.string().min(1).optional(),
  /** The git commit the studio was built from (null when it does not run from a git checkout). */
  gitCommit: z
    .string()
    .regex(/^[0-9a-f]{7,64}$/, 'must be a hex commit id')
    .nullable(),
});

/** Arguments of `app.info`. */
export type AppInfoArgs = z.infer<typeof appInfoArgsSchema>;
/** Result of `app.info`. */
export type AppInfo = z.infer<typeof appInfoSchema>;

// -------------------------------------------------------------------------------------------------------------
// Devices

/**
 * The studio's id of a device entry: the device's own id once known (discovered, built-in), `builtin` for the
 * built-in device, `manual-<host>-<port>` for a manual entry not yet identified.
 */
export const studioDeviceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 of [A-Za-z0-9._:-]');

/** A host name or IP address (no scheme, no port). */
export const hostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]%-]+$/, 'must be a host name or IP address');

/** A TCP port a device listens on. */
export const portSchema = z.number().int().min(1).max(65535);

/**
 * Where the studio stands with a device: `discovered` (seen, not contacted), `connecting`, `connected` (greeted,
 * not paired: only device info and pairing are allowed), `paired` (authenticated), `error` (see diagnostics).
 */
export const deviceStatusSchema = z.enum(['discovered', 'connecting', 'connected', 'paired', 'error']);

/** What the diagnostics panel shows; null means "not known yet". */
export const deviceDiagnosticsSchema = z.strictObject({
  seenOverMdns: z.boolean(),
  portReachable: z.boolean().nullable(),
  protocolVersion: z.number().int().positive().nullable(),
  paired: z.boolean(),
  lastError: z.string().max(2048).nullable(),
});

/** One device the studio knows: discovered over mDNS, added by host:port, or the built-in simulated one. */
export const studioDeviceSchema = z.strictObject({
  id: studioDeviceIdSchema,
  /** The device's own id (null until it answered). */
  deviceId: deviceIdSchema.nullable(),
  name: z.string().min(1).max(128),
  model: z.string().min(1).max(128),
  role: z.enum(['target', 'baseline']),
  simulated: z.boolean(),
  engineVersion: z.string().max(64).nullable(),
  host: z.string().max(253),
  /** 0 while the built-in device has not started listening. */
  port: z.number().int().min(0).max(65535),
  sources: z.strictObject({ builtin: z.boolean(), discovered: z.boolean(), manual: z.boolean() }),
  status: deviceStatusSchema,
  /** True for the device chosen to run baselines. */
  baseline: z.boolean(),
  /** Its thermal state as it last reported it (device info, re-read while connected); null: unknown. */
  thermalState: reportedThermalSchema,
  diagnostics: deviceDiagnosticsSchema,
});

/** A device entry. */
export type StudioDevice = z.infer<typeof studioDeviceSchema>;
/** A device entry's status. */
export type DeviceStatus = z.infer<typeof deviceStatusSchema>;
/** A device entry's diagnostics. */
export type DeviceDiagnostics = z.infer<typeof deviceDiagnosticsSchema>;

const deviceRefSchema = z.strictObject({ deviceId: studioDeviceIdSchema });
const deviceResultSchema = z.strictObject({ device: studioDeviceSchema });

// -------------------------------------------------------------------------------------------------------------
// Runs: the schemas live in studio-contract-runs.ts (re-exported above).

// -------------------------------------------------------------------------------------------------------------
// Pushed events

/**
 * What main pushes to the renderer without being asked (Electron: `webContents.send(STUDIO_EVENT_CHANNEL)`;
 * web mode: the bridge forwards the same objects). One union, validated on receipt like every reply.
 */
export const studioEventSchema = z.discriminatedUnion('type', [
  /** The device list changed (any entry's status, diagnostics or sources). */
  z.strictObject({ type: z.literal('devices.changed'), devices: z.array(studioDeviceSchema) }),
  /** One event of a run, after it was appended to the run folder. */
  z.strictObject({
    type: z.literal('run.event'),
    runId: studioRunIdSchema,
    seq: z.number().int().positive(),
    event: runEventSchema,
  }),
  /** A run's summary changed (state, stream status, interruption). */
  z.strictObject({ type: z.literal('run.updated'), run: runSummarySchema }),
  /**
   * A sweep's progress or state changed (a run started or ended, paused, resumed, cancelled): its summary and the
   * delta of its journal since the previous revision (`sweepUpdateFields`).
   */
  z.strictObject({ type: z.literal('sweep.updated'), ...sweepUpdateFields }),
]);

/** A pushed update. */
export type StudioEvent = z.infer<typeof studioEventSchema>;

/** The Electron IPC channel main pushes {@link StudioEvent}s on. */
export const STUDIO_EVENT_CHANNEL = 'studio:event';

/**
 * What the contract says about one command: the `StudioApi` method that calls it, whether a read-only mirror may
 * call it, its args and its result.
 */
export interface StudioCommandSpec {
  /** The renderer's method name (`api.startRun(args)`); unique across the contract. */
  readonly method: string;
  /** True when the command changes nothing on the studio or a device, so a read-only mirror may call it. */
  readonly readOnly?: true;
  readonly args: z.ZodType;
  readonly result: z.ZodType;
}

/**
 * Every command: the `StudioApi` method that calls it, its args schema and its result schema. This table is the
 * one place a command is declared: the renderer's `StudioApi` and its client, the Electron preload, main's
 * handler map and the read-only mirror's allowed commands are all derived from it, so a new command is this
 * entry, its handler (`StudioHandlers` stops compiling until it has one) and the UI that calls it. A command
 * without `readOnly: true` is refused to a read-only mirror.
 */
export const studioContract = {
  /** App and engine versions, and the host (Electron or browser). */
  'app.info': { method: 'appInfo', readOnly: true, args: appInfoArgsSchema, result: appInfoSchema },
  /** Every known device with status and diagnostics. */
  'devices.list': {
    method: 'listDevices',
    readOnly: true,
    args: z.strictObject({}),
    result: z.strictObject({ devices: z.array(studioDeviceSchema) }),
  },
  /** A device at host:port (for networks where mDNS fails). */
  'devices.addManual': {
    method: 'addManualDevice',
    args: z.strictObject({ host: hostSchema, port: portSchema }),
    result: deviceResultSchema,
  },
  /** Pair with the code the device shows. */
  'devices.pair': {
    method: 'pairDevice',
    args: z.strictObject({
      deviceId: studioDeviceIdSchema,
      code: z
        .string()
        .regex(new RegExp(`^[0-9]{${PAIRING_CODE_DIGITS}}$`), `must be ${PAIRING_CODE_DIGITS} digits`),
    }),
    result: deviceResultSchema,
  },
  /** Make the device show a fresh code. */
  'devices.requestPairingCode': {
    method: 'requestPairingCode',
    args: deviceRefSchema,
    result: z.strictObject({ digits: z.number().int().positive(), expiresInMs: z.number().nonnegative() }),
  },
  /** Drop the pairing key (and a manual entry). */
  'devices.forget': {
    method: 'forgetDevice',
    args: deviceRefSchema,
    result: z.strictObject({ forgotten: z.boolean() }),
  },
  /** Choose the device that runs baselines. */
  'devices.setBaseline': { method: 'setBaselineDevice', args: deviceRefSchema, result: deviceResultSchema },
  /** Every run folder, newest first, and the folders that cannot be read as runs (with why). */
  'runs.list': { method: 'listRuns', readOnly: true, args: z.strictObject({}), result: runsListResultSchema },
  /** Start a run on a paired device. */
  'runs.start': { method: 'startRun', args: runsStartArgsSchema, result: runResultSchema },
  /** Cancel a queued or running run. */
  'runs.cancel': { method: 'cancelRun', args: runRefSchema, result: runResultSchema },
  /** Name, tag and note a run (kept in its run.json). */
  'runs.annotate': { method: 'annotateRun', args: runAnnotateArgsSchema, result: runResultSchema },
  /** One run's summary, parameters, device, baseline links, wall time and peak memory. */
  'runs.get': { method: 'getRun', readOnly: true, args: runRefSchema, result: runDetailSchema },
  /** A page of a run's stored events (history reopen, catching up after a reconnect). */
  'runs.events': {
    method: 'getRunEvents',
    readOnly: true,
    args: runEventsArgsSchema,
    result: runEventsResultSchema,
  },
  /**
   * Which runs' `run.event`s this connection wants pushed (the rest are not sent to it); a connection that never
   * asks gets every run's. Only connections that receive pushed events can ask (the WebSocket bridge, Electron);
   * over `POST /api/` it fails with `bad-request`.
   */
  'events.follow': {
    method: 'followRuns',
    readOnly: true,
    args: followRunsSchema,
    result: followRunsSchema,
  },
  /** A page of a run's final or latest preview frames as base64 PNGs. */
  'runs.frames': {
    method: 'getRunFrames',
    readOnly: true,
    args: runFramesArgsSchema,
    result: runFramesResultSchema,
  },
  /** Delete an ended run's folder (a live run is a `conflict`). */
  'runs.delete': {
    method: 'deleteRun',
    args: runRefSchema,
    result: z.strictObject({ deleted: z.boolean() }),
  },
  /** The same job on the baseline device with every technique off. */
  'runs.startBaseline': { method: 'startBaseline', args: runRefSchema, result: runResultSchema },
  /** PSNR, SSIM, flicker, speedup and memory ratio of two runs' final frames. */
  'runs.compare': {
    method: 'compareRuns',
    readOnly: true,
    args: compareArgsSchema,
    result: compareResultSchema,
  },
  /** The CI-DL memory plan of `params` on a device, before running it. */
  'devices.preflight': { method: 'preflightRun', args: preflightArgsSchema, result: preflightResultSchema },
  /** Write a report folder (HTML, JSON, CSV, GIF, PDF) for a run and its baseline. */
  'reports.export': {
    method: 'exportReport',
    args: reportExportArgsSchema,
    result: reportExportResultSchema,
  },
  /** A piece of the renderer's MP4, written into the report folder as `video.mp4`. */
  'reports.putVideo': {
    method: 'putReportVideo',
    args: reportPutVideoArgsSchema,
    result: reportPutVideoResultSchema,
  },
  /** Every sweep under the studio's `sweeps/`, newest first. */
  'sweeps.list': {
    method: 'listSweeps',
    readOnly: true,
    args: z.strictObject({}),
    result: z.strictObject({ sweeps: z.array(sweepSummarySchema) }),
  },
  /** One sweep's summary and journal (runs, results, the points' statistics). */
  'sweeps.get': { method: 'getSweep', readOnly: true, args: sweepRefSchema, result: sweepDetailSchema },
  /** The run count and a rough duration of a spec, before starting it. */
  'sweeps.estimate': {
    method: 'estimateSweep',
    readOnly: true,
    args: sweepsStartArgsSchema,
    result: sweepEstimateSchema,
  },
  /** Start a sweep on the studio's paired devices. */
  'sweeps.start': {
    method: 'startSweep',
    args: sweepsStartArgsSchema,
    result: z.strictObject({ sweep: sweepSummarySchema }),
  },
  /** Pause a sweep: the runs in flight are cancelled and run again on resume. */
  'sweeps.pause': {
    method: 'pauseSweep',
    args: sweepRefSchema,
    result: z.strictObject({ sweep: sweepSummarySchema }),
  },
  /** Resume a paused, failed or unfinished sweep: finished runs are never run again. */
  'sweeps.resume': {
    method: 'resumeSweep',
    args: sweepRefSchema,
    result: z.strictObject({ sweep: sweepSummarySchema }),
  },
  /** Cancel a sweep for good: the runs in flight are cancelled; finished runs and the journal stay. */
  'sweeps.cancel': {
    method: 'cancelSweep',
    args: sweepRefSchema,
    result: z.strictObject({ sweep: sweepSummarySchema }),
  },
  /** Write a sweep's report (HTML, the two figures as SVG, the CSVs) into a new report folder. */
  'sweeps.exportReport': {
    method: 'exportSweepReport',
    args: sweepRefSchema,
    result: sweepReportResultSchema,
  },
} as const satisfies Record<string, StudioCommandSpec>;

/** The name of a contract command, e.g. `app.info`. */
export type StudioCommand = keyof typeof studioContract;
/** The validated arguments of command `C`. */
export type StudioArgs<C extends StudioCommand> = z.infer<(typeof studioContract)[C]['args']>;
/** The validated result of command `C`. */
export type StudioResult<C extends StudioCommand> = z.infer<(typeof studioContract)[C]['result']>;
/** The `StudioApi` method name of command `C`. */
export type StudioMethodName<C extends StudioCommand> = (typeof studioContract)[C]['method'];

/** All command names, in contract order. */
export const studioCommands = Object.keys(studioContract) as StudioCommand[];

/** True when `name` is a contract command (use before indexing `studioContract` with untrusted input). */
export function isStudioCommand(name: string): name is StudioCommand {
  return Object.prototype.hasOwnProperty.call(studioContract, name);
}

/** The method of command `C`: its args may be left out when the command takes none (`api.listRuns()`). */
export type StudioMethod<C extends StudioCommand> =
  Record<string, never> extends StudioArgs<C>
    ? (args?: StudioArgs<C>) => Promise<StudioResult<C>>
    : (args: StudioArgs<C>) => Promise<StudioResult<C>>;

/**
 * What the renderer sees: one method per contract command, named by its `method` (`'runs.start'` →
 * `startRun(args)`), resolving to the validated result or rejecting with the typed {@link StudioError}.
 * `src-renderer/api.ts` builds it by iterating {@link studioContract}.
 */
export type StudioApi = { [C in StudioCommand as StudioMethodName<C>]: StudioMethod<C> };

/**
 * How the renderer delivers one call to main: the command and its (validated) args in, the reply envelope out
 * (`{ ok: true, result }` or `{ ok: false, error: { code, message, retryable } }`); it never rejects. The
 * Electron preload's `call` and the web client's bridge transport both are one.
 */
export type StudioCall = (command: StudioCommand, args: unknown) => Promise<StudioReply>;

/**
 * The preload's `window.odsora`: one generic call that goes to main's dispatcher (which answers an unknown
 * command or bad args with a typed error, as on every transport), plus the pushed-event channel.
 */
export interface StudioBridge {
  /** Calls `command` in main; resolves with main's reply envelope, never rejects. */
  call: StudioCall;
  /** Calls `listener` with each pushed event; returns the unsubscribe function. */
  onEvent(listener: (event: StudioEvent) => void): () => void;
}

/** The Electron IPC channel every contract call goes over: `invoke(STUDIO_CALL_CHANNEL, command, args)`. */
export const STUDIO_CALL_CHANNEL = 'studio:call';

/** Why a call failed. `retryable` says whether the same call may succeed later. */
export const studioErrorSchema = z.strictObject({
  code: z.enum([
    'bad-args',
    'bad-request',
    'unknown-command',
    'unauthorized',
    'forbidden',
    'not-found',
    'conflict',
    'unavailable',
    'internal',
  ]),
  message: z.string(),
  retryable: z.boolean(),
});

/** A typed call failure. */
export type StudioError = z.infer<typeof studioErrorSchema>;

/** The answer to one call, without correlation id (HTTP replies, Electron IPC replies). */
export const studioReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: studioErrorSchema }),
]);

/** The answer to one call; `result` is validated per command by the caller. */
export type StudioReply = z.infer<typeof studioReplySchema>;

/** A call on a message bridge (WebSocket): `{ id, command, args }`. */
export const studioRequestSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  command: z.string().min(1),
  args: z.unknown(),
});

/** A call on a message bridge. */
export type StudioRequest = z.infer<typeof studioRequestSchema>;

/**
 * The answer on a message bridge: `{ id, ok, result | error }`. An error answers with `id: null` when the frame
 * it answers carried no usable id (not JSON, not an object, a bad `id`), as JSON-RPC does.
 */
export const studioResponseSchema = z.discriminatedUnion('ok', [
  z.strictObject({ id: z.number().int().nonnegative(), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({
    id: z.number().int().nonnegative().nullable(),
    ok: z.literal(false),
    error: studioErrorSchema,
  }),
]);

/** The answer on a message bridge. */
export type StudioResponse = z.infer<typeof studioResponseSchema>;

/** A pushed update on a message bridge: `{ event }`, the same objects Electron sends on the event channel. */
export const studioEventFrameSchema = z.strictObject({ event: studioEventSchema });

/** A pushed update on a message bridge. */
export type StudioEventFrame = z.infer<typeof studioEventFrameSchema>;

/** The URL path of the web studio's WebSocket bridge (same origin as the page). */
export const STUDIO_BRIDGE_PATH = '/bridge';

/**
 * Who is on the other end of a bridge connection: `control` (the launch token: every command) or `mirror` (the
 * read-only token: pushed events and {@link studioReadOnlyCommands} only; anything else is `forbidden`).
 */
export type StudioBridgeRole = 'control' | 'mirror';

/** The commands a read-only mirror may call (`readOnly` in the contract): they change nothing. */
export const studioReadOnlyCommands: readonly StudioCommand[] = studioCommands.filter(
  (command) => (studioContract[command] as StudioCommandSpec).readOnly === true,
);

/** True when `command` changes nothing (a mirror may call it). */
export function isReadOnlyCommand(command: string): boolean {
  return (studioReadOnlyCommands as readonly string[]).includes(command);
}

/** Builds a typed error. */
export function studioError(code: StudioError['code'], message: string, retryable = false): StudioError {
  return { code, message, retryable };
}

/** One line per zod issue, naming the offending field, e.g. `verbose: unrecognized key`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => `${[...path, key].join('.')}: unrecognized key`).join('; ');
      }
      return `${path.length > 0 ? path.join('.') : '(args)'}: ${issue.message}`;
    })
    .join('; ');
}

/** Validates untrusted arguments for `command`; the error names each bad field. */
export function parseStudioArgs<C extends StudioCommand>(
  command: C,
  raw: unknown,
): { ok: true; args: StudioArgs<C> } | { ok: false; error: StudioError } {
  const parsed = studioContract[command].args.safeParse(raw);
  if (parsed.success) return { ok: true, args: parsed.data as StudioArgs<C> };
  return { ok: false, error: studioError('bad-args', `${command}: ${describeIssues(parsed.error)}`) };
}

/** Validates a result for `command` (a host bug or a tampered reply shows up here, not deep in the UI). */
export function parseStudioResult<C extends StudioCommand>(
  command: C,
  raw: unknown,
): { ok: true; result: StudioResult<C> } | { ok: false; error: StudioError } {
  const parsed = studioContract[command].result.safeParse(raw);
  if (parsed.success) return { ok: true, result: parsed.data as StudioResult<C> };
  return { ok: false, error: studioError('internal', `${command} result: ${describeIssues(parsed.error)}`) };
}
