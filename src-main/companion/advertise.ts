/**
 * Bonjour advertisement of the Node companion: `_odsora._tcp` with TXT id, name, model, role, pv (highest protocol
 * version served), ev (engine version). Nothing secret.
 *
 * The A/AAAA records name only addresses the companion listens on ({@link advertisedAddresses}): bonjour-service
 * itself would publish every non-loopback address of the machine, so a companion on 127.0.0.1 (the default) was
 * found by the studio and then refused its connection. A companion that listens on loopback can only be reached
 * from this machine, so it announces 127.0.0.1 and sends its mDNS on the loopback interface only (bound to 0.0.0.0,
 * sent on 127.0.0.1: the machine notes' loopback set-up); `--host 0.0.0.0` announces the machine's network
 * addresses on the network.
 */
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { Bonjour, type Service } from 'bonjour-service';
import type { DeviceInfo } from '../../shared/protocol/device';
import {
  DISCOVERY_SERVICE_TYPE,
  discoveryServiceName,
  discoveryTxtRecord,
} from '../../shared/protocol/discovery';

/** A running advertisement. */
export interface Advertisement {
  /** The addresses announced in the A/AAAA records. */
  readonly addresses: readonly string[];
  /** True when the announcement stays on the loopback interface (only this machine hears it). */
  readonly loopbackOnly: boolean;
  stop(): Promise<void>;
}

/** The TXT record published for a device (shared/protocol/discovery.ts: every host publishes the same). */
function txtRecord(info: DeviceInfo): Record<string, string> {
  return discoveryTxtRecord(info);
}

/** Where an announcement goes and which addresses it names. */
export interface AdvertisedAddresses {
  /** The addresses a client can connect to, in the order a client should try them. */
  addresses: string[];
  /** True when only this machine can connect: the announcement stays on the loopback interface. */
  loopbackOnly: boolean;
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The addresses a companion listening on `listenHost` is reachable at: a loopback host is itself (this machine
 * only); `0.0.0.0` is every IPv4 address of the machine's network interfaces, `::` every IPv4 and IPv6 one
 * (loopback left out: it would send a client on another machine to itself); any other host is that address.
 * A wildcard on a machine with no network interface, or with `loopbackOnly` asked for (`--loopback`), is
 * reachable on loopback only.
 */
export function advertisedAddresses(
  listenHost: string,
  opts: { loopbackOnly?: boolean; interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]> } = {},
): AdvertisedAddresses {
  const host = listenHost.trim().toLowerCase();
  if (isLoopbackHost(host))
    return { addresses: [host === 'localhost' ? '127.0.0.1' : host], loopbackOnly: true };
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  if (!wildcard) return { addresses: [listenHost.trim()], loopbackOnly: opts.loopbackOnly === true };
  const loopback = { addresses: ['127.0.0.1'], loopbackOnly: true };
  if (opts.loopbackOnly === true) return loopback;
  const all = Object.values(opts.interfaces ?? networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal && (a.family === 'IPv4' || host === '::'));
  // IPv4 first: what a client on the network can dial most often.
  external.sort((a, b) => (a.family === b.family ? 0 : a.family === 'IPv4' ? -1 : 1));
  const addresses = [...new Set(external.map((a) => a.address))];
  return addresses.length > 0 ? { addresses, loopbackOnly: false } : loopback;
}

/**
 * Publishes the service for a companion listening on `listenHost`:`port`. `loopback` (`--loopback`) keeps the
 * announcement on the loopback interface whatever the listening address.
 */
export function advertise(
  info: DeviceInfo,
  port: number,
  opts: { listenHost: string; loopback?: boolean; onError?: (error: unknown) => void },
): Advertisement {
  const where = advertisedAddresses(opts.listenHost, { loopbackOnly: opts.loopback === true });
  // The options go to multicast-dns; bonjour-service's typings name the wrong type.
  const mdns = where.loopbackOnly ? { interface: '127.0.0.1', bind: '0.0.0.0' } : {};
  const bonjour = new Bonjour(mdns as never, (error: unknown) => opts.onError?.(error));
  const service = bonjour.publish({
    name: discoveryServiceName(info),
    type: DISCOVERY_SERVICE_TYPE,
    protocol: 'tcp',
    port,
    txt: txtRecord(info),
  });
  withAddressRecords(service, where.addresses);
  return {
    addresses: where.addresses,
    loopbackOnly: where.loopbackOnly,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => bonjour.destroy(() => resolve());
        if (typeof service.stop === 'function') service.stop(done);
        else done();
      }),
  };
}

/**
 * Makes the service announce `addresses` as its A/AAAA records instead of the machine's interfaces. The records
 * are read when the service is announced, after its name probe (a timer), so replacing them right after
 * `publish` returns is in time; every later answer to a query uses the registered (replaced) records.
 */
function withAddressRecords(service: Service, addresses: readonly string[]): void {
  const records = service.records.bind(service);
  service.records = () => [
    ...records().filter((r) => r.type !== 'A' && r.type !== 'AAAA'),
    ...addresses.map((address) => ({
      name: service.host,
      type: isIP(address) === 6 ? ('AAAA' as const) : ('A' as const),
      ttl: 120,
      data: address,
    })),
  ];
}
