import { describe, expect, it } from 'vitest';
import {
  BLOCK_PLACEMENT_SINCE_VERSION,
  engineEventForVersion,
  engineEventSchema,
} from '../../../../shared/protocol/engine-events';
import { PROTOCOL_VERSION } from '../../../../shared/protocol/limits';
import type { EngineEvent } from '../../../../shared/engine/telemetry';
import { v2BlockComputeEndSchema as v2ComputeEnd } from '../../../helpers/protocol-v2';

const placed: EngineEvent = {
  type: 'block.compute.end',
  atMs: 12,
  block: 'denoiser/pair.0',
  step: 3,
  variant: 'plain',
  placement: 'coreml',
};

describe('block placement in engine events', () => {
  it('is a field of protocol 3, the version this build speaks', () => {
    expect(BLOCK_PLACEMENT_SINCE_VERSION).toBe(3);
    expect(PROTOCOL_VERSION).toBe(3);
  });

  it('is sent to a version-3 session as it is', () => {
    expect(engineEventForVersion(placed, 3)).toEqual(placed);
    expect(engineEventSchema.parse(placed)).toEqual(placed);
  });

  it('is left out for older sessions, whose strict schema then accepts the event', () => {
    expect(() => v2ComputeEnd.parse(placed)).toThrow(/placement/);
    for (const version of [1, 2]) {
      const sent = engineEventForVersion(placed, version);
      expect(sent).not.toHaveProperty('placement');
      expect(v2ComputeEnd.parse(sent)).toEqual({ ...sent });
    }
    // Other events pass through unchanged (the same object).
    const start: EngineEvent = { type: 'stage.start', atMs: 1, stage: 'denoise' };
    expect(engineEventForVersion(start, 1)).toBe(start);
  });

  it('accepts only the known placements, naming the field', () => {
    for (const placement of ['cpu', 'coreml', 'cuda', 'mixed'])
      expect(engineEventSchema.safeParse({ ...placed, placement }).success).toBe(true);
    const bad = engineEventSchema.safeParse({ ...placed, placement: 'gpu' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['placement']);
  });
});
