/**
 * Every JSON message of the wire protocol: one union per direction, discriminated by `type`, validated on every
 * receive (docs/protocol.md is the prose version of this file).
 */
import { z } from 'zod';
import { deviceIdSchema, deviceInfoSchema } from './device';
import { errorMessageSchema, requestIdSchema } from './errors';
import { MAX_BLOCKSET_CHUNK_BYTES, PAIRING_CODE_DIGITS } from './limits';
import {
  previewSettingsSchema,
  imageFormatSchema,
  runEventSchema,
  runIdSchema,
  runParamsSchema,
  runStateSchema,
} from './run';

const id = requestIdSchema.optional();
const ref = requestIdSchema.optional();
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const nonNegInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes * 2} lowercase hex digits`);
const sha256 = hex(32);

/** A client id chosen by the client once and kept (e.g. a UUID): 1-64 of `[A-Za-z0-9._-]`. */
export const clientIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._-]');
/** A client's display name. */
export const clientNameSchema = z.string().min(1).max(128);
/** A long-term key id, assigned by the device at pairing. */
export const keyIdSchema = z.string().regex(/^k-[0-9a-f]{16}$/, 'must be k- and 16 lowercase hex digits');
/** A model-sync transfer id, chosen by the client. */
const transferIdSchema = runIdSchema;
/** A block-set file path: '/'-separated, relative, no `..` or empty segment. */
const blockSetPathSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be a relative '/'-separated path of [A-Za-z0-9._-]")
  .refine(
    (p) => p.split('/').every((part) => part !== '.' && part !== '..'),
    'must not contain . or .. segments',
  );

// ---------------------------------------------------------------------------------------------------------------
// Client -> device

/** Opens a session. Sent first, exactly once. */
const helloSchema = z.strictObject({
  type: z.literal('hello'),
  protocolVersion: z.number().int().min(1),
  clientId: clientIdSchema,
  clientName: clientNameSchema,
});
/** Liveness check; the other side answers `pong` with the same nonce. Either side may send it. */
const pingSchema = z.strictObject({ type: z.literal('ping'), nonce: nonNegInt });
/** Answer to `ping`. */
const pongSchema = z.strictObject({ type: z.literal('pong'), nonce: nonNegInt });
/** Asks for device info (allowed before pairing). */
const deviceInfoGetSchema = z.strictObject({ type: z.literal('device.info.get'), id });
/** Asks the device to show a fresh pairing code on its screen. */
const pairStartSchema = z.strictObject({ type: z.literal('pair.start'), id });
/** Sends the code the user read off the device. */
const pairRequestSchema = z.strictObject({
  type: z.literal('pair.request'),
  id,
  code: z
    .string()
    .regex(new RegExp(`^[0-9]{${PAIRING_CODE_DIGITS}}$`), `must be ${PAIRING_CODE_DIGITS} digits`),
});
/** Proves the client holds a long-term key (answer to `auth.challenge`). */
const authResponseSchema = z.strictObject({
  type: z.literal('auth.response'),
  id,
  keyId: keyIdSchema,
  clientNonce: hex(16),
  mac: sha256,
});
/** Starts (or queues) a run. */
const runStartSchema = z.strictObject({
  type: z.literal('run.start'),
  id,
  params: runParamsSchema,
  preview: previewSettingsSchema.nullable(),
  label: z.string().max(256).optional(),
});
/** Cancels a queued or running run. */
const runCancelSchema = z.strictObject({ type: z.literal('run.cancel'), id, runId: runIdSchema });
/** Streams a run's events from `fromSeq` (1 = from the start): replay, then live. */
const runSubscribeSchema = z.strictObject({
  type: z.literal('run.subscribe'),
  id,
  runId: runIdSchema,
  fromSeq: seq,
});
/** Stops a run's stream on this connection. */
const runUnsubscribeSchema = z.strictObject({
  type: z.literal('run.unsubscribe'),
  id,
  runId: runIdSchema,
});
/** Lists the runs the device keeps. */
const runsGetSchema = z.strictObject({ type: z.literal('runs.get'), id });
/** Asks for a finished run's frames [from, from + count); they follow the `frames` reply as binary frames. */
const framesGetSchema = z.strictObject({
  type: z.literal('frames.get'),
  id,
  runId: runIdSchema,
  from: nonNegInt,
  count: z.number().int().min(1).max(100_000),
  format: imageFormatSchema,
});
/** One file of an offered block set. */
const blockSetFileSchema = z.strictObject({ path: blockSetPathSchema, bytes: nonNegInt, sha256 });
/** Offers a block set; the device answers `blockset.ack` with what it already holds (resume points). */
const blockSetOfferSchema = z.strictObject({
  type: z.literal('blockset.offer'),
  id,
  transferId: transferIdSchema,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 of [A-Za-z0-9._-]'),
  manifestSha256: sha256,
  files: z.array(blockSetFileSchema).min(1).max(4096),
});
/** Announces the binary frame that follows it: `bytes` bytes of `path` at `offset`. */
const blockSetChunkSchema = z.strictObject({
  type: z.literal('blockset.chunk'),
  id,
  transferId: transferIdSchema,
  path: blockSetPathSchema,
  offset: nonNegInt,
  bytes: z.number().int().min(1).max(MAX_BLOCKSET_CHUNK_BYTES),
  sha256,
  chunkSeq: z.number().int().nonnegative().max(0xffffffff),
});

/** Every client -> device message schema. */
export const clientMessageSchemas = [
  helloSchema,
  pingSchema,
  pongSchema,
  deviceInfoGetSchema,
  pairStartSchema,
  pairRequestSchema,
  authResponseSchema,
  runStartSchema,
  runCancelSchema,
  runSubscribeSchema,
  runUnsubscribeSchema,
  runsGetSchema,
  framesGetSchema,
  blockSetOfferSchema,
  blockSetChunkSchema,
] as const;

/** Any client -> device message. */
export const clientMessageSchema = z.discriminatedUnion('type', clientMessageSchemas);
/** Any client -> device message. */
export type ClientMessage = z.infer<typeof clientMessageSchema>;
/** The `type` of a client message. */
export type ClientMessageType = ClientMessage['type'];
/** One client message type. */
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

// ---------------------------------------------------------------------------------------------------------------
// Device -> client

/** Accepts `hello`: the session speaks `protocolVersion` from now on. Followed by `auth.challenge`. */
const welcomeSchema = z.strictObject({
  type: z.literal('welcome'),
  protocolVersion: z.number().int().min(1),
  sessionId: z.string().min(1).max(64),
  device: deviceInfoSchema,
});
/** Refuses `hello` (the device closes the connection after it). Both versions and the served range are named. */
const helloRejectSchema = z.strictObject({
  type: z.literal('hello.reject'),
  reason: z.enum(['version-too-old', 'version-too-new']),
  clientVersion: z.number().int(),
  deviceVersion: z.number().int().min(1),
  minVersion: z.number().int().min(1),
  message: z.string().max(1024),
});
/** Generic success reply for requests with nothing to return (`run.cancel`, `run.unsubscribe`). */
const ackSchema = z.strictObject({ type: z.literal('ack'), ref });
/** Device info. */
const deviceInfoMessageSchema = z.strictObject({
  type: z.literal('device.info'),
  ref,
  device: deviceInfoSchema,
});
/** The device now shows a code; it expires after `expiresInMs`. */
const pairPendingSchema = z.strictObject({
  type: z.literal('pair.pending'),
  ref,
  digits: z.literal(PAIRING_CODE_DIGITS),
  expiresInMs: nonNegInt,
});
/** Pairing done: keep `key` (secret, 32 bytes hex) under `keyId` for this `deviceId`. The session is authenticated. */
const pairOkSchema = z.strictObject({
  type: z.literal('pair.ok'),
  ref,
  deviceId: deviceIdSchema,
  keyId: keyIdSchema,
  key: hex(32),
});
/** The device's nonce for this session; answer with `auth.response` (or pair first). */
const authChallengeSchema = z.strictObject({ type: z.literal('auth.challenge'), nonce: hex(16) });
/** Authenticated; `deviceMac` proves the device holds the key too. */
const authOkSchema = z.strictObject({
  type: z.literal('auth.ok'),
  ref,
  keyId: keyIdSchema,
  deviceMac: sha256,
});
/** The run exists (its log starts with `run.queued`). */
const runAcceptedSchema = z.strictObject({
  type: z.literal('run.accepted'),
  ref,
  runId: runIdSchema,
  queuePosition: nonNegInt,
});
/** A subscription is open: events `fromSeq..headSeq` are replayed next, then live ones follow. */
const runSubscribedSchema = z.strictObject({
  type: z.literal('run.subscribed'),
  ref,
  runId: runIdSchema,
  fromSeq: seq,
  headSeq: nonNegInt,
  state: runStateSchema,
});
/** One event of a run's log. `seq` is gapless from 1 per run. */
const runEventMessageSchema = z.strictObject({
  type: z.literal('run.event'),
  runId: runIdSchema,
  seq,
  event: runEventSchema,
});
/** A run the device keeps. */
export const runSummarySchema = z.strictObject({
  runId: runIdSchema,
  state: runStateSchema,
  headSeq: nonNegInt,
  clientId: clientIdSchema,
  label: z.string().max(256).optional(),
});
/** The runs the device keeps. */
const runsSchema = z.strictObject({
  type: z.literal('runs'),
  ref,
  runs: z.array(runSummarySchema).max(10_000),
});
/** Answers `frames.get`: `count` binary frames (purpose frame) follow. */
const framesSchema = z.strictObject({
  type: z.literal('frames'),
  ref,
  runId: runIdSchema,
  from: nonNegInt,
  count: nonNegInt,
  totalFrames: nonNegInt,
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  format: imageFormatSchema,
});
/** How much of each file the device holds; `installed` once every file is complete and verified. */
const blockSetAckSchema = z.strictObject({
  type: z.literal('blockset.ack'),
  ref,
  transferId: transferIdSchema,
  files: z
    .array(z.strictObject({ path: blockSetPathSchema, receivedBytes: nonNegInt, complete: z.boolean() }))
    .max(4096),
  installed: z.boolean(),
});

/** Every device -> client message schema. */
export const deviceMessageSchemas = [
  welcomeSchema,
  helloRejectSchema,
  pingSchema,
  pongSchema,
  errorMessageSchema,
  ackSchema,
  deviceInfoMessageSchema,
  pairPendingSchema,
  pairOkSchema,
  authChallengeSchema,
  authOkSchema,
  runAcceptedSchema,
  runSubscribedSchema,
  runEventMessageSchema,
  runsSchema,
  framesSchema,
  blockSetAckSchema,
] as const;

/** Any device -> client message. */
export const deviceMessageSchema = z.discriminatedUnion('type', deviceMessageSchemas);
/** Any device -> client message. */
export type DeviceMessage = z.infer<typeof deviceMessageSchema>;
/** The `type` of a device message. */
export type DeviceMessageType = DeviceMessage['type'];
/** One device message type. */
export type DeviceMessageOf<T extends DeviceMessageType> = Extract<DeviceMessage, { type: T }>;
