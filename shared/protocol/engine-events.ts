/**
 * Schemas for every engine telemetry event (shared/engine/telemetry.ts). A compile-time check below fails the
 * build when `EngineEvent` gains, loses or changes a variant without this file following.
 */
import { z } from 'zod';
import { BLOCK_PLACEMENTS } from '../engine/execution-provider';
import type { EngineEvent, ReleaseReason, Stage } from '../engine/telemetry';

const atMs = z.number();
const count = z.number().int().nonnegative();
const blockId = z.string().min(1).max(128);
const budgetBytes = z.number().nonnegative().nullable();

/** Pipeline stage. */
const stageSchema = z.enum(['load', 'text', 'denoise', 'decode']);
/** Why a block left memory. */
const releaseReasonSchema = z.enum(['not-retained', 'end-of-run', 'leap', 'cancelled', 'error']);
const variant = z.enum(['plain', 'tdtm']);
/** Where a block ran (execution-provider.ts BLOCK_PLACEMENTS). */
const blockPlacementSchema = z.enum(BLOCK_PLACEMENTS);

const residency = {
  atMs,
  block: blockId,
  bytes: count,
  residentBytes: count,
  budgetBytes,
};

/** One schema per EngineEvent variant, in telemetry.ts order. */
export const engineEventSchemas = [
  z.strictObject({ type: z.literal('stage.start'), atMs, stage: stageSchema }),
  z.strictObject({ type: z.literal('stage.end'), atMs, stage: stageSchema, durationMs: z.number() }),
  z.strictObject({
    type: z.literal('plan'),
    atMs,
    stage: stageSchema,
    budgetBytes,
    totalBlockBytes: count,
    predictedPeakBytes: count,
    retained: z.array(blockId).max(4096).readonly(),
    prefetch: z.boolean(),
    fits: z.boolean(),
  }),
  z.strictObject({ type: z.literal('step.start'), atMs, step: count, t: z.number(), merged: z.boolean() }),
  z.strictObject({
    type: z.literal('step.end'),
    atMs,
    step: count,
    t: z.number(),
    latencyMs: z.number(),
    cosine: z.number().nullable(),
    merged: z.boolean(),
    leapt: z.boolean(),
  }),
  z.strictObject({ type: z.literal('block.load.start'), ...residency }),
  z.strictObject({ type: z.literal('block.load.end'), ...residency }),
  z.strictObject({ type: z.literal('block.compute.start'), atMs, block: blockId, step: count, variant }),
  z.strictObject({
    type: z.literal('block.compute.end'),
    atMs,
    block: blockId,
    step: count,
    variant,
    /** Protocol 3 on (left out of older sessions: {@link engineEventForVersion}). */
    placement: blockPlacementSchema.optional(),
  }),
  z.strictObject({ type: z.literal('block.release'), ...residency, reason: releaseReasonSchema }),
] as const;

/** Any engine event. */
export const engineEventSchema = z.discriminatedUnion('type', engineEventSchemas);

/** The `type` of every engine event. */
export const ENGINE_EVENT_TYPES = engineEventSchemas.map((s) => s.shape.type.value);

/** The protocol version that added `placement` to `block.compute.end`: a device leaves it out of older sessions. */
export const BLOCK_PLACEMENT_SINCE_VERSION = 3;

/**
 * An engine event as a session of `protocolVersion` is sent it (fields added by later versions left out: older
 * studios validate strict objects and would drop the event). Devices apply it through `runEventForVersion`
 * (shared/protocol/run.ts), which also strips the run-level events' later fields.
 */
export function engineEventForVersion<E extends { type: string }>(event: E, protocolVersion: number): E {
  if (protocolVersion >= BLOCK_PLACEMENT_SINCE_VERSION || event.type !== 'block.compute.end') return event;
  if (!('placement' in event)) return event;
  const { placement: _later, ...older } = event as E & { placement?: unknown };
  return older as E;
}

/** Mutual assignability: true only when A and B describe the same values. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Compile-time sync checks with shared/engine/telemetry.ts: each line fails to type-check on drift.
const engineEventInSync: Same<z.infer<typeof engineEventSchema>, EngineEvent> = true;
const stageInSync: Same<z.infer<typeof stageSchema>, Stage> = true;
const releaseReasonInSync: Same<z.infer<typeof releaseReasonSchema>, ReleaseReason> = true;
void [engineEventInSync, stageInSync, releaseReasonInSync];
