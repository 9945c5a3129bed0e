/**
 * The app's composition root, written against ports only (no React Native import), so it runs on Node in tests:
 * the shared CompanionServer with the app's stores (react-native-fs), the in-process engine runner on ONNX Runtime,
 * the WebSocket server on a TCP listener, the Bonjour advertisement and the device probe. It keeps the snapshot the
 * screens draw (status, current run, installed models, settings) and the actions they take (forget a studio,
 * delete a model, a fresh pairing code, change settings).
 */
import { describeRunModel } from '../../../shared/companion/engine-job';
import { CompanionServer } from '../../../shared/companion/server';
import {
  SWEEP_ABANDONED_PUSHES_EVERY_MS,
  type InstalledBlockSetRecord,
} from '../../../shared/companion/model-sync';
import type { RandomBytes } from '../../../shared/companion/pairing';
import { openBlockSet, type BlockSet } from '../../../shared/engine/blockset/load';
import type { Clock, InferenceBackend, MemoryProbe } from '../../../shared/engine/ports';
import { ENGINE_VERSION } from '../../../shared/engine/version';
import { bytesToHex } from '../../../shared/protocol/auth';
import type { DeviceInfo, RunModel } from '../../../shared/protocol/device';
import type { ThermalState } from '../../../shared/protocol/thermal';
import type { ConnectionLimits } from '../../../shared/protocol/limits';
import { SUPPORTED_VERSIONS } from '../../../shared/protocol/handshake';
import { FilePairingStore, FileRunStore, loadDeviceId } from '../../../shared/companion/host-kit/file-stores';
import { PhoneEngineRunner } from '../engine/phone-engine-runner';
import { RnfsFileSystem } from '../storage/rnfs-file-system';
import type { RnfsLike } from '../storage/rnfs-like';
import { RnfsModelStore } from '../storage/rnfs-model-store';
import { RnfsSettingsStore, type PhoneSettings } from '../storage/rnfs-stores';
import { listenWebSocket, type WebSocketListener } from '../ws/server';
import type { TcpModuleLike } from '../ws/socket-types';
import { jsHmacSha256, jsSha256 } from './crypto';
import {
  endRunView,
  noteRunThermal,
  reduceRunView,
  startRunView,
  withPreview,
  type RunView,
} from './run-view';
import { SnapshotStore } from './store';

/** Thermal state as iOS reports it (ProcessInfo.thermalState): shared/protocol/thermal.ts. */
export type { ThermalState };

/** Memory and thermal state of the device (the native probe in the app). */
export interface DeviceProbe extends MemoryProbe {
  thermalState(): Promise<ThermalState | null>;
}

/** A published Bonjour service. */
export interface Advertisement {
  stop(): Promise<void>;
}

/** Publishes `_odsora._tcp` for the device. */
export type Advertiser = (info: DeviceInfo, port: number) => Promise<Advertisement>;

/** Everything the app injects. */
export interface PhoneCompanionPorts {
  tcp: TcpModuleLike;
  rnfs: RnfsLike;
  /** Where stores live (Library/odsora in the app). */
  dataDir: string;
  /** Where pushed block sets are installed (Documents/blocksets: visible in the Files app for copying sets in). */
  modelsDir: string;
  /** An InferenceBackend with or without Core ML. */
  createBackend: (coreml: boolean) => InferenceBackend;
  probe: DeviceProbe;
  random: RandomBytes;
  clock: Clock;
  epochMs: () => number;
  advertise?: Advertiser;
  encodePng?: (rgb: Uint8Array, width: number, height: number) => Uint8Array;
  /** The hardware model the studio sees, e.g. `iPhone16,1`. */
  hardwareModel: string;
  /** e.g. `ios 18.1`. */
  platform: string;
  /** The name used until the settings name another. */
  defaultName: string;
  log?: (line: string) => void;
}

/** Where the server listens. */
export interface PhoneCompanionOptions {
  host?: string;
  port?: number;
  /** Overrides of the protocol's connection limits (tests). */
  connectionLimits?: Partial<ConnectionLimits>;
}

/** One installed block set, as the models screen lists it. */
export interface ModelEntry {
  name: string;
  model: string;
  bytes: number;
  manifestSha256: string;
  active: boolean;
}

/** What the screens draw. */
export interface CompanionSnapshot {
  id: string;
  name: string;
  port: number;
  advertising: boolean;
  advertiseError: string | null;
  pairingCode: { code: string; expiresAtMs: number } | null;
  paired: { keyId: string; clientId: string; clientName: string; pairedAtEpochMs: number }[];
  run: RunView | null;
  models: ModelEntry[];
  modelError: string | null;
  settings: PhoneSettings;
  backend: string;
  memory: { availableBytes: number | null; footprintBytes: number | null; thermalState: ThermalState | null };
}

