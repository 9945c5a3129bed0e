/**
 * Validation of untrusted input: text -> JSON -> a typed message, or a typed `error` message ready to send that
 * names the first bad field. Never throws.
 */
import type { z } from 'zod';
import { protocolError, type ErrorMessage } from './errors';
import { MAX_JSON_MESSAGE_BYTES, utf8ByteLength } from './limits';
import {
  clientMessageSchemas,
  deviceMessageSchemas,
  type ClientMessage,
  type DeviceMessage,
} from './messages';

/** A parsed message, or the error to answer with. */
export type ParseResult<M> = { ok: true; message: M } | { ok: false; error: ErrorMessage };

type Schemas = readonly (z.ZodType & { shape: { type: { value: string } } })[];

function byType(schemas: Schemas): ReadonlyMap<string, z.ZodType> {
  return new Map(schemas.map((s) => [s.shape.type.value, s]));
}

const clientSchemasByType = byType(clientMessageSchemas);
const deviceSchemasByType = byType(deviceMessageSchemas);

/** Every client message type, in schema order. */
export const CLIENT_MESSAGE_TYPES = [...clientSchemasByType.keys()] as ClientMessage['type'][];
/** Every device message type, in schema order. */
export const DEVICE_MESSAGE_TYPES = [...deviceSchemasByType.keys()] as DeviceMessage['type'][];

/** The first zod issue as a dotted path (`params.lpl.leapStep`; array indices as numbers) and a message. */
export function firstIssue(error: z.ZodError): { path: string; message: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { path: '', message: 'invalid' };
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return { path: [...path, key].join('.'), message: 'unrecognized key' };
  }
  return { path: path.join('.'), message: issue.message };
}

function refOf(raw: Record<string, unknown>): number | undefined {
  const id = raw['id'];
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

/**
 * The `id` of a received JSON value when it is a valid request id (an error answering it carries it as `ref`),
 * else undefined: also for a value that is not an object or a message whose `id` is not a valid id.
 */
export function requestIdOf(json: unknown): number | undefined {
  return json !== null && typeof json === 'object' && !Array.isArray(json)
    ? refOf(json as Record<string, unknown>)
    : undefined;
}

function parseWith<M>(json: unknown, schemas: ReadonlyMap<string, z.ZodType>, side: string): ParseResult<M> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return {
      ok: false,
      error: protocolError('bad-message', `a ${side} message must be a JSON object`, { path: '' }),
    };
  }
  const raw = json as Record<string, unknown>;
  const ref = refOf(raw);
  const type = raw['type'];
  if (typeof type !== 'string') {
    return {
      ok: false,
      error: protocolError('bad-message', 'type: must be a string', {
        path: 'type',
        ...(ref === undefined ? {} : { ref }),
      }),
    };
  }
  const schema = schemas.get(type);
  if (schema === undefined) {
    return {
      ok: false,
      error: protocolError(
        'unknown-type',
        `unknown ${side} message type ${JSON.stringify(type.slice(0, 64))}`,
        {
          path: 'type',
          ...(ref === undefined ? {} : { ref }),
        },
      ),
    };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data as M };
  const { path, message } = firstIssue(parsed.error);
  return {
    ok: false,
    error: protocolError('bad-message', `${type}: ${path === '' ? '(message)' : path}: ${message}`, {
      path,
      ...(ref === undefined ? {} : { ref }),
    }),
  };
}

/** Validates a JSON value received by a device. */
export function parseClientMessage(json: unknown): ParseResult<ClientMessage> {
  return parseWith<ClientMessage>(json, clientSchemasByType, 'client');
}

/** Validates a JSON value received by a client. */
export function parseDeviceMessage(json: unknown): ParseResult<DeviceMessage> {
  return parseWith<DeviceMessage>(json, deviceSchemasByType, 'device');
}

/** Parses a WebSocket text frame into JSON, enforcing {@link MAX_JSON_MESSAGE_BYTES}. */
export function parseJsonText(
  text: string,
): { ok: true; json: unknown } | { ok: false; error: ErrorMessage } {
  // A UTF-16 unit is at most 3 UTF-8 bytes: only count exactly near the limit.
  if (text.length * 3 > MAX_JSON_MESSAGE_BYTES && utf8ByteLength(text) > MAX_JSON_MESSAGE_BYTES) {
    return {
      ok: false,
      error: protocolError(
        'message-too-large',
        `a JSON message may have at most ${MAX_JSON_MESSAGE_BYTES} bytes`,
      ),
    };
  }
  try {
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: protocolError('bad-json', 'the text frame is not valid JSON') };
  }
}

/** A device's receive path for text frames: size check, JSON, schema. */
export function decodeClientText(text: string): ParseResult<ClientMessage> {
  const json = parseJsonText(text);
  return json.ok ? parseClientMessage(json.json) : json;
}

/** A client's receive path for text frames: size check, JSON, schema. */
export function decodeDeviceText(text: string): ParseResult<DeviceMessage> {
  const json = parseJsonText(text);
  return json.ok ? parseDeviceMessage(json.json) : json;
}

/** Serialises a message for a text frame (validation is the receiver's job; senders build typed values). */
export function encodeMessage(message: ClientMessage | DeviceMessage): string {
  return JSON.stringify(message);
}
