import { describe, expect, it } from 'vitest';
import { checkAccess, UNAUTHENTICATED_MESSAGE_TYPES } from '../../../../shared/companion/access';
import { CLIENT_MESSAGE_TYPES } from '../../../../shared/protocol/parse';
import { clientMessages } from '../../../../shared/protocol/samples';

describe('unpaired restrictions', () => {
  it('before hello only hello is allowed', () => {
    for (const m of clientMessages) {
      const e = checkAccess('connected', m);
      if (m.type === 'hello') expect(e).toBeNull();
      else expect(e).toMatchObject({ code: 'handshake-required' });
    }
  });

  it('an unpaired session may read device info and pair, and nothing else', () => {
    expect([...UNAUTHENTICATED_MESSAGE_TYPES].sort()).toEqual(
      ['auth.response', 'device.info.get', 'pair.request', 'pair.start', 'ping', 'pong'].sort(),
    );
    for (const m of clientMessages) {
      const e = checkAccess('greeted', m);
      if (m.type === 'hello') expect(e).toMatchObject({ code: 'already-greeted' });
      else if (UNAUTHENTICATED_MESSAGE_TYPES.has(m.type)) expect(e).toBeNull();
      else {
        expect(e).toMatchObject({ type: 'error', code: 'unauthorized', retryable: false });
        if ('id' in m && m.id !== undefined) expect(e?.ref).toBe(m.id);
      }
    }
    for (const t of [
      'run.start',
      'run.cancel',
      'run.subscribe',
      'runs.get',
      'frames.get',
      'blockset.offer',
      'blockset.chunk',
    ])
      expect(CLIENT_MESSAGE_TYPES).toContain(t);
  });

  it('an authenticated session may send everything but a second hello', () => {
    for (const m of clientMessages) {
      const e = checkAccess('authenticated', m);
      if (m.type === 'hello') expect(e).toMatchObject({ code: 'already-greeted' });
      else expect(e).toBeNull();
    }
  });
});
