// The one ONNX Runtime adapter both hosts instantiate, on a fake runtime: attempts in order with the fallback's
// reason kept, the sessions counted into `name`, errors naming the graph, tensors passed without a copy and the
// feeds dropped after a run.
import { describe, expect, it } from 'vitest';
import {
  OrtAdapter,
  type OrtModuleLike,
  type OrtSessionOptions,
  type OrtTensorLike,
} from '../../../../../shared/companion/host-kit/ort-adapter';
import { floatTensor } from '../../../../../shared/engine/tensor';

class FakeTensor implements OrtTensorLike {
  disposed = false;
  constructor(
    readonly type: string,
    public data: unknown,
    readonly dims: readonly number[],
  ) {}
  dispose(): void {
    this.disposed = true;
    this.data = undefined;
  }
}

const coreml: OrtSessionOptions = {
  executionProviders: [{ name: 'coreml', coreMlFlags: 0x18 }, 'cpu'],
  graphOptimizationLevel: 'disabled',
  executionMode: 'sequential',
};
const cpu: OrtSessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
};

/** A runtime whose sessions double their input `x`; `refuse` rejects sessions of those options. */
function fakeRuntime(
  refuse: (o: OrtSessionOptions) => string | null,
  feedsSeen: FakeTensor[] = [],
): OrtModuleLike {
  return {
    InferenceSession: {
      create: async (_model, options) => {
        const why = refuse(options);
        if (why !== null) throw new Error(why);
        return {
          run: async (feeds: Record<string, OrtTensorLike>) => {
            const x = feeds['x'] as FakeTensor;
            feedsSeen.push(x);
            if (x.dims[0] === 0) throw new Error('empty input');
            const y = Float32Array.from(x.data as Float32Array, (v) => v * 2);
            return { y: new FakeTensor('float32', y, x.dims), z: new FakeTensor('string', ['a'], [1]) };
          },
          release: async () => undefined,
        };
      },
    },
    Tensor: FakeTensor as unknown as OrtModuleLike['Tensor'],
  };
}

const adapter = (ort: OrtModuleLike, created: string[] = []): OrtAdapter =>
  new OrtAdapter(ort, {
    runtimeName: 'ort-fake 1.0',
    graphTarget: 'coreml',
    attempts: [coreml, cpu],
    describe: (c) => `${c.coremlSessions} coreml, ${c.cpuSessions} cpu`,
    onSessionCreated: () => created.push('created'),
  });

describe('OrtAdapter', () => {
  it("gives each session the placement of the attempt that made it (block.compute.end's placement)", async () => {
    const accepts = fakeRuntime(() => null);
    const both = adapter(accepts, []);
    expect((await both.createSession(new Uint8Array(1), 'g1')).placement).toBe('coreml');
    const fallback = adapter(fakeRuntime((o) => (o === coreml ? 'CoreML EP: refused' : null)));
    expect((await fallback.createSession(new Uint8Array(1), 'g2')).placement).toBe('cpu');
    const cuda = new OrtAdapter(accepts, {
      runtimeName: 'ort-fake 1.0',
      graphTarget: 'cpu',
      attempts: [{ ...cpu, executionProviders: [{ name: 'cuda' }, 'cpu'] }],
      describe: () => 'cuda+cpu',
    });
    expect((await cuda.createSession(new Uint8Array(1), 'g3')).placement).toBe('cuda');
  });

  it('uses the first attempt the runtime accepts, keeps why an earlier one failed, and counts sessions', async () => {
    const created: string[] = [];
    const backend = adapter(
      fakeRuntime((o) => (o === coreml ? 'CoreML EP: model not supported' : null)),
      created,
    );
    expect(backend.name).toBe('ort-fake 1.0 (0 coreml, 0 cpu)');
    expect(backend.graphTarget).toBe('coreml');
    await backend.createSession(new Uint8Array(1), 'denoiser/part1');
    expect(backend.name).toBe('ort-fake 1.0 (0 coreml, 1 cpu)');
    expect(backend.placement()).toEqual({
      coremlRequested: true,
      coremlSessions: 0,
      cpuSessions: 1,
      lastCoremlError: 'denoiser/part1: CoreML EP: model not supported',
    });
    expect(created).toEqual(['created']);
  });

  it('names the graph when no attempt compiles it, with the last attempt’s reason', async () => {
    const backend = adapter(fakeRuntime((o) => (o === coreml ? 'no coreml' : 'bad protobuf')));
    await expect(backend.createSession(new Uint8Array(1), 'vae/decoder')).rejects.toThrow(
      'vae/decoder: cannot compile model: bad protobuf',
    );
  });

  it('runs without copying the feeds, drops them afterwards, and refuses outputs of other types by name', async () => {
    const seen: FakeTensor[] = [];
    const backend = adapter(fakeRuntime(() => null, seen));
    const s = await backend.createSession(new Uint8Array(1), 'block');
    const x = Float32Array.of(1, 2, 3);
    await expect(s.run({ x: floatTensor([3], x) })).rejects.toThrow(
      "block: output 'z' has unsupported type string",
    );
    expect(seen[0]!.disposed).toBe(true);
    expect(x).toEqual(Float32Array.of(1, 2, 3)); // the engine's array itself is untouched
    await expect(s.run({ x: floatTensor([0], new Float32Array(0)) })).rejects.toThrow(
      'block: run failed: empty input',
    );
    expect(backend.name).toBe('ort-fake 1.0 (1 coreml, 0 cpu)');
  });

  it('refuses to be built without session options', () => {
    expect(
      () =>
        new OrtAdapter(
          fakeRuntime(() => null),
          {
            runtimeName: 'x',
            graphTarget: 'cpu',
            attempts: [],
            describe: () => '',
          },
        ),
    ).toThrow(/no session options/);
  });
});
