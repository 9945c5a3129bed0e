/** Small helpers the companion server's handlers share for building replies and diagnostics. */
import { protocolError, type ErrorCode, type ErrorMessage } from '../protocol/errors';

/** The `ref` field echoing a request's `id` (absent when the request had none). */
export function ref(id: number | undefined): { ref?: number } {
  return id === undefined ? {} : { ref: id };
}

/** A typed error for a refusal (pairing and auth), with its `retryAfterMs` when it has one. */
export function refusal(
  r: { code: ErrorCode; message: string; retryAfterMs?: number },
  id: number | undefined,
): ErrorMessage {
  return protocolError(r.code, r.message, {
    ...ref(id),
    ...(r.retryAfterMs === undefined ? {} : { retryAfterMs: r.retryAfterMs }),
  });
}

/** An error's message (or the thrown value as text). */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
