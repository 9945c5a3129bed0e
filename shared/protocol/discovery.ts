/**
 * What a device publishes over Bonjour (docs/protocol.md, section 1): service type `_odsora._tcp`, the service
 * name and the TXT record — id, name, model, role, pv (highest protocol version served), ev (engine version).
 * Nothing secret. Every host (the Node companion, the iPhone app) publishes exactly this.
 */
import type { DeviceInfo } from './device';

/** The Bonjour service type, without the leading underscore and protocol (`_odsora._tcp`). */
export const DISCOVERY_SERVICE_TYPE = 'odsora';

/** The TXT record published for a device. */
export function discoveryTxtRecord(info: DeviceInfo): Record<string, string> {
  return {
    id: info.id,
    name: info.name,
    model: info.model,
    role: info.role,
    pv: String(info.protocol.max),
    ev: info.engineVersion,
  };
}

/** The service instance name: the device name and id, cut to DNS's 63-byte label limit (in UTF-16 units). */
export function discoveryServiceName(info: DeviceInfo): string {
  return `${info.name} (${info.id})`.slice(0, 63);
}
