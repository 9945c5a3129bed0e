/**
 * A sweep's devices, found and paired the way the studio does it (the studio's DeviceHub under
 * `<out>/devices/`): the built-in device started as a child process (builtin-device.ts, paired with the code it
 * prints), `host:port` devices added by address, named devices found over mDNS. A device that is not paired yet
 * pairs with the code given as `--pair ID=CODE`; the key is kept in `<out>/devices/pairing-keys.json`, so a
 * resumed sweep needs no code. Every device must be paired and present the role the spec expects before anything
 * runs.
 */
import { join } from 'node:path';
import type { StudioDevice } from '../../shared/protocol/studio-contract';
import type { SweepSpec } from '../../shared/sweep/spec';
import { startBuiltinDevice, type BuiltinDevice } from '../studio/services/builtin-device';
import { DeviceHub } from '../studio/services/device-hub';

/** Options of {@link openSweepDevices}. */
export interface SweepDevicesOptions {
  /** The sweep's output folder. */
  outDir: string;
  /** Pairing codes by sweep device id. */
  pairCodes?: ReadonlyMap<string, string>;
  /** How long to wait for every device to be connected and paired (default 180 s: the built-in device converts its model on its first start). */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

/** The sweep's devices, connected. */
export interface SweepDevices {
  readonly hub: DeviceHub;
  /** The hub's entry id of each sweep device id. */
  readonly entryOf: ReadonlyMap<string, string>;
  /** Stops every connection and the built-in device. */
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What is wrong with a device entry for the sweep, or null when it is paired with the expected role. */
function deviceProblem(id: string, d: StudioDevice | undefined, role: string): string | null {
  if (d === undefined) return `device ${id} was not found`;
  if (d.status !== 'paired') {
    const hint =
      d.status === 'connected'
        ? `: pass --pair ${id}=CODE with the pairing code it shows`
        : d.diagnostics.lastError
          ? ` (${d.diagnostics.lastError})`
          : '';
    return `device ${id} (${d.name}) is ${d.status}${hint}`;
  }
  if (d.role !== role) return `device ${id} (${d.name}) presents role ${d.role}; the spec expects ${role}`;
  return null;
}

/** Finds, connects and pairs every device of the spec; throws naming each device that is not ready. */
export async function openSweepDevices(spec: SweepSpec, opts: SweepDevicesOptions): Promise<SweepDevices> {
  const log = opts.log ?? ((): void => undefined);
  const dataDir = join(opts.outDir, 'devices');
  const named = spec.devices.some((d) => d.name !== undefined);
  const hub = new DeviceHub({
    dataDir,
    discovery: named ? {} : false,
    clientName: 'odsora sweep',
    retryDelayMs: { initial: 250, max: 2000 },
    log,
  });
  await hub.start();
  let builtin: BuiltinDevice | null = null;
  const close = async (): Promise<void> => {
    await hub.close();
    await builtin?.stop();
  };
  try {
    const entryOf = new Map<string, string>();
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
    for (const d of spec.devices) {
      if (d.builtin) {
        hub.setBuiltin({ status: 'starting' });
        const b = startBuiltinDevice({
          dataDir,
          log,
          onState: (state) => hub.setBuiltin(state, () => b.nextPairingCode()),
        });
        builtin = b;
        entryOf.set(d.id, 'builtin');
      } else if (d.address !== undefined) {
        const at = d.address.lastIndexOf(':');
        const entry = await hub.addManual(d.address.slice(0, at), Number(d.address.slice(at + 1)));
        entryOf.set(d.id, entry.id);
      }
    }
    const byName = (name: string): StudioDevice | undefined => hub.list().find((x) => x.name === name);
    const current = (id: string): StudioDevice | undefined => {
      const name = spec.devices.find((d) => d.id === id)?.name;
      if (name !== undefined) {
        const found = byName(name);
        if (found) entryOf.set(id, found.id);
        return found;
      }
      const entryId = entryOf.get(id);
      return hub.list().find((x) => x.id === entryId);
    };
    const tried = new Set<string>();
    for (;;) {
      const problems: string[] = [];
      for (const d of spec.devices) {
        const dev = current(d.id);
        const code = opts.pairCodes?.get(d.id);
        if (dev?.status === 'connected' && code !== undefined && !tried.has(d.id)) {
          tried.add(d.id);
          await hub.pair(dev.id, code).catch((e: unknown) => {
            throw new Error(`device ${d.id}: ${(e as Error).message}`);
          });
        }
        const why = deviceProblem(d.id, current(d.id), d.role);
        if (why !== null) problems.push(why);
      }
      if (problems.length === 0) return { hub, entryOf, close };
      // Waiting cannot fix a wrong role, nor a device that needs a code nobody gave.
      const hopeless = spec.devices.some((d) => {
        const dev = current(d.id);
        if (dev?.status === 'paired') return dev.role !== d.role;
        return dev?.status === 'connected' && !d.builtin && !opts.pairCodes?.has(d.id);
      });
      if (hopeless || Date.now() > deadline)
        throw new Error(`the sweep's devices are not ready: ${problems.join('; ')}`);
      await sleep(100);
    }
  } catch (e) {
    await close();
    throw e;
  }
}