/** A running companion. */
export interface PhoneCompanion {
  readonly store: SnapshotStore<CompanionSnapshot>;
  readonly server: CompanionServer;
  readonly port: number;
  /** Shows a fresh pairing code. */
  newPairingCode(): void;
  /** Forgets a paired studio. */
  forget(keyId: string): Promise<void>;
  /** Deletes an installed block set (the active one too: runs are then refused until another is chosen). */
  deleteModel(name: string): Promise<void>;
  /** Saves settings and applies them (name: re-advertised; Core ML: sessions recompiled; model: reopened). */
  updateSettings(patch: Partial<PhoneSettings>): Promise<void>;
  /** Reads the paired studios and the shown pairing code again (the status screen ticks it). */
  refreshStatus(): void;
  /** Reads memory and thermal state again. */
  refreshProbe(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the companion. */
export async function startPhoneCompanion(
  ports: PhoneCompanionPorts,
  options: PhoneCompanionOptions = {},
): Promise<PhoneCompanion> {
  const log = ports.log ?? ((): void => undefined);
  const fs = new RnfsFileSystem(ports.rnfs);
  const settingsStore = new RnfsSettingsStore(ports.rnfs, ports.dataDir);
  let settings = await settingsStore.load({
    deviceName: ports.defaultName.slice(0, 128) || 'odsora iPhone',
    defaultBudget: { kind: 'auto' },
    coreml: true,
    activeModel: null,
  });
  const id = await loadDeviceId(fs, ports.dataDir, () => `dev-${bytesToHex(ports.random(6))}`);
  const modelStore = new RnfsModelStore(ports.rnfs, ports.modelsDir);
  const pairingStore = new FilePairingStore(fs, ports.dataDir);
  let backend = ports.createBackend(settings.coreml);
  const readProbe = async (): Promise<CompanionSnapshot['memory']> => {
    const safe = async <T>(f: () => Promise<T>): Promise<T | null> => f().catch(() => null);
    const available = await safe(() => ports.probe.availableBytes());
    const footprint = await safe(() => ports.probe.footprintBytes());
    return {
      availableBytes: available === null ? null : Math.max(0, Math.floor(available)),
      footprintBytes: footprint === null ? null : Math.max(0, Math.floor(footprint)),
      thermalState: await safe(() => ports.probe.thermalState()),
    };
  };
  const store = new SnapshotStore<CompanionSnapshot>({
    id,
    name: settings.deviceName,
    port: 0,
    advertising: false,
    advertiseError: null,
    pairingCode: null,
    paired: [],
    run: null,
    models: [],
    modelError: null,
    settings,
    backend: backend.name,
    memory: await readProbe(),
  });
  const setRun = (f: (r: RunView) => RunView, runId: string): void =>
    store.update((s) => (s.run?.runId === runId ? { run: f(s.run) } : {}));
  // The run queue's thermal readings (run.started's, the terminal event's), shown on the run screen as recorded.
  let nextRunThermal: ThermalState | null | undefined;
  const runThermal = async (): Promise<ThermalState | null> => {
    let state: ThermalState | null = null;
    try {
      state = await ports.probe.thermalState();
      return state;
    } finally {
      const noted = noteRunThermal(store.get().run, state);
      if ('end' in noted) store.update({ run: noted.end });
      else nextRunThermal = noted.nextStart;
    }
  };
  const runner = new PhoneEngineRunner({
    backend: () => backend,
    clock: ports.clock,
    probe: ports.probe,
    defaultBudget: () => settings.defaultBudget,
    ...(ports.encodePng ? { encodePng: ports.encodePng } : {}),
    observer: {
      onStart: (runId, params) =>
        store.update({ run: startRunView(runId, params.steps ?? null, nextRunThermal) }),
      onEvent: (runId, event) => setRun((r) => reduceRunView(r, event), runId),
      onPreview: (runId, step, images) => setRun((r) => withPreview(r, step, images), runId),
      onEnd: (runId, outcome, message) => {
        setRun((r) => endRunView(r, outcome, message), runId);
        void refreshProbe();
      },
    },
  });

  let installed: InstalledBlockSetRecord[] = [];
  // The set runs use, as device info's runModel tells clients (null: no model opened).
  let runModel: RunModel | null = null;
  const openActive = async (): Promise<void> => {
    installed = await modelStore.listInstalled();
    const wanted = installed.find((r) => r.name === settings.activeModel) ?? installed[0] ?? null;
    let blockSet: BlockSet | null = null;
    let modelError: string | null = null;
    if (wanted !== null)
      try {
        blockSet = await openBlockSet(fs, jsSha256, modelStore.installedDir(wanted.name));
      } catch (e) {
        modelError = `${wanted.name}: ${(e as Error).message}`;
      }
    if (runner.model?.dir !== blockSet?.dir) await runner.useBlockSet(blockSet);
    runModel = blockSet !== null && wanted !== null ? describeRunModel(blockSet, wanted.name) : null;
    store.update({
      modelError,
      models: installed.map((r) => ({
        name: r.name,
        model: r.model,
        bytes: r.bytes,
        manifestSha256: r.manifestSha256,
        active: blockSet !== null && r.name === wanted?.name,
      })),
    });
  };
  await openActive();

  const deviceInfo = async (): Promise<DeviceInfo> => {
    const memory = await readProbe();
    store.update({ memory, backend: backend.name });
    return {
      id,
      name: settings.deviceName,
      model: ports.hardwareModel.slice(0, 128) || 'iphone',
      role: 'target',
      simulated: false,
      platform: ports.platform.slice(0, 64) || 'ios',
      engineVersion: ENGINE_VERSION,
      protocol: { ...SUPPORTED_VERSIONS },
      memory: { limitBytes: null, availableBytes: memory.availableBytes },
      thermalState: memory.thermalState,
      backends: [backend.name],
      blockSets: installed.map((r) => ({
        name: r.name,
        model: r.model.slice(0, 128) || 'model',
        bytes: r.bytes,
        manifestSha256: r.manifestSha256,
        complete: true,
      })),
      runModel,
    };
  };

  const server = await CompanionServer.create({
    deviceInfo,
    runner,
    thermal: runThermal,
    clock: ports.clock,
    epochMs: ports.epochMs,
    random: ports.random,
    hmac: jsHmacSha256,
    runStore: new FileRunStore(fs, ports.dataDir, ports.epochMs),
    pairingStore,
    modelStore,
    sha256: jsSha256,
    onPairingCode: (code, expiresInMs) =>
      store.update({ pairingCode: { code, expiresAtMs: ports.epochMs() + expiresInMs } }),
    onBlockSetInstalled: () => void openActive().catch((e: unknown) => log(`model: ${String(e)}`)),
    ...(ports.encodePng ? { encodePng: ports.encodePng } : {}),
    // The cancel deadline: the run ends on time; the phone's engine cannot be killed, so the next run waits for it.
    schedule: (ms, fn) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    log,
  });
  // The paired list and the shown code, as the server holds them (a used, expired or locked-out code is gone).
  const refreshPaired = (): void =>
    store.update(() => ({
      paired: server.pairedClients(),
      ...(server.shownPairingCode() === null ? { pairingCode: null } : {}),
    }));
  // The store changes before the server records the key: read it after this turn.
  pairingStore.onChange = () => void setTimeout(refreshPaired, 0);
  refreshPaired();

  let listener: WebSocketListener;
  try {
    listener = await listenWebSocket(
      ports.tcp,
      {
        host: options.host ?? '0.0.0.0',
        port: options.port ?? 0,
        log,
        ...(options.connectionLimits ? { limits: options.connectionLimits } : {}),
      },
      (c) => server.accept(c),
    );
  } catch (e) {
    await runner.close();
    throw e;
  }
  store.update({ port: listener.port });

  let ad: Advertisement | null = null;
  const readvertise = async (): Promise<void> => {
    await ad?.stop().catch(() => undefined);
    ad = null;
    if (!ports.advertise) return;
    try {
      ad = await ports.advertise(await deviceInfo(), listener.port);
      store.update({ advertising: true, advertiseError: null });
    } catch (e) {
      store.update({ advertising: false, advertiseError: (e as Error).message });
    }
  };
  // Not awaited: the first launch waits on iOS's Local Network prompt; the status screen shows the outcome.
  void readvertise();
  server.startPairing();

  async function refreshProbe(): Promise<void> {
    store.update({ memory: await readProbe(), backend: backend.name });
  }

  const sweeping = setInterval(() => void server.sweepAbandonedPushes(), SWEEP_ABANDONED_PUSHES_EVERY_MS);
  let closed = false;
  return {
    store,
    server,
    port: listener.port,
    newPairingCode: () => void server.startPairing(),
    forget: async (keyId) => {
      await server.forgetClient(keyId);
      refreshPaired();
    },
    deleteModel: async (name) => {
      if (runner.model?.dir === modelStore.installedDir(name)) await runner.useBlockSet(null);
      await server.deleteBlockSet(name);
      await openActive();
    },
    refreshStatus: refreshPaired,
    updateSettings: async (patch) => {
      const next = { ...settings, ...patch };
      await settingsStore.save(next);
      const before = settings;
      settings = next;
      store.update({ settings, name: settings.deviceName });
      if (next.coreml !== before.coreml) {
        backend = ports.createBackend(next.coreml);
        await runner.resetSessions();
        store.update({ backend: backend.name });
      }
      if (next.activeModel !== before.activeModel) await openActive();
      if (next.deviceName !== before.deviceName) await readvertise();
    },
    refreshProbe,
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(sweeping);
      await server.shutdown();
      await ad?.stop().catch(() => undefined);
      await listener.close();
      await runner.close();
    },
  };
}
