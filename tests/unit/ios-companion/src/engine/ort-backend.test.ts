// The app's ONNX Runtime backend (written for onnxruntime-react-native) on the real onnxruntime-node: Core ML
// placement accounting, the CPU fallback when Core ML refuses a graph, and results.
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { OrtBackend } from '../../../../../ios-companion/src/engine/ort-backend';
import type { OrtModuleLike } from '../../../../../shared/companion/host-kit/ort-adapter';
import { GraphBuilder } from '../../../../../shared/engine/onnx/graph-builder';
import type { BackendSession } from '../../../../../shared/engine/ports';
import { floatTensor } from '../../../../../shared/engine/tensor';

const sessions: BackendSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.release()));
});

function addGraph(): Uint8Array {
  const g = new GraphBuilder('add');
  const a = g.input('a', [3]);
  const b = g.input('b', [3]);
  g.output(g.add(a, b), 'y', [3]);
  return g.build();
}

/** onnxruntime-node, optionally refusing any session that asks for Core ML (as a phone without it would). */
function runtime(refuseCoreml: boolean, seen: unknown[] = []): OrtModuleLike {
  return {
    InferenceSession: {
      create: async (model, options) => {
        seen.push([options.executionProviders, options.graphOptimizationLevel]);
        if (
          refuseCoreml &&
          options.executionProviders.some((p) => typeof p === 'object' && p.name === 'coreml')
        )
          throw new Error('CoreML EP: model not supported');
        return ort.InferenceSession.create(model, { ...options, intraOpNumThreads: 1 });
      },
    },
    Tensor: ort.Tensor,
  };
}

describe('the app ONNX Runtime backend', () => {
  it('asks for Core ML (ML Program) then CPU, unoptimized, for coreml graphs, and runs the graph', async () => {
    const seen: unknown[] = [];
    const backend = new OrtBackend(runtime(false, seen), { runtimeName: 'ort-test' });
    expect(backend.name).toBe('ort-test (coreml+cpu requested)');
    // No ORT optimizations: MatMulAddFusion would make Gemms Core ML refuses (react-native passes no config entries).
    expect(backend.graphTarget).toBe('coreml');
    const s = await backend.createSession(addGraph(), 'add');
    sessions.push(s);
    // ML Program + static input shapes (COREML_SESSION_FLAGS); no graph optimizations (MatMulAddFusion).
    expect(seen).toEqual([[[{ name: 'coreml', coreMlFlags: 0x018 }, 'cpu'], 'disabled']]);
    const out = await s.run({
      a: floatTensor([3], Float32Array.of(1, 2, 3)),
      b: floatTensor([3], Float32Array.of(10, 20, 30)),
    });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([11, 22, 33]);
    expect(backend.name).toBe('ort-test (coreml+cpu)');
    // The session says Core ML took it: its blocks' block.compute.end carry `coreml`.
    expect(s.placement).toBe('coreml');
  });

  it('falls back to CPU when Core ML refuses a graph, and says so', async () => {
    const backend = new OrtBackend(runtime(true), { runtimeName: 'ort-test' });
    const s = await backend.createSession(addGraph(), 'denoiser/part1');
    sessions.push(s);
    const out = await s.run({
      a: floatTensor([3], Float32Array.of(1, 1, 1)),
      b: floatTensor([3], Float32Array.of(2, 2, 2)),
    });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([3, 3, 3]);
    expect(backend.name).toBe('ort-test (cpu; coreml refused every graph)');
    expect(s.placement).toBe('cpu');
    expect(backend.placement()).toMatchObject({
      coremlRequested: true,
      coremlSessions: 0,
      cpuSessions: 1,
      lastCoremlError: 'denoiser/part1: CoreML EP: model not supported',
    });
  });

  it('runs on CPU only when Core ML is switched off', async () => {
    const seen: unknown[] = [];
    const backend = new OrtBackend(runtime(false, seen), { runtimeName: 'ort-test', coreml: false });
    const s = await backend.createSession(addGraph(), 'add');
    sessions.push(s);
    expect(s.placement).toBe('cpu');
    expect(seen).toEqual([[['cpu'], 'all']]);
    expect(backend.graphTarget).toBe('cpu');
    expect(backend.name).toBe('ort-test (cpu)');
  });

  it('names the graph when it cannot be compiled at all', async () => {
    const backend = new OrtBackend(runtime(true), { runtimeName: 'ort-test' });
    await expect(backend.createSession(Uint8Array.of(1, 2, 3), 'vae/decoder')).rejects.toThrow(
      /^vae\/decoder: cannot compile model/,
    );
  });
});
