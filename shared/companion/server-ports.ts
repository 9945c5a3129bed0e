/**
 * The ports a host gives the companion server (server.ts): connections, the engine runner and its jobs, run
 * persistence, and the server's options.
 */
import type { AbortSignalLike } from '../engine/cidl/abort';
import type { Clock, Sha256 } from '../engine/ports';
import type { EngineEvent } from '../engine/telemetry';
import type { HmacSha256 } from '../protocol/auth';
import type { DeviceInfo } from '../protocol/device';
import type { VersionRange } from '../protocol/handshake';
import type { ImageFormat, PreviewSettings, RunParams } from '../protocol/run';
import type { ThermalState } from '../protocol/thermal';
import type { EventLogStore } from './event-log';
import type { InstalledBlockSetRecord, ModelStore, ModelSyncLimits } from './model-sync';
import type { PairingLimits, PairingStore, RandomBytes } from './pairing';

/** One client connection, as the transport presents it. Binary messages arrive as Uint8Array, text as string. */
export interface Connection {
  sendText(text: string): void;
  sendBinary(data: Uint8Array): void;
  /** Closes the connection (WebSocket close code and reason). */
  close(code: number, reason: string): void;
  onMessage(handler: (data: string | Uint8Array) => void): void;
  onClose(handler: () => void): void;
  /**
   * The session moved on: the transport re-arms its deadlines and, once authenticated, lifts its message and
   * unsent-bytes limits (shared/companion/connection-guard.ts). Optional: in-memory connections have none.
   */
  sessionProgress?(step: SessionProgress): void;
}

/** Steps of a session the transport hears about: `hello` accepted, a pairing code shown, paired or authenticated. */
export type SessionProgress = 'hello' | 'pair-start' | 'authenticated';

/** Preview images the engine produced for one step, already in the requested format and size. */
export interface PreviewImages {
  width: number;
  height: number;
  format: ImageFormat;
  /** One payload per frame: `image-rgb8` (height·width·3 bytes) or a PNG file. */
  frames: Uint8Array[];
  /**
   * When the engine made them, on the clock of its events (default: when `emitPreview` is called). A runner whose
   * engine runs elsewhere (a worker thread) passes it, so `preview.ready` is not stamped later than the events
   * the engine emitted after it.
   */
  atMs?: number;
}

/** What an engine run returns: the final video as 8-bit interleaved RGB frames. */
export interface EngineRunResult {
  width: number;
  height: number;
  fps: number;
  stepsRun: number;
  frames: Uint8Array[];
  timings: { loadMs: number; textMs: number; denoiseMs: number; decodeMs: number; totalMs: number };
}

/** One job handed to the engine runner. */
export interface EngineJob {
  runId: string;
  params: RunParams;
  preview: PreviewSettings | null;
  /** Aborted by `run.cancel` or shutdown: stop as soon as possible and reject. */
  signal: AbortSignalLike;
  /** Engine telemetry, in order. */
  emit(event: EngineEvent): void;
  /** Preview frames for a denoising step (call at the cadence `preview.everySteps`). */
  emitPreview(step: number, images: PreviewImages): void;
}

/** Why a run failed, as its `run.failed` (or, for `engine-crashed`, `run.interrupted`) event says. */
export type RunFailureCode =
  'invalid-params' | 'out-of-memory' | 'engine-error' | 'internal' | 'engine-crashed';

