/**
 * Which messages a session may send in each state: before `hello` only `hello`; before authentication only
 * liveness, device info, pairing and `auth.response`; everything once paired or authenticated.
 */
import { protocolError, type ErrorMessage } from '../protocol/errors';
import type { ClientMessage, ClientMessageType } from '../protocol/messages';

/** Where a session is in its handshake. */
export type SessionStage = 'connected' | 'greeted' | 'authenticated';

/** Messages an unauthenticated (greeted) session may send: it can read device info and pair, nothing else. */
export const UNAUTHENTICATED_MESSAGE_TYPES: ReadonlySet<ClientMessageType> = new Set<ClientMessageType>([
  'ping',
  'pong',
  'device.info.get',
  'pair.start',
  'pair.request',
  'auth.response',
]);

/** Null when `message` is allowed in `stage`, else the error to answer with. */
export function checkAccess(stage: SessionStage, message: ClientMessage): ErrorMessage | null {
  const ref = 'id' in message && message.id !== undefined ? { ref: message.id } : {};
  if (stage === 'connected') {
    return message.type === 'hello'
      ? null
      : protocolError('handshake-required', `send hello before ${message.type}`, ref);
  }
  if (message.type === 'hello')
    return protocolError('already-greeted', 'hello was already accepted on this connection');
  if (stage === 'authenticated' || UNAUTHENTICATED_MESSAGE_TYPES.has(message.type)) return null;
  return protocolError(
    'unauthorized',
    `${message.type} needs a paired client: pair or answer auth.challenge first`,
    ref,
  );
}
