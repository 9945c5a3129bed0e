import { describe, expect, it } from 'vitest';
import { checkVersion, negotiateHello, SUPPORTED_VERSIONS } from '../../../../shared/protocol/handshake';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../../../shared/protocol/limits';
import { parseDeviceMessage } from '../../../../shared/protocol/parse';

const hello = {
  type: 'hello',
  protocolVersion: PROTOCOL_VERSION,
  clientId: 'studio-1',
  clientName: 'Studio',
};

describe('version negotiation', () => {
  it('this build speaks version 3 and still serves version 1', () => {
    expect(PROTOCOL_VERSION).toBe(3);
    expect(MIN_PROTOCOL_VERSION).toBe(1);
    expect(SUPPORTED_VERSIONS).toEqual({ min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION });
  });

  it('accepts a hello in the served range and speaks the client version', () => {
    expect(negotiateHello(hello)).toEqual({ kind: 'accept', hello, protocolVersion: PROTOCOL_VERSION });
    expect(negotiateHello({ ...hello, protocolVersion: 1 })).toMatchObject({
      kind: 'accept',
      protocolVersion: 1,
    });
    const range = { min: 1, max: 3 };
    expect(negotiateHello({ ...hello, protocolVersion: 2 }, range)).toMatchObject({
      kind: 'accept',
      protocolVersion: 2,
    });
  });

  it('rejects a newer client as version-too-new, naming both versions, even when its hello has unknown fields', () => {
    const out = negotiateHello({ ...hello, protocolVersion: PROTOCOL_VERSION + 1, capabilities: ['x'] });
    expect(out.kind).toBe('reject');
    if (out.kind !== 'reject') return;
    expect(out.reject).toMatchObject({
      type: 'hello.reject',
      reason: 'version-too-new',
      clientVersion: PROTOCOL_VERSION + 1,
      deviceVersion: PROTOCOL_VERSION,
      minVersion: MIN_PROTOCOL_VERSION,
    });
    expect(out.reject.message).toMatch(/update the device/);
    expect(parseDeviceMessage(out.reject).ok).toBe(true);
  });

  it('rejects an older client as version-too-old', () => {
    const out = negotiateHello({ ...hello, protocolVersion: 1 }, { min: 2, max: 4 });
    expect(out).toMatchObject({
      kind: 'reject',
      reject: { reason: 'version-too-old', clientVersion: 1, deviceVersion: 4, minVersion: 2 },
    });
    expect(checkVersion(0)).toMatchObject({ reason: 'version-too-old', clientVersion: 0 });
  });

  it('answers a first message that is not hello with handshake-required', () => {
    expect(negotiateHello({ type: 'ping', nonce: 1 })).toMatchObject({
      kind: 'error',
      error: { code: 'handshake-required' },
    });
  });

  it('gives the handshake-required error of a request its ref', () => {
    expect(negotiateHello({ type: 'runs.get', id: 12 })).toMatchObject({
      kind: 'error',
      error: { code: 'handshake-required', ref: 12 },
    });
  });

  it('answers a malformed hello with the bad field', () => {
    expect(
      negotiateHello({ type: 'hello', protocolVersion: 1, clientId: '', clientName: 'x' }),
    ).toMatchObject({
      kind: 'error',
      error: { code: 'bad-message', path: 'clientId' },
    });
    expect(negotiateHello({ type: 'hello', protocolVersion: '1' })).toMatchObject({
      kind: 'error',
      error: { code: 'bad-message', path: 'protocolVersion' },
    });
  });
});
