/**
 * `odsora companion --replay <events.jsonl> [--replay-rate N] [--replay-count N]`: a companion whose engine is a
 * replay of a recorded event log ({@link ReplayEngineRunner}). Everything else is the real companion: the shared
 * server (sessions, pairing, run queue, event log with seq numbers, subscriptions), the WebSocket transport, the
 * file stores and, unless turned off, the Bonjour advertisement. It loads no model, so it starts in well under a
 * second. With `--json` it prints `{port, id, name, pairingCode, timeOriginEpochMs, replay}` first:
 * `timeOriginEpochMs + atMs` is the epoch time at which a replayed event was emitted. Its thermal state is the
 * normal companion's (./thermal.ts: `--thermal-file`, else the OS): in device info, and on each run's `run.started`
 * and terminal event for protocol 3 clients.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CompanionServer } from '../../shared/companion/server';
import { ENGINE_VERSION } from '../../shared/engine/version';
import type { DeviceInfo } from '../../shared/protocol/device';
import { SUPPORTED_VERSIONS } from '../../shared/protocol/handshake';
import { nodeClock } from '../adapters/node-memory-probe';
import { nodeHmacSha256 } from '../devices/key-store';
import { encodePng } from '../output/video-files';
import { advertise, type Advertisement } from './advertise';
import { defaultDataDir } from './host';
import { parseReplayLog, ReplayEngineRunner } from './replay';
import { companionThermal } from './thermal';
import { FilePairingStore, FileRunStore, loadDeviceId } from '../../shared/companion/host-kit/file-stores';
import { NodeFileSystem } from '../adapters/node-fs';
import { listenWs, type WsTransport } from './ws-transport';

/** Options of {@link startReplayCompanion}. */
export interface ReplayCompanionOptions {
  /** The recorded log (JSON lines; see parseReplayLog). */
  logPath: string;
  /** Events per second (default 200). */
  ratePerSecond?: number;
  /** Events per run (default: the log's length; a shorter log repeats). */
  count?: number;
  name?: string;
  host?: string;
  port?: number;
  dataDir?: string;
  loopback?: boolean;
  advertise?: boolean;
  /** `--thermal-file`: read the thermal state from this file instead of the OS (./thermal.ts). */
  thermalFile?: string;
  log?: (line: string) => void;
  onPairingCode?: (code: string, expiresInMs: number) => void;
}

/** A running replay companion. */
export interface ReplayCompanion {
  readonly port: number;
  readonly id: string;
  readonly name: string;
  readonly pairingCode: string;
  /** Events emitted per run, and how many the log held. */
  readonly replay: { events: number; logEvents: number; skipped: number; ratePerSecond: number };
  /** `performance.timeOrigin` of this process: add an event's `atMs` for its epoch time. */
  readonly timeOriginEpochMs: number;
  close(): Promise<void>;
}

/** Starts a companion that replays `logPath` for each run it is given. */
export async function startReplayCompanion(options: ReplayCompanionOptions): Promise<ReplayCompanion> {
  const log = options.log ?? ((): void => undefined);
  let text: string;
  try {
    text = await readFile(options.logPath, 'utf8');
  } catch (e) {
    throw new Error(`--replay: cannot read the event log ${options.logPath}: ${(e as Error).message}`);
  }
  const recorded = parseReplayLog(text);
  const ratePerSecond = options.ratePerSecond ?? 200;
  const count = options.count ?? recorded.events.length;
  const runner = new ReplayEngineRunner({ events: recorded.events, ratePerSecond, count, clock: nodeClock });
  const dataDir = options.dataDir ?? join(defaultDataDir(), 'replay');
  const fs = new NodeFileSystem();
  const id = await loadDeviceId(fs, dataDir, () => `dev-${randomBytes(6).toString('hex')}`);
  const name = (options.name ?? 'Replay device').slice(0, 128) || 'Replay device';
  const thermal = companionThermal({
    ...(options.thermalFile === undefined ? {} : { file: options.thermalFile }),
    log,
  });
  const deviceInfo = async (): Promise<DeviceInfo> => ({
    id,
    name,
    model: 'replay',
    role: 'target',
    simulated: true,
    platform: 'node',
    engineVersion: ENGINE_VERSION,
    protocol: { ...SUPPORTED_VERSIONS },
    memory: { limitBytes: null, availableBytes: null },
    thermalState: await thermal.now(),
    backends: [runner.backendName],
    blockSets: [],
    runModel: null,
  });
  const server = await CompanionServer.create({
    deviceInfo,
    runner,
    thermal: thermal.probe,
    clock: nodeClock,
    epochMs: () => Date.now(),
    random: (n) => new Uint8Array(randomBytes(n)),
    hmac: nodeHmacSha256,
    runStore: new FileRunStore(fs, dataDir),
    pairingStore: new FilePairingStore(fs, dataDir),
    onPairingCode: options.onPairingCode,
    encodePng,
    log,
  });
  let transport: WsTransport | null = null;
  let ad: Advertisement | null = null;
  try {
    transport = await listenWs({ host: options.host ?? '127.0.0.1', port: options.port ?? 0, log }, (c) =>
      server.accept(c),
    );
    if (options.advertise ?? true)
      ad = advertise(await deviceInfo(), transport.port, {
        listenHost: transport.host,
        loopback: options.loopback,
        onError: (e) => log(`mdns: ${(e as Error)?.message ?? String(e)}`),
      });
  } catch (e) {
    await transport?.close();
    throw e;
  }
  const shown = server.startPairing();
  let closed = false;
  return {
    port: transport.port,
    id,
    name,
    pairingCode: shown?.code ?? '',
    replay: { events: count, logEvents: recorded.events.length, skipped: recorded.skipped, ratePerSecond },
    timeOriginEpochMs: performance.timeOrigin,
    close: async () => {
      if (closed) return;
      closed = true;
      await server.shutdown();
      await ad?.stop().catch(() => undefined);
      await transport?.close();
    },
  };
}
