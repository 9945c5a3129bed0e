/**
 * Bonjour publishing with react-native-zeroconf: `_odsora._tcp` with the same service name and TXT record as the
 * Node host (shared/protocol/discovery.ts).
 */
import Zeroconf from 'react-native-zeroconf';
import {
  DISCOVERY_SERVICE_TYPE,
  discoveryServiceName,
  discoveryTxtRecord,
} from '../../../shared/protocol/discovery';
import type { Advertiser } from '../host/phone-companion';

/** How long iOS gets to confirm the registration (the first launch waits on the Local Network prompt). */
const PUBLISH_TIMEOUT_MS = 30_000;

/** Publishes the device; resolves once the service is registered (or rejects with the system's error). */
export const zeroconfAdvertiser: Advertiser = (info, port) =>
  new Promise((resolve, reject) => {
    const zc = new Zeroconf();
    const name = discoveryServiceName(info);
    const stop = async (): Promise<void> => {
      zc.unpublishService(name);
      zc.removeDeviceListeners();
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error('Bonjour did not confirm the service: is Local Network access allowed in Settings?'));
    }, PUBLISH_TIMEOUT_MS);
    zc.on('published', () => {
      clearTimeout(timer);
      resolve({ stop });
    });
    zc.on('error', (e: unknown) => {
      clearTimeout(timer);
      void stop();
      reject(new Error(`Bonjour: ${e instanceof Error ? e.message : String(e)}`));
    });
    zc.publishService(DISCOVERY_SERVICE_TYPE, 'tcp', 'local.', name, port, discoveryTxtRecord(info));
  });
