/**
 * The Node companion host: opens the model (converting a model directory into the cache once), picks a profile,
 * restores run logs and paired keys from the data directory, serves the wire protocol over WebSockets, advertises
 * `_odsora._tcp`, and shows a pairing code. Block sets pushed by the studio (model sync) are installed under
 * `<data>/blocksets/<name>` and listed in device info; runs keep using the model the host opened at start-up
 * (start it with `--models <data>/blocksets/<name>` to run a pushed set).
 */
import { randomBytes } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { SWEEP_ABANDONED_PUSHES_EVERY_MS } from '../../shared/companion/model-sync';
import { describeRunModel } from '../../shared/companion/engine-job';
import { CompanionServer } from '../../shared/companion/server';
import type { RequestBudgetSpec } from '../../shared/engine/cidl/budget';
import type { ExecutionProviderName } from '../../shared/engine/execution-provider';
import { ENGINE_VERSION } from '../../shared/engine/version';
import type { DeviceInfo } from '../../shared/protocol/device';
import type { ConnectionLimits } from '../../shared/protocol/limits';
import { SUPPORTED_VERSIONS } from '../../shared/protocol/handshake';
import { NodeFileSystem, nodeSha256 } from '../adapters/node-fs';
import { nodeHmacSha256 } from '../devices/key-store';
import { NodeMemoryProbe, nodeClock } from '../adapters/node-memory-probe';
import { ensureBundledBlockSet, openModel } from '../models/bundled';
import { encodePng } from '../output/video-files';
import { advertise, type Advertisement } from './advertise';
import { companionThermal } from './thermal';
import { blockSetBytes, largestBlockBytes, WorkerEngineRunner } from './engine-runner';
import { nodeModelStore } from './model-store';
import {
  defaultExecutionProvider,
  engineCapacity,
  isFullSizeModel,
  makeProfile,
  type DeviceProfile,
  type ProfileName,
} from './profiles';
import { FilePairingStore, FileRunStore, loadDeviceId } from '../../shared/companion/host-kit/file-stores';
import { listenWs, type WsTransport } from './ws-transport';

/** Options of {@link startCompanionHost}. */
export interface CompanionHostOptions {
  name?: string;
  host?: string;
  port?: number;
  profile?: ProfileName;
  /** `--memory-budget`: caps every run's budget (bytes spec) or sets the default budget (other specs). */
  memoryBudget?: RequestBudgetSpec | null;
  /** `--memory-limit`: a whole-process limit for every run (bytes; the phone profile sets 3.3 GB for full-size models). */
  memoryLimitBytes?: number | null;
  /** A model directory or converted block set (default: the bundled model). */
  models?: string;
  dataDir?: string;
  /** Where pushed block sets are staged and installed (model sync; default `<dataDir>/blocksets`). */
  blockSetsDir?: string;
  cacheRoot?: string;
  /** Keep the announcement on the loopback interface (tests); a companion listening on loopback always does. */
  loopback?: boolean;
  /** False: no announcement at all. */
  advertise?: boolean;
  /** How long a cancelled run's engine may take to stop before it is killed (default 2000 ms; tests). */
  cancelDeadlineMs?: number;
  threads?: number;
  /** ONNX Runtime execution provider (default: the profile's, {@link defaultExecutionProvider}). */
  ep?: ExecutionProviderName;
  /** `--thermal-file`: read the thermal state from this file (tests, demos) instead of the OS (./thermal.ts). */
  thermalFile?: string;
  log?: (line: string) => void;
  onPairingCode?: (code: string, expiresInMs: number) => void;
  /** Overrides of the protocol's connection limits (tests). */
  connectionLimits?: Partial<ConnectionLimits>;
}

/** A running companion. */
export interface CompanionHost {
  readonly port: number;
  readonly id: string;
  readonly name: string;
  readonly profile: DeviceProfile;
  readonly server: CompanionServer;
  /** The code shown at start-up (clients may ask for a fresh one with pair.start). */
  readonly pairingCode: string;
  /** What the Bonjour announcement names (null: not advertised). */
  readonly advertised: { addresses: readonly string[]; loopbackOnly: boolean } | null;
  close(): Promise<void>;
}

/** The default data directory: ~/.local/share/odsora/companion. */
export function defaultDataDir(): string {
  return join(homedir(), '.local', 'share', 'odsora', 'companion');
}

