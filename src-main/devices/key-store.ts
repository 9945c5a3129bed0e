/** Where the studio keeps its pairing keys, and Node's HMAC-SHA256 for the authentication proofs. */
import { createHmac } from 'node:crypto';
import type { HmacSha256 } from '../../shared/protocol/auth';

/** What pairing leaves the studio with (the key is secret). */
export interface PairingRecord {
  deviceId: string;
  keyId: string;
  /** 64 lowercase hex digits. */
  key: string;
}

/** Where the studio keeps long-term keys, one per device. */
export interface KeyStore {
  get(deviceId: string): Promise<PairingRecord | null> | PairingRecord | null;
  set(record: PairingRecord): Promise<void> | void;
  delete(deviceId: string): Promise<void> | void;
}

/** A key store in memory. */
export class MemoryKeyStore implements KeyStore {
  readonly records = new Map<string, PairingRecord>();
  get(deviceId: string): PairingRecord | null {
    return this.records.get(deviceId) ?? null;
  }
  set(record: PairingRecord): void {
    this.records.set(record.deviceId, { ...record });
  }
  delete(deviceId: string): void {
    this.records.delete(deviceId);
  }
}

/** Node's HMAC-SHA256. */
export const nodeHmacSha256: HmacSha256 = (key, message) =>
  Promise.resolve(new Uint8Array(createHmac('sha256', key).update(message).digest()));
