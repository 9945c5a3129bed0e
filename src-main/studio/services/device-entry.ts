/**
 * The device hub's bookkeeping (device-hub.ts): one entry per device, what the studio shows of it, and the
 * persisted `devices.json`.
 */
import { z } from 'zod';
import type { DeviceInfo } from '../../../shared/protocol/device';
import type { StudioDevice } from '../../../shared/protocol/studio-contract';
import type { CompanionClient } from '../../devices/companion-client';
import type { DiscoveredDevice } from '../../devices/discovery';

/** `devices.json`: manual entries, the baseline choice and this studio's client id. */
export const devicesFileSchema = z.object({
  format: z.literal('odsora-studio-devices'),
  version: z.literal(1),
  clientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  manual: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) })),
  baselineDeviceId: z.string().nullable(),
});
/** `devices.json`. */
export type DevicesFile = z.infer<typeof devicesFileSchema>;

/** One device the hub knows, with its connection. */
export interface Entry {
  id: string;
  deviceId: string | null;
  info: DeviceInfo | null;
  /** From the mDNS announcement (name/model/role before the device answered). */
  announced: DiscoveredDevice | null;
  host: string;
  port: number;
  sources: StudioDevice['sources'];
  status: StudioDevice['status'];
  diagnostics: StudioDevice['diagnostics'];
  client: CompanionClient | null;
  retryTimer: NodeJS.Timeout | null;
  retryDelayMs: number;
  /** The built-in device: its start-up error, and how to get a code to auto-pair with. */
  builtinError: string | null;
  autoPair: (() => Promise<string | null>) | null;
  autoPairing: boolean;
}

/** The name shown for an entry: the device's own, the announced one, or its address. */
export function entryName(e: Entry): string {
  return e.info?.name ?? e.announced?.name ?? (e.sources.builtin ? 'Built-in device' : `${e.host}:${e.port}`);
}

/** What the studio shows of an entry; `baselineId` is the persisted baseline choice. */
export function deviceView(e: Entry, baselineId: string | null): StudioDevice {
  return {
    id: e.id,
    deviceId: e.deviceId,
    name: entryName(e).slice(0, 128),
    model: e.info?.model ?? e.announced?.model ?? (e.sources.builtin ? 'iphone-15-pro' : 'unknown'),
    role: e.info?.role ?? e.announced?.role ?? 'target',
    simulated: e.info?.simulated ?? e.sources.builtin,
    engineVersion: e.info?.engineVersion ?? e.announced?.engineVersion ?? null,
    host: e.host,
    port: e.port,
    sources: { ...e.sources },
    status: e.status,
    baseline: baselineId !== null && (baselineId === e.deviceId || baselineId === e.id),
    thermalState: e.info?.thermalState ?? null,
    diagnostics: { ...e.diagnostics },
  };
}

/** True when nothing keeps an entry listed: not built in, not added by hand, no longer announced. */
export function hasNoSource(e: Entry): boolean {
  return !e.sources.builtin && !e.sources.manual && !e.sources.discovered;
}

/** The address to dial for an announcement: an IPv4 address if any, else the SRV host name. */
export function pickAddress(d: DiscoveredDevice): string {
  return d.addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) ?? d.addresses[0] ?? d.host;
}

/** An error's message, bounded for the diagnostics panel. */
export function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 2048);
}
