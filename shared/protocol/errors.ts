/**
 * Typed protocol errors: one `error` message shape with a closed set of codes, each with a fixed `retryable`
 * meaning (docs/protocol.md, "Errors").
 */
import { z } from 'zod';

/** Every error code a device (or a client) may send. */
export const ERROR_CODES = [
  'bad-json',
  'message-too-large',
  'bad-message',
  'unknown-type',
  'bad-binary-frame',
  'handshake-required',
  'already-greeted',
  'unauthorized',
  'pairing-not-started',
  'pairing-code-expired',
  'pairing-code-invalid',
  'pairing-locked',
  'unknown-key',
  'auth-failed',
  'invalid-params',
  'job-too-large',
  'queue-full',
  'unknown-run',
  'run-finished',
  'seq-ahead',
  'frames-unavailable',
  'unknown-transfer',
  'blockset-offset-mismatch',
  'blockset-hash-mismatch',
  'blockset-too-large',
  'unsupported',
  'internal',
] as const;

/** An error code. */
const errorCodeSchema = z.enum(ERROR_CODES);
/** An error code. */
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** Whether the same request may succeed if sent again later (after `retryAfterMs` when given). */
export const ERROR_RETRYABLE: Readonly<Record<ErrorCode, boolean>> = {
  'bad-json': false,
  'message-too-large': false,
  'bad-message': false,
  'unknown-type': false,
  'bad-binary-frame': false,
  'handshake-required': false,
  'already-greeted': false,
  unauthorized: false,
  'pairing-not-started': false,
  'pairing-code-expired': false,
  'pairing-code-invalid': false,
  'pairing-locked': true,
  'unknown-key': false,
  'auth-failed': false,
  'invalid-params': false,
  'job-too-large': false,
  'queue-full': true,
  'unknown-run': false,
  'run-finished': false,
  'seq-ahead': false,
  'frames-unavailable': true,
  'unknown-transfer': false,
  'blockset-offset-mismatch': false,
  'blockset-hash-mismatch': true,
  'blockset-too-large': false,
  unsupported: false,
  internal: true,
};

/** Correlation id a client puts on a request; replies echo it as `ref`. */
export const requestIdSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A typed error. `ref` is the `id` of the request it answers; `path` names the first bad field (`params.steps`). */
export const errorMessageSchema = z.strictObject({
  type: z.literal('error'),
  code: errorCodeSchema,
  message: z.string().max(4096),
  retryable: z.boolean(),
  ref: requestIdSchema.optional(),
  path: z.string().max(512).optional(),
  retryAfterMs: z.number().int().nonnegative().optional(),
});

/** A typed error message. */
export type ErrorMessage = z.infer<typeof errorMessageSchema>;

/** Builds an error message with the code's standard `retryable` flag. */
export function protocolError(
  code: ErrorCode,
  message: string,
  extra: { ref?: number; path?: string; retryAfterMs?: number } = {},
): ErrorMessage {
  const out: ErrorMessage = {
    type: 'error',
    code,
    message: message.slice(0, 4096),
    retryable: ERROR_RETRYABLE[code],
  };
  if (extra.ref !== undefined) out.ref = extra.ref;
  if (extra.path !== undefined) out.path = extra.path.slice(0, 512);
  if (extra.retryAfterMs !== undefined) out.retryAfterMs = Math.max(0, Math.ceil(extra.retryAfterMs));
  return out;
}