/** Starts a companion. */
export async function startCompanionHost(options: CompanionHostOptions = {}): Promise<CompanionHost> {
  const log = options.log ?? ((): void => undefined);
  const dataDir = options.dataDir ?? defaultDataDir();
  const modelHost = { fs: new NodeFileSystem(), sha256: nodeSha256 };
  const cacheOpts = { ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}), log };
  const model = options.models
    ? await openModel(modelHost, options.models, cacheOpts)
    : await ensureBundledBlockSet(modelHost, cacheOpts);
  const budget = options.memoryBudget ?? null;
  const ep = options.ep ?? defaultExecutionProvider(options.profile ?? 'desktop');
  const profile = makeProfile(
    options.profile ?? 'desktop',
    {
      blockBytes: blockSetBytes(model.blockSet),
      largestBlockBytes: largestBlockBytes(model.blockSet),
      fullSize: isFullSizeModel(model.blockSet.manifest.stages.denoiser?.config),
    },
    budget?.kind === 'bytes' ? budget.bytes : null,
    options.memoryLimitBytes ?? null,
    ep,
  );
  const runner = new WorkerEngineRunner({
    blockSet: model.blockSet,
    threads: options.threads,
    ep,
    limit: { bytes: profile.limitBytes, kind: profile.limitKind },
    defaultBudget: budget !== null && budget.kind !== 'bytes' ? budget : null,
    capacity: engineCapacity(profile),
  });
  await runner.warm().catch((e: unknown) => {
    // A provider the profile chose (not --ep) names the profile, so the user knows where it came from.
    if (options.ep !== undefined || ep === 'cpu') throw e;
    throw new Error(`--profile ${profile.name} runs on --ep ${ep} by default: ${(e as Error).message}`, {
      cause: e,
    });
  });
  const id = await loadDeviceId(modelHost.fs, dataDir, () => `dev-${randomBytes(6).toString('hex')}`);
  const name = (options.name ?? `odsora companion on ${hostname()}`).slice(0, 128) || 'odsora companion';
  const probe = new NodeMemoryProbe(profile.limitBytes ?? undefined);
  const thermal = companionThermal({
    ...(options.thermalFile === undefined ? {} : { file: options.thermalFile }),
    log,
  });
  const modelName = String(
    (model.blockSet.manifest as { model?: { name?: unknown } }).model?.name ?? 'model',
  );
  const setName = modelName.slice(0, 128) || 'model';
  // Runs always use the model opened here (a pushed set is listed, not run).
  const runModel = describeRunModel(model.blockSet, setName);
  const deviceInfo = async (): Promise<DeviceInfo> => {
    let available: number | null = null;
    try {
      available = Math.max(0, Math.floor(await probe.availableBytes()));
    } catch {
      available = null;
    }
    return {
      id,
      name,
      model: profile.model,
      role: profile.role,
      simulated: profile.simulated,
      platform: 'node',
      engineVersion: ENGINE_VERSION,
      protocol: { ...SUPPORTED_VERSIONS },
      memory: { limitBytes: profile.limitBytes, availableBytes: available },
      thermalState: await thermal.now(),
      backends: [runner.backendName.slice(0, 128)],
      blockSets: [
        {
          name: setName,
          model: setName,
          bytes: blockSetBytes(model.blockSet),
          manifestSha256: model.sourceSha256 ?? '0'.repeat(64),
          complete: true,
        },
      ],
      runModel,
    };
  };
  const server = await CompanionServer.create({
    deviceInfo,
    runner,
    thermal: thermal.probe,
    clock: nodeClock,
    epochMs: () => Date.now(),
    random: (n) => new Uint8Array(randomBytes(n)),
    hmac: nodeHmacSha256,
    runStore: new FileRunStore(modelHost.fs, dataDir),
    pairingStore: new FilePairingStore(modelHost.fs, dataDir),
    modelStore: nodeModelStore(options.blockSetsDir ?? join(dataDir, 'blocksets')),
    sha256: nodeSha256,
    onPairingCode: options.onPairingCode,
    encodePng,
    schedule: (ms, fn) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    ...(options.cancelDeadlineMs === undefined ? {} : { cancelDeadlineMs: options.cancelDeadlineMs }),
    log,
  });
  let transport: WsTransport | null = null;
  let ad: Advertisement | null = null;
  try {
    transport = await listenWs(
      {
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 0,
        log,
        ...(options.connectionLimits ? { limits: options.connectionLimits } : {}),
      },
      (c) => server.accept(c),
    );
    if (options.advertise ?? true)
      ad = advertise(await deviceInfo(), transport.port, {
        listenHost: transport.host,
        loopback: options.loopback,
        onError: (e) => log(`mdns: ${(e as Error)?.message ?? String(e)}`),
      });
  } catch (e) {
    await transport?.close();
    await runner.close();
    throw e;
  }
  const shown = server.startPairing();
  const sweeping = setInterval(() => void server.sweepAbandonedPushes(), SWEEP_ABANDONED_PUSHES_EVERY_MS);
  sweeping.unref();
  let closed = false;
  return {
    port: transport.port,
    id,
    name,
    profile,
    server,
    pairingCode: shown?.code ?? '',
    advertised: ad === null ? null : { addresses: ad.addresses, loopbackOnly: ad.loopbackOnly },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(sweeping);
      await server.shutdown();
      await ad?.stop().catch(() => undefined);
      await transport?.close();
      await runner.close();
    },
  };
}
