/**
 * Typed wrapper of the app's native module OdsoraDeviceProbe (native/OdsoraDeviceProbe/OdsoraDeviceProbe.m):
 * available memory (os_proc_available_memory), footprint (phys_footprint) and thermal state, and secure random
 * bytes. Every answer crossing the bridge is validated.
 */
import { toByteArray } from 'base64-js';
import { NativeModules } from 'react-native';
import { z } from 'zod';
import { reportedThermalSchema } from '../../../shared/protocol/thermal';
import type { DeviceProbe, ThermalState } from '../host/phone-companion';

interface NativeProbe {
  memory(): Promise<unknown>;
  thermalState(): Promise<unknown>;
  randomBytesBase64(length: number): unknown;
}

const memorySchema = z.strictObject({
  availableBytes: z.number().nonnegative(),
  footprintBytes: z.number().nonnegative(),
});

function nativeProbe(): NativeProbe {
  const m = (NativeModules as Record<string, unknown>)['OdsoraDeviceProbe'] as NativeProbe | undefined;
  if (m === undefined)
    throw new Error('the native module OdsoraDeviceProbe is missing: run `pod install` in ios/ and rebuild');
  return m;
}

/** Memory and thermal state from the native module. */
export class NativeDeviceProbe implements DeviceProbe {
  private readonly native = nativeProbe();

  private async memory(): Promise<z.infer<typeof memorySchema>> {
    const parsed = memorySchema.safeParse(await this.native.memory());
    if (!parsed.success)
      throw new Error(`OdsoraDeviceProbe.memory: unexpected answer (${parsed.error.message})`);
    return parsed.data;
  }

  async availableBytes(): Promise<number> {
    return (await this.memory()).availableBytes;
  }

  async footprintBytes(): Promise<number> {
    return (await this.memory()).footprintBytes;
  }

  async thermalState(): Promise<ThermalState | null> {
    const parsed = reportedThermalSchema.safeParse(await this.native.thermalState());
    if (!parsed.success) throw new Error('OdsoraDeviceProbe.thermalState: unexpected answer');
    return parsed.data;
  }
}

/** `length` bytes from SecRandomCopyBytes (synchronous: the pairing port is). */
export function secureRandomBytes(length: number): Uint8Array {
  const b64 = nativeProbe().randomBytesBase64(length);
  if (typeof b64 !== 'string') throw new Error(`OdsoraDeviceProbe.randomBytesBase64(${length}) failed`);
  const bytes = toByteArray(b64);
  if (bytes.length !== length)
    throw new Error(`OdsoraDeviceProbe gave ${bytes.length} random bytes, not ${length}`);
  return bytes;
}
