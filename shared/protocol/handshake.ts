/**
 * Version negotiation. The device reads only `type` and `protocolVersion` before anything else, so a client of
 * any version - whose `hello` may carry fields this build does not know - gets a clear `hello.reject` naming
 * both versions rather than a schema error.
 */
import { protocolError } from './errors';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './limits';
import type { ClientMessageOf, DeviceMessageOf } from './messages';
import { parseClientMessage, type ParseResult } from './parse';

/** The versions a device serves. */
export interface VersionRange {
  min: number;
  max: number;
}

/** This build's range. */
export const SUPPORTED_VERSIONS: Readonly<VersionRange> = Object.freeze({
  min: MIN_PROTOCOL_VERSION,
  max: PROTOCOL_VERSION,
});

/** What a device does with the first message of a session. */
export type HelloOutcome =
  | { kind: 'accept'; hello: ClientMessageOf<'hello'>; protocolVersion: number }
  | { kind: 'reject'; reject: DeviceMessageOf<'hello.reject'> }
  | { kind: 'error'; error: DeviceMessageOf<'error'> };

/** The version check alone: null when `clientVersion` is served, else the reject to send. */
export function checkVersion(
  clientVersion: number,
  range: VersionRange = SUPPORTED_VERSIONS,
): DeviceMessageOf<'hello.reject'> | null {
  if (clientVersion >= range.min && clientVersion <= range.max) return null;
  const tooOld = clientVersion < range.min;
  return {
    type: 'hello.reject',
    reason: tooOld ? 'version-too-old' : 'version-too-new',
    clientVersion,
    deviceVersion: range.max,
    minVersion: range.min,
    message: tooOld
      ? `the client speaks protocol ${clientVersion}; this device serves ${range.min}..${range.max}: update the studio`
      : `the client speaks protocol ${clientVersion}; this device serves ${range.min}..${range.max}: update the device`,
  };
}

/** Handles the first message of a session (already JSON-parsed). */
export function negotiateHello(json: unknown, range: VersionRange = SUPPORTED_VERSIONS): HelloOutcome {
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const raw = json as Record<string, unknown>;
    const v = raw['protocolVersion'];
    if (raw['type'] === 'hello' && typeof v === 'number' && Number.isSafeInteger(v)) {
      const reject = checkVersion(v, range);
      if (reject !== null) return { kind: 'reject', reject };
    }
  }
  const parsed: ParseResult<unknown> = parseClientMessage(json);
  if (!parsed.ok) return { kind: 'error', error: parsed.error };
  const message = parsed.message as { type: string; id?: number };
  if (message.type !== 'hello') {
    // A request sent too early is still a request: its error carries `ref` like every other.
    return {
      kind: 'error',
      error: protocolError(
        'handshake-required',
        `the first message must be hello, got ${message.type}`,
        message.id === undefined ? {} : { ref: message.id },
      ),
    };
  }
  const hello = message as ClientMessageOf<'hello'>;
  return { kind: 'accept', hello, protocolVersion: hello.protocolVersion };
}
