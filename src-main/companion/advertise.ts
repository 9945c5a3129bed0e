/**
 * Bonjour advertisement of the Node companion: `_odsora._tcp` with TXT id, name, model, role, pv (highest protocol
 * version served), ev (engine version). Nothing secret. On loopback (tests, one machine) the responder binds to
 * 0.0.0.0 and sends on 127.0.0.1 (machine notes).
 */
import { Bonjour } from 'bonjour-service';
import type { DeviceInfo } from '../../shared/protocol/device';
import {
  DISCOVERY_SERVICE_TYPE,
  discoveryServiceName,
  discoveryTxtRecord,
} from '../../shared/protocol/discovery';

/** A running advertisement. */
export interface Advertisement {
  stop(): Promise<void>;
}

/** The TXT record published for a device (shared/protocol/discovery.ts: every host publishes the same). */
export function txtRecord(info: DeviceInfo): Record<string, string> {
  return discoveryTxtRecord(info);
}

/** Publishes the service. */
export function advertise(
  info: DeviceInfo,
  port: number,
  opts: { loopback?: boolean; onError?: (error: unknown) => void } = {},
): Advertisement {
  // The options go to multicast-dns; bonjour-service's typings name the wrong type.
  const mdns = opts.loopback ? { interface: '127.0.0.1', bind: '0.0.0.0' } : {};
  const bonjour = new Bonjour(mdns as never, (error: unknown) => opts.onError?.(error));
  const service = bonjour.publish({
    name: discoveryServiceName(info),
    type: DISCOVERY_SERVICE_TYPE,
    protocol: 'tcp',
    port,
    txt: txtRecord(info),
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => bonjour.destroy(() => resolve());
        if (typeof service.stop === 'function') service.stop(done);
        else done();
      }),
  };
}
