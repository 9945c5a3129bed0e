/**
 * What a device says about itself: the only thing an unpaired connection may read.
 */
import { z } from 'zod';
import { runDefaultsSchema } from './run';
import { reportedThermalSchema } from './thermal';

const nonNegInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A stable device id (also published in the Bonjour TXT record): 1-64 of `[A-Za-z0-9._-]`. */
export const deviceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._-]');

/** A block set the device holds. `complete` is false while a model sync is still filling it. */
const installedBlockSetSchema = z.strictObject({
  name: z.string().min(1).max(128),
  model: z.string().min(1).max(128),
  bytes: nonNegInt,
  manifestSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  complete: z.boolean(),
});

/** An installed block set. */
export type InstalledBlockSet = z.infer<typeof installedBlockSetSchema>;

/**
 * The model a device's runs use (protocol version 2): its name in `blockSets`, what absent `params` fields become
 * on it, and the multiple `heightPx` and `widthPx` must be of (the VAE's spatial factor).
 */
const runModelSchema = z.strictObject({
  blockSet: z.string().min(1).max(128),
  defaults: runDefaultsSchema,
  spatialFactor: z.number().int().min(1).max(4096),
});

/** The model a device's runs use. */
export type RunModel = z.infer<typeof runModelSchema>;

/** The protocol version that added `runModel` to device info: a device leaves it out of older sessions. */
const RUN_MODEL_SINCE_VERSION = 2;

/**
 * Device info. `role`: `target` is a device under study (a phone, or the simulated phone), `baseline` the
 * reference host that runs the same job with the techniques off. `memory.limitBytes` is the per-app limit the
 * engine must live within (null: none known).
 */
export const deviceInfoSchema = z.strictObject({
  id: deviceIdSchema,
  name: z.string().min(1).max(128),
  model: z.string().min(1).max(128),
  role: z.enum(['target', 'baseline']),
  simulated: z.boolean(),
  platform: z.string().min(1).max(64),
  engineVersion: z.string().min(1).max(64),
  protocol: z.strictObject({ min: z.number().int().min(1), max: z.number().int().min(1) }),
  memory: z.strictObject({
    limitBytes: nonNegInt.nullable(),
    availableBytes: nonNegInt.nullable(),
  }),
  /** Now (read each time device info is asked for); null: the device cannot tell. */
  thermalState: reportedThermalSchema,
  backends: z.array(z.string().min(1).max(128)).max(16),
  blockSets: z.array(installedBlockSetSchema).max(256),
  /** Version 2 on (absent in a version-1 session); null when the device has no model to run. */
  runModel: runModelSchema.nullable().optional(),
});

/** Device info. */
export type DeviceInfo = z.infer<typeof deviceInfoSchema>;

/** Device info as a session of `protocolVersion` is sent it (fields added by later versions left out). */
export function deviceInfoForVersion(info: DeviceInfo, protocolVersion: number): DeviceInfo {
  if (protocolVersion >= RUN_MODEL_SINCE_VERSION) return info;
  const { runModel: _later, ...v1 } = info;
  return v1;
}
