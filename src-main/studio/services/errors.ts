// A service failure the dispatcher turns into a typed contract error (code and retryable), instead of `internal`.
import type { StudioError } from '../../../shared/protocol/studio-contract';

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
