/**
 * Wires the app's native pieces into the companion (host/phone-companion.ts): react-native-tcp-socket,
 * react-native-fs, onnxruntime-react-native with Core ML, react-native-zeroconf, the native probe, and
 * react-native-device-info for the name and hardware model the studio sees.
 */
import { getDeviceId, getDeviceName, getSystemVersion } from 'react-native-device-info';
import { createReactNativeOrtBackend } from '../engine/ort-react-native';
import { encodePngRgb } from '../host/png';
import { startPhoneCompanion, type PhoneCompanion } from '../host/phone-companion';
import { NativeDeviceProbe, secureRandomBytes } from '../native/device-probe';
import { DATA_DIR, MODELS_DIR, rnfs } from '../native/rnfs';
import { rnTcp } from '../native/tcp';
import { zeroconfAdvertiser } from '../native/zeroconf-advertiser';

/** The port the companion listens on (fixed, so a studio can also connect by address). */
export const COMPANION_PORT = 47_820;

/** Starts the companion with the phone's own ports. */
export async function createCompanion(log: (line: string) => void): Promise<PhoneCompanion> {
  let defaultName = 'odsora iPhone';
  try {
    defaultName = (await getDeviceName()) || defaultName;
  } catch {
    // iOS 16+ gives "iPhone" without a special entitlement; keep the default
  }
  return startPhoneCompanion(
    {
      tcp: rnTcp,
      rnfs,
      dataDir: DATA_DIR,
      modelsDir: MODELS_DIR,
      createBackend: createReactNativeOrtBackend,
      probe: new NativeDeviceProbe(),
      random: secureRandomBytes,
      clock: { nowMs: () => performance.now() },
      epochMs: () => Date.now(),
      advertise: zeroconfAdvertiser,
      encodePng: encodePngRgb,
      hardwareModel: getDeviceId(),
      platform: `ios ${getSystemVersion()}`,
      defaultName,
      log,
    },
    { host: '0.0.0.0', port: COMPANION_PORT },
  );
}
