/**
 * The device hub: one list of devices from three sources (discovered over mDNS by DeviceBrowser, added by
 * host:port, and the built-in simulated device), one CompanionClient connection per device, pairing with keys
 * persisted in a FileKeyStore, diagnostics for the panel, and reconnects (the client resumes dropped sessions; the
 * hub retries devices it could never reach, with backoff). One entry per device id: a manual entry that turns out
 * to be a device already listed merges into it.
 *
 * Persisted under the studio's data dir: `pairing-keys.json` (0600) and `devices.json` (manual entries, the
 * baseline choice and this studio's client id).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DeviceInfo } from '../../../shared/protocol/device';
import type { StudioDevice } from '../../../shared/protocol/studio-contract';
import {
  CompanionClient,
  CompanionError,
  DeviceProofError,
  VersionRejectedError,
  type KeyStore,
} from '../../devices/companion-client';
import { DeviceBrowser, type DeviceBrowserOptions, type DiscoveredDevice } from '../../devices/discovery';
import {
  deviceView,
  devicesFileSchema,
  entryName,
  hasNoSource,
  messageOf,
  pickAddress,
  type DevicesFile,
  type Entry,
} from './device-entry';
import { StudioServiceError } from './errors';
import { FileKeyStore } from './file-key-store';

/** How often the hub re-reads connected devices' thermal state by default. */
export const DEFAULT_THERMAL_POLL_MS = 10_000;

/** What the built-in device tells the hub (builtin-device.ts). */
export type BuiltinDeviceState =
  | { status: 'starting' }
  | { status: 'ready'; host: string; port: number; deviceId: string; name: string }
  | { status: 'error'; message: string };

/** Options of {@link DeviceHub}. */
export interface DeviceHubOptions {
  /** The studio's data directory (keys, devices.json). */
  dataDir: string;
  /** Default: a FileKeyStore in `dataDir`. */
  keyStore?: KeyStore;
  /** Browse `_odsora._tcp` (default on). `connectHost` overrides the announced address (loopback machines). */
  discovery?: false | { mdns?: DeviceBrowserOptions['mdns']; connectHost?: string };
  clientName?: string;
  /** Per-request timeout of device connections (default 15 s). */
  requestTimeoutMs?: number;
  /** Backoff of retries for devices the hub could not reach (default 1 s .. 30 s). */
  retryDelayMs?: { initial: number; max: number };
  /** How often the thermal state of connected devices is re-read with `device.info.get` (default 10 s; 0: never). */
  thermalPollMs?: number;
  log?: (line: string) => void;
}

