import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../../shared/engine/onnx/graph-builder';
import { floatTensor } from '../../../../shared/engine/tensor';
import { OnnxRuntimeBackend } from '../../../../src-main/adapters/onnxruntime-backend';
import {
  NodeMemoryProbe,
  RUNTIME_START_BYTES,
  YOUNG_GENERATION_BYTES,
} from '../../../../src-main/adapters/node-memory-probe';

describe('NodeMemoryProbe', () => {
  it('counts the runtime start-up as pending growth until a first session exists, then only young-generation headroom', async () => {
    const probe = new NodeMemoryProbe();
    const cold = probe.pendingGrowthBytes();
    expect(cold).toBeGreaterThanOrEqual(RUNTIME_START_BYTES);
    expect(cold).toBeLessThanOrEqual(RUNTIME_START_BYTES + YOUNG_GENERATION_BYTES);

    const g = new GraphBuilder('relu');
    g.output(g.node('Relu', [g.input('x', [2])]), 'y', [2]);
    const session = await new OnnxRuntimeBackend({ intraOpThreads: 1 }).createSession(g.build(), 'relu');
    const out = await session.run({ x: floatTensor([2], Float32Array.from([-1, 2])) });
    expect(Array.from(out.y?.data as Float32Array)).toEqual([0, 2]);
    await session.release();

    const warm = probe.pendingGrowthBytes();
    expect(warm).toBeLessThanOrEqual(YOUNG_GENERATION_BYTES);
    expect(cold - warm).toBeGreaterThanOrEqual(RUNTIME_START_BYTES);
  });

  it('reads a footprint and, on Linux, a peak that a reset brings back to the footprint', async () => {
    const probe = new NodeMemoryProbe();
    const footprint = await probe.footprintBytes();
    expect(footprint).toBeGreaterThan(10_000_000);
    probe.resetPeak();
    const peak = await probe.peakBytes();
    if (process.platform === 'linux') {
      expect(peak).not.toBeNull();
      // The peak restarts near the footprint instead of counting from the process start.
      expect(peak as number).toBeLessThan(footprint * 1.5);
    }
  });
});
