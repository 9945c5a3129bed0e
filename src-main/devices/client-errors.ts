/** The companion client's typed errors. */
import type { ErrorCode, ErrorMessage } from '../../shared/protocol/errors';
import type { DeviceMessageOf } from '../../shared/protocol/messages';

/** Every way a client call can fail. */
export type CompanionErrorCode =
  | ErrorCode
  | 'version-too-old'
  | 'version-too-new'
  | 'device-proof-invalid'
  | 'device-mismatch'
  | 'not-connected'
  | 'connection-closed'
  | 'connect-failed'
  | 'timeout'
  | 'not-paired'
  | 'already-subscribed'
  | 'invalid-device-message';

/** Base class of the client's typed errors. */
export class CompanionError extends Error {
  override name = 'CompanionError';
  constructor(
    readonly code: CompanionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The device answered a request with an `error` message. */
export class DeviceError extends CompanionError {
  override name = 'DeviceError';
  readonly retryable: boolean;
  readonly path: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(readonly error: ErrorMessage) {
    super(error.code, `device error ${error.code}: ${error.message}`);
    this.retryable = error.retryable;
    this.path = error.path;
    this.retryAfterMs = error.retryAfterMs;
  }
}

/** The device refused our protocol version (`hello.reject`). */
export class VersionRejectedError extends CompanionError {
  override name = 'VersionRejectedError';
  readonly reason: 'version-too-old' | 'version-too-new';
  readonly clientVersion: number;
  readonly deviceVersion: number;
  readonly minVersion: number;
  constructor(readonly reject: DeviceMessageOf<'hello.reject'>) {
    super(
      reject.reason,
      reject.reason === 'version-too-old'
        ? `protocol ${reject.clientVersion} is too old for this device (it serves ${reject.minVersion}..${reject.deviceVersion}): update the studio. ${reject.message}`
        : `protocol ${reject.clientVersion} is too new for this device (it serves ${reject.minVersion}..${reject.deviceVersion}): update the device. ${reject.message}`,
    );
    this.reason = reject.reason;
    this.clientVersion = reject.clientVersion;
    this.deviceVersion = reject.deviceVersion;
    this.minVersion = reject.minVersion;
  }
}

/** The device could not prove it holds the pairing key (`auth.ok.deviceMac` wrong): an impostor. */
export class DeviceProofError extends CompanionError {
  override name = 'DeviceProofError';
  constructor(readonly deviceId: string) {
    super('device-proof-invalid', `device ${deviceId} did not prove it holds the pairing key: not trusted`);
  }
}