/** An engine failure with its wire code (a runner may throw any error; others count as `engine-error`). */
export class RunFailure extends Error {
  override readonly name = 'RunFailure';
  constructor(
    readonly code: RunFailureCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * A runner's answer to parameters before a run is accepted: `invalid-params` (`field` names the bad one, dotted,
 * relative to `params`; '' for the whole) or `job-too-large` (the job cannot fit this device's memory; the message
 * gives the numbers).
 */
export type RunVerdict =
  { ok: true } | { ok: false; code?: 'invalid-params' | 'job-too-large'; field: string; message: string };

/** Runs engine jobs, one at a time (the server never calls `run` while another is in flight). */
export interface EngineRunner {
  /** Checks parameters, and whether the job fits the device, before a run is accepted. */
  validate?(params: RunParams): RunVerdict | Promise<RunVerdict>;
  run(job: EngineJob): Promise<EngineRunResult>;
  /**
   * Stops the engine now, whatever it is doing: the run in flight settles (rejects) and the next run starts on a
   * fresh engine. Called when a cancelled run has not stopped by the cancel deadline. Without it a cancelled run
   * still ends at the deadline, but the next run waits until the engine returns.
   */
  terminate?(): Promise<void>;
}

/** Schedules `fn` after `ms` milliseconds (a host's timer); returns a function that unschedules it. */
export type Schedule = (ms: number, fn: () => void) => () => void;

/** A run's metadata, kept beside its event log. */
export interface StoredRunMeta {
  runId: string;
  clientId: string;
  label?: string;
}

/** Persistence of runs: their event logs (one line per entry) and metadata. */
export interface RunStore extends EventLogStore {
  /** Every stored run (for restore after a restart). */
  listRuns(): Promise<StoredRunMeta[]>;
  /** Records a new run (before its first event is appended). */
  saveRun(meta: StoredRunMeta): Promise<void>;
}

/** What a server keeps and queues when its options say nothing (docs/protocol.md states these numbers). */
export const DEFAULT_RUN_LIMITS = Object.freeze({
  /** Runs waiting behind the running one; one more gets `queue-full`. */
  maxQueuedRuns: 16,
  /** Finished runs whose final frames stay for `frames.get`. */
  keepFramesOfRuns: 4,
  /** Previews per run whose binary frames stay for replays. */
  keepPreviewsPerRun: 8,
});

/**
 * Reads the device's thermal state now (iOS: `ProcessInfo.thermalState`; Node: the OS or a file, src-main/companion/
 * thermal.ts); null when the device cannot tell. Read at each run's start and end and for each device info.
 */
export type ThermalProbe = () => Promise<ThermalState | null>;

/** Everything a host injects. */
export interface CompanionServerOptions {
  /** The device info sent in `welcome` and `device.info` (read each time: memory changes). */
  deviceInfo: () => DeviceInfo | Promise<DeviceInfo>;
  runner: EngineRunner;
  /** The thermal state recorded on each run's `run.started` and terminal event (without it: not recorded). */
  thermal?: ThermalProbe;
  /** Monotonic clock: event `atMs`, pairing expiry. */
  clock: Clock;
  /** Wall clock for pairing records (default: none, 0). */
  epochMs?: () => number;
  random: RandomBytes;
  hmac: HmacSha256;
  runStore?: RunStore;
  pairingStore?: PairingStore;
  pairingLimits?: Partial<PairingLimits>;
  /** Called with each new pairing code: the host shows it on its screen. */
  onPairingCode?: (code: string, expiresInMs: number) => void;
  /** Diagnostics (never client-controlled text without a prefix). */
  log?: (line: string) => void;
  /** Most runs waiting behind the running one (default {@link DEFAULT_RUN_LIMITS}). */
  maxQueuedRuns?: number;
  /** The host's timer, for the cancel deadline (without it a cancelled run ends when its engine stops). */
  schedule?: Schedule;
  /**
   * How long a cancelled (or shut-down) run's engine may take to stop before the run ends anyway and the engine is
   * terminated (default {@link DEFAULT_CANCEL_DEADLINE_MS}).
   */
  cancelDeadlineMs?: number;
  /** Finished runs whose final frames stay in memory for `frames.get` (default {@link DEFAULT_RUN_LIMITS}). */
  keepFramesOfRuns?: number;
  /** Previews per run whose binary frames are kept for replays (default {@link DEFAULT_RUN_LIMITS}). */
  keepPreviewsPerRun?: number;
  /** Encodes an RGB frame as PNG (for `frames.get` with format `png`; without it png requests are refused). */
  encodePng?: (rgb: Uint8Array, width: number, height: number) => Uint8Array;
  versions?: VersionRange;
  /** Model sync: where pushed block sets are staged and installed (without it, `blockset.offer` is unsupported). */
  modelStore?: ModelStore;
  /** Hashes chunks and manifests for model sync (required with `modelStore`). */
  sha256?: Sha256;
  modelSyncLimits?: Partial<ModelSyncLimits>;
  /** A pushed block set was installed. */
  onBlockSetInstalled?: (record: InstalledBlockSetRecord) => void;
}

/** Default cancel deadline, ms: `run.cancel` always ends the run within this. */
export const DEFAULT_CANCEL_DEADLINE_MS = 2000;

/** Close codes the server uses. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  tooBig: 1009,
  tryAgainLater: 1013,
  helloReject: 4001,
} as const;