/** Composes discovery, manual entries and the built-in device into one list of connections. */
export class DeviceHub {
  readonly keyStore: KeyStore;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(devices: StudioDevice[]) => void>();
  private browser: DeviceBrowser | null = null;
  private persisted: DevicesFile = {
    format: 'odsora-studio-devices',
    version: 1,
    clientId: `studio-${randomUUID()}`,
    manual: [],
    baselineDeviceId: null,
  };
  private closed = false;
  private thermalTimer: ReturnType<typeof setInterval> | null = null;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: DeviceHubOptions) {
    this.keyStore = opts.keyStore ?? new FileKeyStore(opts.dataDir);
    this.log = opts.log ?? ((): void => undefined);
  }

  private get devicesPath(): string {
    return join(this.opts.dataDir, 'devices.json');
  }

  /** Loads devices.json, starts browsing and connects to the manual entries. */
  async start(): Promise<void> {
    if (existsSync(this.devicesPath)) {
      const parsed = devicesFileSchema.safeParse(JSON.parse(await readFile(this.devicesPath, 'utf8')));
      if (parsed.success) this.persisted = parsed.data;
      else this.log(`${this.devicesPath}: not a devices file; starting with no manual devices`);
    } else {
      await this.save();
    }
    for (const m of this.persisted.manual) this.ensureManual(m.host, m.port);
    const pollMs = this.opts.thermalPollMs ?? DEFAULT_THERMAL_POLL_MS;
    if (pollMs > 0) {
      this.thermalTimer = setInterval(() => void this.pollThermal(), pollMs);
      this.thermalTimer.unref();
    }
    if (this.opts.discovery !== false) {
      const d = this.opts.discovery ?? {};
      this.browser = new DeviceBrowser({
        ...(d.mdns ? { mdns: d.mdns } : {}),
        onUp: (device) => this.onDiscovered(device),
        onDown: (device) => this.onGone(device),
        onIgnored: (i) => this.log(`mDNS: ignored ${i.serviceName}: ${i.reason}`),
      });
    }
  }

  /** Every device, built-in first, then by name. */
  list(): StudioDevice[] {
    const order = (e: Entry): number => (e.sources.builtin ? 0 : 1);
    return [...this.entries.values()]
      .sort((a, b) => order(a) - order(b) || entryName(a).localeCompare(entryName(b)))
      .map((e) => this.viewOf(e));
  }

  /** Calls `listener` with the whole list after every change; returns the unsubscribe function. */
  onChange(listener: (devices: StudioDevice[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One device, or a `not-found` error. */
  get(id: string): StudioDevice {
    return this.viewOf(this.entry(id));
  }

  /** Adds host:port (persisted) and connects; an already known address answers with its entry. */
  async addManual(host: string, port: number): Promise<StudioDevice> {
    if (!this.persisted.manual.some((m) => m.host === host && m.port === port)) {
      this.persisted.manual.push({ host, port });
      await this.save();
    }
    const entry = this.ensureManual(host, port);
    await this.settle(entry);
    return this.viewOf(this.entries.get(entry.id) ?? this.byAddress(host, port) ?? entry);
  }

  /** Pairs with the code the device shows; the key goes to the key store. */
  async pair(id: string, code: string): Promise<StudioDevice> {
    const entry = this.entry(id);
    const client = entry.client;
    if (!client?.connected)
      throw new StudioServiceError('unavailable', `${entryName(entry)} is not connected`, true);
    if (client.authenticated) return this.viewOf(entry);
    try {
      await client.pair(code);
    } catch (e) {
      entry.diagnostics.lastError = messageOf(e);
      this.changed();
      const reason = e instanceof CompanionError ? e.code : '';
      if (reason.startsWith('pairing-'))
        throw new StudioServiceError(
          'bad-request',
          `pairing failed: ${messageOf(e)}`,
          reason === 'pairing-locked',
        );
      throw e;
    }
    entry.status = 'paired';
    entry.diagnostics.paired = true;
    entry.diagnostics.lastError = null;
    this.changed();
    return this.viewOf(entry);
  }

  /** Asks the device to show a fresh pairing code. */
  async requestPairingCode(id: string): Promise<{ digits: number; expiresInMs: number }> {
    const entry = this.entry(id);
    if (!entry.client?.connected)
      throw new StudioServiceError('unavailable', `${entryName(entry)} is not connected`, true);
    return entry.client.startPairing();
  }

  /** Drops the device's key and its manual entry; returns false when there was nothing to forget. */
  async forget(id: string): Promise<boolean> {
    const entry = this.entry(id);
    const deviceId = entry.deviceId;
    const hadKey = deviceId !== null && (await this.keyStore.get(deviceId)) !== null;
    if (deviceId !== null) await this.keyStore.delete(deviceId);
    const wasManual = entry.sources.manual;
    if (wasManual) {
      this.persisted.manual = this.persisted.manual.filter(
        (m) => !(m.host === entry.host && m.port === entry.port),
      );
      entry.sources.manual = false;
    }
    if (this.persisted.baselineDeviceId === (deviceId ?? entry.id)) this.persisted.baselineDeviceId = null;
    await this.save();
    await this.disconnect(entry);
    entry.diagnostics.paired = false;
    if (!entry.sources.builtin && !entry.sources.discovered) this.entries.delete(entry.id);
    else this.connect(entry);
    this.changed();
    return hadKey || wasManual;
  }

  /** Makes `id` the baseline device (persisted). */
  async setBaseline(id: string): Promise<StudioDevice> {
    const entry = this.entry(id);
    this.persisted.baselineDeviceId = entry.deviceId ?? entry.id;
    await this.save();
    this.changed();
    return this.viewOf(entry);
  }

  /** The authenticated connection of a device, for runs. */
  pairedClient(id: string): { client: CompanionClient; device: StudioDevice } {
    const entry = this.entry(id);
    if (!entry.client?.authenticated)
      throw new StudioServiceError(
        'unavailable',
        `${entryName(entry)} is ${entry.status === 'connected' ? 'not paired: pair it first' : entry.status}`,
        entry.status !== 'connected',
      );
    return { client: entry.client, device: this.viewOf(entry) };
  }

  /** The built-in device's state changed (builtin-device.ts calls this). */
  setBuiltin(state: BuiltinDeviceState, autoPair: (() => Promise<string | null>) | null = null): void {
    if (this.closed) return;
    let entry = this.entries.get('builtin');
    if (!entry) {
      entry = this.newEntry('builtin', '127.0.0.1', 0);
      entry.sources.builtin = true;
      this.entries.set(entry.id, entry);
    }
    entry.autoPair = autoPair;
    if (state.status === 'ready') {
      // mDNS may have listed the same device first: the built-in entry takes over.
      for (const other of [...this.entries.values()])
        if (other !== entry && other.deviceId === state.deviceId) {
          entry.sources.discovered ||= other.sources.discovered;
          entry.diagnostics.seenOverMdns ||= other.diagnostics.seenOverMdns;
          void this.disconnect(other);
          this.entries.delete(other.id);
        }
      entry.builtinError = null;
      entry.deviceId = state.deviceId;
      const moved = entry.host !== state.host || entry.port !== state.port;
      entry.host = state.host;
      entry.port = state.port;
      if (moved) void this.disconnect(entry).then(() => this.connect(entry));
      else this.connect(entry);
    } else if (state.status === 'error') {
      entry.builtinError = state.message;
      entry.status = 'error';
      entry.diagnostics.lastError = state.message;
      void this.disconnect(entry);
    } else {
      entry.status = 'connecting';
    }
    this.changed();
  }

  /** Stops browsing and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.thermalTimer !== null) clearInterval(this.thermalTimer);
    await this.browser?.stop();
    await Promise.all([...this.entries.values()].map((e) => this.disconnect(e)));
    this.listeners.clear();
  }

  // -------------------------------------------------------------------------------------------------------------

  private entry(id: string): Entry {
    const entry = this.entries.get(id) ?? [...this.entries.values()].find((e) => e.deviceId === id);
    if (!entry) throw new StudioServiceError('not-found', `no device ${id}`);
    return entry;
  }

  private byAddress(host: string, port: number): Entry | undefined {
    return [...this.entries.values()].find((e) => e.host === host && e.port === port);
  }

  private newEntry(id: string, host: string, port: number): Entry {
    return {
      id,
      deviceId: null,
      info: null,
      announced: null,
      host,
      port,
      sources: { builtin: false, discovered: false, manual: false },
      status: 'discovered',
      diagnostics: {
        seenOverMdns: false,
        portReachable: null,
        protocolVersion: null,
        paired: false,
        lastError: null,
      },
      client: null,
      retryTimer: null,
      retryDelayMs: this.opts.retryDelayMs?.initial ?? 1000,
      builtinError: null,
      autoPair: null,
      autoPairing: false,
    };
  }

  private ensureManual(host: string, port: number): Entry {
    const known = this.byAddress(host, port);
    if (known) {
      known.sources.manual = true;
      this.changed();
      return known;
    }
    const id = `manual-${host.replace(/[^A-Za-z0-9.-]/g, '_')}-${port}`;
    const entry = this.newEntry(id, host, port);
    entry.sources.manual = true;
    this.entries.set(id, entry);
    this.connect(entry);
    this.changed();
    return entry;
  }

  private onDiscovered(d: DiscoveredDevice): void {
    if (this.closed) return;
    const host = this.opts.discovery ? (this.opts.discovery.connectHost ?? pickAddress(d)) : pickAddress(d);
    let entry = [...this.entries.values()].find((e) => e.deviceId === d.id);
    if (!entry) {
      entry = this.newEntry(d.id, host, d.port);
      entry.deviceId = d.id;
      this.entries.set(entry.id, entry);
    }
    entry.announced = d;
    entry.sources.discovered = true;
    entry.diagnostics.seenOverMdns = true;
    // A restarted device may listen on a new port: follow the announcement unless the connection is fine.
    if (
      !entry.sources.builtin &&
      !entry.client?.connected &&
      (entry.host !== host || entry.port !== d.port)
    ) {
      entry.host = host;
      entry.port = d.port;
      const target = entry;
      void this.disconnect(entry).then(() => this.connect(target));
    } else {
      this.connect(entry);
    }
    this.changed();
  }

  private onGone(d: DiscoveredDevice): void {
    const entry = [...this.entries.values()].find((e) => e.deviceId === d.id);
    if (!entry) return;
    entry.sources.discovered = false;
    entry.diagnostics.seenOverMdns = false;
    if (hasNoSource(entry) && !entry.client?.connected) {
      void this.disconnect(entry);
      this.entries.delete(entry.id);
    }
    this.changed();
  }

  /** Starts connecting `entry` unless it already has a connection (or a retry pending). */
  private connect(entry: Entry): void {
    if (this.closed || entry.client || entry.retryTimer || entry.builtinError !== null || entry.port === 0)
      return;
    const client = new CompanionClient({
      keyStore: this.keyStore,
      clientId: this.persisted.clientId,
      clientName: this.opts.clientName ?? `odsora studio on ${hostname()}`.slice(0, 128),
      requestTimeoutMs: this.opts.requestTimeoutMs ?? 15_000,
      reconnectDelayMs: { initial: 200, max: 5000 },
      reconnectGiveUpMs: 24 * 3600_000,
      onConnect: ({ device, authenticated }) => {
        if (entry.client !== client) return;
        this.adopt(entry, device, authenticated);
      },
      onDisconnect: ({ code, reason }) => {
        if (entry.client !== client || this.closed) return;
        if (hasNoSource(entry)) {
          // Gone from mDNS while connected, and now the connection dropped too: nothing left to list or redial.
          void this.disconnect(entry);
          this.entries.delete(entry.id);
          this.changed();
          return;
        }
        entry.status = 'connecting';
        entry.diagnostics.lastError = `connection lost (${code}${reason ? ` ${reason}` : ''}); reconnecting`;
        this.changed();
      },
      onProtocolViolation: (reason) => this.log(`${entry.id}: ${reason}`),
    });
    entry.client = client;
    entry.status = 'connecting';
    this.changed();
    client.connect(entry.host, entry.port).then(
      (r) => {
        if (entry.client !== client) return;
        entry.diagnostics.protocolVersion = r.protocolVersion;
        entry.retryDelayMs = this.opts.retryDelayMs?.initial ?? 1000;
        this.adopt(entry, r.device, r.authenticated);
      },
      (e: unknown) => {
        if (entry.client !== client) return;
        entry.client = null;
        void client.close();
        entry.status = 'error';
        entry.diagnostics.lastError = messageOf(e);
        // A refused TCP connection is "not reachable"; anything that answered (a version reject) was reachable.
        entry.diagnostics.portReachable = !(e instanceof CompanionError && e.code === 'connect-failed');
        if (e instanceof VersionRejectedError) entry.diagnostics.protocolVersion = e.deviceVersion;
        this.changed();
        if (!(e instanceof VersionRejectedError || e instanceof DeviceProofError)) this.scheduleRetry(entry);
      },
    );
  }

  private scheduleRetry(entry: Entry): void {
    if (this.closed || entry.retryTimer) return;
    const delay = entry.retryDelayMs;
    entry.retryDelayMs = Math.min(this.opts.retryDelayMs?.max ?? 30_000, delay * 2);
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = null;
      if (this.entries.get(entry.id) === entry) this.connect(entry);
    }, delay);
    entry.retryTimer.unref();
  }

  /** A connection finished its handshake: take the device's word for who it is, merge duplicates, auto-pair. */
  private adopt(entry: Entry, device: DeviceInfo, authenticated: boolean): void {
    const twin = [...this.entries.values()].find((e) => e !== entry && e.deviceId === device.id);
    if (twin && this.entries.get(entry.id) === entry) {
      // The same device under another entry (a manual address of a discovered device): keep one entry.
      twin.sources.manual ||= entry.sources.manual;
      twin.sources.builtin ||= entry.sources.builtin;
      this.entries.delete(entry.id);
      if (twin.client?.connected) void this.disconnect(entry);
      else {
        void this.disconnect(twin);
        twin.client = entry.client;
        entry.client = null;
        twin.host = entry.host;
        twin.port = entry.port;
        this.adopt(twin, device, authenticated);
        return;
      }
      this.changed();
      return;
    }
    entry.deviceId = device.id;
    entry.info = device;
    entry.status = authenticated ? 'paired' : 'connected';
    entry.diagnostics.portReachable = true;
    entry.diagnostics.paired = authenticated;
    entry.diagnostics.lastError = null;
    this.changed();
    if (!authenticated && entry.autoPair && !entry.autoPairing) void this.autoPair(entry);
  }

  private async autoPair(entry: Entry): Promise<void> {
    const getCode = entry.autoPair;
    if (!getCode) return;
    entry.autoPairing = true;
    try {
      for (let attempt = 0; attempt < 2 && !entry.client?.authenticated; attempt++) {
        const code = await getCode();
        if (code === null) break;
        try {
          await this.pair(entry.id, code);
        } catch (e) {
          this.log(`built-in device: auto-pairing failed (${messageOf(e)}); asking for a fresh code`);
          await entry.client?.startPairing().catch(() => undefined);
        }
      }
    } finally {
      entry.autoPairing = false;
    }
  }

  private async disconnect(entry: Entry): Promise<void> {
    if (entry.retryTimer) clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
    const client = entry.client;
    entry.client = null;
    if (entry.builtinError === null) entry.status = entry.status === 'error' ? 'error' : 'discovered';
    await client?.close().catch(() => undefined);
  }

  /** Re-reads each connected device's info; tells the listeners when a thermal state changed. */
  private async pollThermal(): Promise<void> {
    let changed = false;
    await Promise.all(
      [...this.entries.values()].map(async (e) => {
        if (e.info === null || e.client === null || !e.client.connected) return;
        try {
          const now = await e.client.deviceInfo();
          if (e.info !== null && now.thermalState !== e.info.thermalState) {
            e.info = { ...e.info, thermalState: now.thermalState };
            changed = true;
          }
        } catch {
          // not answering now: the connection's own handling reports it
        }
      }),
    );
    if (changed && !this.closed) this.changed();
  }

  private viewOf(e: Entry): StudioDevice {
    return deviceView(e, this.persisted.baselineDeviceId);
  }

  private changed(): void {
    if (this.listeners.size === 0) return;
    const devices = this.list();
    for (const l of this.listeners) l(devices);
  }

  private async save(): Promise<void> {
    await mkdir(this.opts.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.devicesPath}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(this.persisted, null, 2)}\n`);
    await rename(tmp, this.devicesPath);
  }

  /** Resolves once `entry` is past connecting (tests, addManual). */
  private async settle(
    entry: Entry,
    timeoutMs = (this.opts.requestTimeoutMs ?? 15_000) + 1000,
  ): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && (entry.status === 'connecting' || entry.status === 'discovered')) {
      if (this.entries.get(entry.id) !== entry) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
