// A service failure the dispatcher turns into a typed contract error (code and retryable), instead of `internal`;
// and what each device refusal means to a studio caller.
import type { ErrorCode } from '../../../shared/protocol/errors';
import type { StudioError } from '../../../shared/protocol/studio-contract';
import type { DeviceError } from '../../devices/client-errors';

/** Thrown by a studio service when the caller asked for something that cannot be done now or at all. */
export class StudioServiceError extends Error {
  override name = 'StudioServiceError';
  constructor(
    readonly code: Exclude<StudioError['code'], 'bad-args' | 'unknown-command'>,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * The studio error code of each device error code: one entry per code, so a new device code cannot reach a caller
 * unmapped (the table stops compiling). `bad-request`: the device refused the request as asked (its parameters,
 * its size, a code), the caller's to fix; `internal`: the studio spoke the protocol wrongly or the device failed.
 */
const STUDIO_CODE_OF_DEVICE_ERROR: Readonly<Record<ErrorCode, StudioServiceError['code']>> = {
  'bad-json': 'internal',
  'message-too-large': 'internal',
  'bad-message': 'bad-request',
  'unknown-type': 'internal',
  'bad-binary-frame': 'internal',
  'handshake-required': 'internal',
  'already-greeted': 'internal',
  unauthorized: 'unavailable',
  'pairing-not-started': 'bad-request',
  'pairing-code-expired': 'bad-request',
  'pairing-code-invalid': 'bad-request',
  'pairing-locked': 'unavailable',
  'unknown-key': 'unavailable',
  'auth-failed': 'unavailable',
  'invalid-params': 'bad-request',
  'job-too-large': 'bad-request',
  'queue-full': 'unavailable',
  'unknown-run': 'not-found',
  'run-finished': 'conflict',
  'seq-ahead': 'internal',
  'frames-unavailable': 'unavailable',
  'unknown-transfer': 'conflict',
  'blockset-offset-mismatch': 'conflict',
  'blockset-hash-mismatch': 'conflict',
  'blockset-too-large': 'bad-request',
  unsupported: 'bad-request',
  internal: 'internal',
};

/**
 * A device's `error` reply as the studio's typed error: the code from {@link STUDIO_CODE_OF_DEVICE_ERROR}, the
 * device's own `retryable` (the protocol's), and a message that names the refused field.
 */
export function studioErrorOfDevice(e: DeviceError): StudioServiceError {
  const field = e.path !== undefined && !e.error.message.includes(e.path) ? ` (${e.path})` : '';
  return new StudioServiceError(
    STUDIO_CODE_OF_DEVICE_ERROR[e.error.code],
    `the device refused: ${e.error.message}${field} [${e.error.code}]`,
    e.retryable,
  );
}
