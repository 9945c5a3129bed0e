// What the screens call a device: its own name, and, when another listed device has the same name (two phones
// both called "lab-phone", a companion named like the built-in device), what tells them apart.
import type { StudioDevice } from '../../shared/protocol/studio-contract';

/** How many trailing characters of a device id are shown to tell same-named devices apart. */
const ID_SUFFIX_CHARS = 6;

/** Where a device is and the end of its id: `127.0.0.1:7400 · id …3f2a9c`, `built in · id …3f2a9c`. */
function deviceDistinction(device: StudioDevice): string {
  const where = device.sources.builtin ? 'built in' : `${device.host}:${device.port}`;
  const id = device.deviceId ?? device.id;
  return `${where} · id …${id.slice(-ID_SUFFIX_CHARS)}`;
}

/** For each device id, the distinction to show after its name, or null when its name is unique in `devices`. */
export function deviceDistinctions(devices: readonly StudioDevice[]): Map<string, string | null> {
  const counts = new Map<string, number>();
  for (const d of devices) counts.set(d.name, (counts.get(d.name) ?? 0) + 1);
  return new Map(devices.map((d) => [d.id, (counts.get(d.name) ?? 0) > 1 ? deviceDistinction(d) : null]));
}

/** The name with its distinction when needed: `lab-phone (192.168.1.20:7400 · id …3f2a9c)`. */
export function deviceLabel(device: StudioDevice, distinction: string | null | undefined): string {
  return distinction ? `${device.name} (${distinction})` : device.name;
}
