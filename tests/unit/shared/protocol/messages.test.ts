import { describe, expect, it } from 'vitest';
import { ENGINE_EVENT_TYPES, engineEventSchema } from '../../../../shared/protocol/engine-events';
import { ERROR_CODES, ERROR_RETRYABLE, protocolError } from '../../../../shared/protocol/errors';
import { MAX_JSON_MESSAGE_BYTES } from '../../../../shared/protocol/limits';
import {
  CLIENT_MESSAGE_TYPES,
  DEVICE_MESSAGE_TYPES,
  decodeClientText,
  decodeDeviceText,
  encodeMessage,
  parseClientMessage,
  parseDeviceMessage,
} from '../../../../shared/protocol/parse';
import { isTerminalRunEvent, runEventSchema, runStateAfter } from '../../../../shared/protocol/run';
import {
  clientMessages,
  deviceMessages,
  engineEvents,
  runLevelEvents,
} from '../../../../shared/protocol/samples';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('message round-trips', () => {
  it('the samples cover every client and device message type', () => {
    expect(new Set(clientMessages.map((m) => m.type))).toEqual(new Set(CLIENT_MESSAGE_TYPES));
    expect(new Set(deviceMessages.map((m) => m.type))).toEqual(new Set(DEVICE_MESSAGE_TYPES));
  });

  it.each(clientMessages.map((m) => [m.type, m] as const))(
    'a client %s survives encode and decode',
    (_t, m) => {
      expect(decodeClientText(encodeMessage(m))).toEqual({ ok: true, message: m });
    },
  );

  it.each(deviceMessages.map((m, i) => [`${m.type} #${i}`, m] as const))(
    'a device %s survives encode and decode',
    (_t, m) => {
      expect(decodeDeviceText(encodeMessage(m))).toEqual({ ok: true, message: m });
    },
  );

  it('every engine event variant has a schema and round-trips', () => {
    expect(new Set(engineEvents.map((e) => e.type))).toEqual(new Set(ENGINE_EVENT_TYPES));
    for (const e of engineEvents) expect(engineEventSchema.parse(clone(e))).toEqual(e);
  });

  it('run events are engine events plus the run-level ones, and terminal events end the run', () => {
    for (const e of [...engineEvents, ...runLevelEvents]) expect(runEventSchema.parse(clone(e))).toEqual(e);
    expect(runLevelEvents.filter(isTerminalRunEvent).map((e) => e.type)).toEqual([
      'run.finished',
      'run.failed',
      'run.cancelled',
      'run.interrupted',
    ]);
    expect(runStateAfter({ type: 'run.started' })).toBe('running');
    expect(runStateAfter({ type: 'step.end' })).toBeNull();
  });

  it('a device message is not accepted as a client message, and the reverse', () => {
    expect(parseClientMessage({ type: 'welcome' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-type' },
    });
    expect(parseDeviceMessage({ type: 'run.start' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-type' },
    });
  });
});

describe('rejection of bad input', () => {
  const runStart = clientMessages.find((m) => m.type === 'run.start')!;

  it.each([
    [
      'a wrong-typed nested field',
      { ...clone(runStart), params: { ...clone(runStart).params, steps: 'thirty' } },
      'params.steps',
    ],
    ['a negative seed', { ...clone(runStart), params: { prompt: 'x', seed: -1 } }, 'params.seed'],
    [
      'an unknown LPL mode',
      { ...clone(runStart), params: { prompt: 'x', seed: 1, lpl: { mode: 'sometimes' } } },
      'params.lpl.mode',
    ],
    [
      'a misspelt key',
      { ...clone(runStart), params: { prompt: 'x', seed: 1, cfg_scale: 7 } },
      'params.cfg_scale',
    ],
    ['a missing field', { type: 'run.subscribe', id: 3, runId: 'r-1' }, 'fromSeq'],
    ['a fromSeq of 0', { type: 'run.subscribe', runId: 'r-1', fromSeq: 0 }, 'fromSeq'],
    ['a 5-digit code', { type: 'pair.request', code: '12345' }, 'code'],
    ['a bad run id', { type: 'run.cancel', runId: '../etc' }, 'runId'],
    [
      'a path escaping the block set',
      { ...clone(clientMessages.find((m) => m.type === 'blockset.chunk')!), path: 'a/../b' },
      'path',
    ],
    [
      'an oversized chunk',
      { ...clone(clientMessages.find((m) => m.type === 'blockset.chunk')!), bytes: 1e9 },
      'bytes',
    ],
    ['a non-integer request id', { type: 'runs.get', id: 1.5 }, 'id'],
  ])('%s is a bad-message error naming %s', (_what, json, path) => {
    const r = parseClientMessage(json);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('bad-message');
    expect(r.error.path).toBe(path);
    expect(r.error.message).toContain(path);
    expect(r.error.retryable).toBe(false);
  });

  it('echoes the request id as ref so the client can match the error', () => {
    const r = parseClientMessage({ type: 'run.cancel', id: 41, runId: '' });
    expect(r).toMatchObject({ ok: false, error: { ref: 41, path: 'runId' } });
  });

  it.each([
    ['null', null],
    ['an array', [1, 2]],
    ['a string', 'hello'],
  ])('%s is refused as not an object', (_w, json) => {
    expect(parseClientMessage(json)).toMatchObject({ ok: false, error: { code: 'bad-message', path: '' } });
  });

  it('a missing or unknown type is named', () => {
    expect(parseClientMessage({ id: 1 })).toMatchObject({
      ok: false,
      error: { code: 'bad-message', path: 'type' },
    });
    expect(parseClientMessage({ type: 'run.explode', id: 2 })).toMatchObject({
      ok: false,
      error: { code: 'unknown-type', path: 'type', ref: 2 },
    });
  });

  it('text that is not JSON is bad-json, and text over the size limit is refused before parsing', () => {
    expect(decodeClientText('{"type":')).toMatchObject({ ok: false, error: { code: 'bad-json' } });
    const huge = JSON.stringify({ type: 'ping', nonce: 1, pad: 'x'.repeat(MAX_JSON_MESSAGE_BYTES) });
    expect(decodeClientText(huge)).toMatchObject({ ok: false, error: { code: 'message-too-large' } });
    const multiByte = JSON.stringify({ type: 'ping', nonce: 1, pad: 'é'.repeat(MAX_JSON_MESSAGE_BYTES / 2) });
    expect(decodeClientText(multiByte)).toMatchObject({ ok: false, error: { code: 'message-too-large' } });
  });

  it('a device event with an unknown engine event is refused with its path', () => {
    const r = parseDeviceMessage({
      type: 'run.event',
      runId: 'r-1',
      seq: 1,
      event: { type: 'step.warp', atMs: 1 },
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'bad-message', path: 'event.type' } });
  });
});

describe('error messages', () => {
  it('every code has a retryable flag and builds a valid error message', () => {
    for (const code of ERROR_CODES) {
      const e = protocolError(code, 'because', { ref: 1 });
      expect(e.retryable).toBe(ERROR_RETRYABLE[code]);
      expect(parseDeviceMessage(e)).toEqual({ ok: true, message: e });
    }
  });
});
