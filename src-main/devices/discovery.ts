/**
 * Finds companion devices on the network: browses the Bonjour service type `_odsora._tcp` (docs/protocol.md,
 * "Transport") and turns each announcement into a typed {@link DiscoveredDevice}, validated from its TXT record.
 * An announcement with a bad TXT record is ignored with a reason (reported through `onIgnored`), never a crash.
 *
 * On a machine where mDNS must stay on loopback, pass `{ interface: '127.0.0.1', bind: '0.0.0.0' }` as
 * `mdns`. A companion announces only the addresses it listens on (src-main/companion/advertise.ts): one on
 * loopback announces 127.0.0.1, on the loopback interface.
 */
import { Bonjour, type Browser, type Service } from 'bonjour-service';
import { z } from 'zod';
import { deviceIdSchema } from '../../shared/protocol/device';
import { firstIssue } from '../../shared/protocol/parse';

/** The Bonjour service type (without the leading underscore and protocol, as bonjour-service wants it). */
const ODSORA_SERVICE_TYPE = 'odsora';

/** A device found on the network. */
export interface DiscoveredDevice {
  /** Stable device id (TXT `id`). */
  id: string;
  /** Shown name (TXT `name`). */
  name: string;
  /** Device model (TXT `model`), e.g. `iPhone16,1`, `iphone-15-pro`. */
  model: string;
  /** `target` (device under study) or `baseline` (reference host). */
  role: 'target' | 'baseline';
  /** Highest protocol version served (TXT `pv`). */
  protocolVersion: number;
  /** Engine version (TXT `ev`). */
  engineVersion: string;
  /** Host name from the SRV record. */
  host: string;
  /** TCP port of the WebSocket server. */
  port: number;
  /** Addresses from the A/AAAA records (may be empty). */
  addresses: string[];
  /** The Bonjour instance name (unique on the link). */
  serviceName: string;
}

/** Why an announcement was not turned into a device. */
export interface IgnoredAnnouncement {
  serviceName: string;
  reason: string;
}

/** The TXT record as published (every value a string). */
const discoveryTxtSchema = z.object({
  id: deviceIdSchema,
  name: z.string().min(1).max(128),
  model: z.string().min(1).max(128),
  role: z.enum(['target', 'baseline']),
  pv: z.string().regex(/^[1-9][0-9]{0,8}$/, 'must be a positive decimal integer'),
  ev: z.string().min(1).max(64),
});

/** Turns one Bonjour service into a device, or a reason it is not one. Never throws. */
export function deviceFromService(
  service: Pick<Service, 'name' | 'host' | 'port' | 'addresses' | 'txt'>,
): { ok: true; device: DiscoveredDevice } | { ok: false; reason: string } {
  try {
    const txt: unknown = service.txt;
    if (txt === null || typeof txt !== 'object') return { ok: false, reason: 'no TXT record' };
    // bonjour-service decodes values as strings; a key without '=' decodes as `true`.
    const strings: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(txt as Record<string, unknown>)) {
      strings[k] = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : v;
    }
    const parsed = discoveryTxtSchema.safeParse(strings);
    if (!parsed.success) {
      const issue = firstIssue(parsed.error);
      return { ok: false, reason: `TXT ${issue.path || '(record)'}: ${issue.message}` };
    }
    const port = service.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      return { ok: false, reason: `bad port ${String(port)}` };
    const t = parsed.data;
    return {
      ok: true,
      device: {
        id: t.id,
        name: t.name,
        model: t.model,
        role: t.role,
        protocolVersion: Number(t.pv),
        engineVersion: t.ev,
        host: typeof service.host === 'string' ? service.host : '',
        port,
        addresses: Array.isArray(service.addresses)
          ? service.addresses.filter((a) => typeof a === 'string')
          : [],
        serviceName: String(service.name),
      },
    };
  } catch (error) {
    return { ok: false, reason: `unreadable announcement: ${String(error)}` };
  }
}

/** Options of {@link DeviceBrowser}. */
export interface DeviceBrowserOptions {
  /** Options of the multicast-dns socket (e.g. `{ interface: '127.0.0.1', bind: '0.0.0.0' }` on loopback). */
  mdns?: { interface?: string; bind?: string; port?: number; ttl?: number; loopback?: boolean };
  /** A device appeared (or its TXT/SRV record changed). */
  onUp?: (device: DiscoveredDevice) => void;
  /** A device said goodbye or expired. */
  onDown?: (device: DiscoveredDevice) => void;
  /** An announcement was ignored. */
  onIgnored?: (ignored: IgnoredAnnouncement) => void;
}

/** Browses `_odsora._tcp` until {@link DeviceBrowser.stop}. */
export class DeviceBrowser {
  private readonly bonjour: Bonjour;
  private readonly browser: Browser;
  private readonly devices = new Map<string, DiscoveredDevice>();
  private readonly ignored: IgnoredAnnouncement[] = [];
  private readonly waiters = new Set<() => void>();
  private stopped = false;

  constructor(private readonly opts: DeviceBrowserOptions = {}) {
    // The constructor's type names service defaults only; the multicast-dns options travel in the same object.
    this.bonjour = new Bonjour((opts.mdns ?? {}) as never, (error: unknown) => {
      this.ignore('(socket)', `mDNS error: ${String(error)}`);
    });
    this.browser = this.bonjour.find({ type: ODSORA_SERVICE_TYPE, protocol: 'tcp' });
    const onUp = (service: Service) => this.handleUp(service);
    this.browser.on('up', onUp);
    this.browser.on('txt-update', onUp);
    this.browser.on('srv-update', onUp);
    this.browser.on('down', (service: Service) => {
      const entry = [...this.devices.entries()].find(([, d]) => d.serviceName === service.name);
      if (entry) {
        this.devices.delete(entry[0]);
        this.opts.onDown?.(entry[1]);
      }
    });
  }

  private ignore(serviceName: string, reason: string): void {
    const item = { serviceName, reason };
    if (this.ignored.length < 1000) this.ignored.push(item);
    this.opts.onIgnored?.(item);
  }

  private handleUp(service: Service): void {
    const result = deviceFromService(service);
    if (!result.ok) {
      this.ignore(String(service.name), result.reason);
      return;
    }
    this.devices.set(result.device.id, result.device);
    this.opts.onUp?.(result.device);
    for (const wake of [...this.waiters]) wake();
  }

  /** Devices seen and not gone. */
  get current(): DiscoveredDevice[] {
    return [...this.devices.values()];
  }

  /** Announcements ignored so far (at most 1000 kept). */
  get ignoredAnnouncements(): readonly IgnoredAnnouncement[] {
    return this.ignored;
  }

  /** Re-sends the PTR query (devices answer again). */
  refresh(): void {
    if (!this.stopped) this.browser.update();
  }

  /** Resolves with the first device `match` accepts, or rejects after `timeoutMs`. */
  waitFor(match: (device: DiscoveredDevice) => boolean, timeoutMs = 10_000): Promise<DiscoveredDevice> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.current.find(match);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const requery = setInterval(() => this.refresh(), 1000);
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching _odsora._tcp device within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = () => void check();
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(requery);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
      check();
    });
  }

  /** Stops browsing and closes the mDNS socket. */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    this.browser.stop();
    return new Promise((resolve) => this.bonjour.destroy(() => resolve()));
  }
}
