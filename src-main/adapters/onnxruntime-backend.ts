/**
 * The Node host's InferenceBackend on onnxruntime-node: the CPU provider, or Core ML / CUDA with the CPU taking the
 * nodes they cannot (execution-provider.ts; it and this file are the only ones in src-main that import the runtime).
 * Open it with {@link openOnnxRuntimeBackend}, which checks that the provider asked for is really there.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  graphTargetOf,
  type ExecutionPlacement,
  type ExecutionProviderName,
} from '../../shared/engine/execution-provider';
import type { GraphTarget } from '../../shared/engine/onnx/graph-target';
import type { BackendSession, InferenceBackend } from '../../shared/engine/ports';
import type { Tensor } from '../../shared/engine/tensor';
import { GraphBuilder } from '../../shared/engine/onnx/graph-builder';
import {
  ExecutionProviderUnavailableError,
  ortExecutionProviders,
  platformRefusal,
  providerLoadFailure,
} from './execution-provider';
import { noteRuntimeStarted } from './node-memory-probe';

/** Options of the onnxruntime-node backend. */
export interface OnnxRuntimeBackendOptions {
  /**
   * Let intra-op threads spin while a run is in progress (default false, see the measurements below). Spinning
   * always stops at the end of each run (`session.force_spinning_stop`), so the idle pool of one session never
   * steals the cores from the next.
   */
  spinning?: boolean;
  /** Threads per operator (intra-op); defaults to os.availableParallelism(). */
  intraOpThreads?: number;
  /** Execution provider (default `cpu`); check it with {@link openOnnxRuntimeBackend}. */
  ep?: ExecutionProviderName;
  /**
   * The graphs the stages build (onnx/graph-target.ts); default `coreml` with the Core ML EP, else `cpu`. Tests and
   * benches set `coreml` to run the Core ML graphs on the CPU EP.
   */
  graphTarget?: GraphTarget;
}

/** A one-node graph, enough to make ONNX Runtime load a provider. */
function probeModel(): Uint8Array {
  const b = new GraphBuilder('ep-probe');
  const x = b.input('x', [1, 4]);
  b.output(b.add(x, x), 'y', [1, 4]);
  return b.build();
}

/**
 * Checks that `ep` can be used here: the platform allows it and ONNX Runtime loads it (a session of a one-node
 * graph with that provider alone, run once). Throws {@link ExecutionProviderUnavailableError} saying why and how to
 * get it.
 */
export async function assertExecutionProvider(ep: ExecutionProviderName): Promise<void> {
  if (ep === 'cpu') return;
  const refusal = platformRefusal(ep);
  if (refusal !== null) throw new ExecutionProviderUnavailableError(ep, refusal);
  let session: ort.InferenceSession | null = null;
  try {
    session = await ort.InferenceSession.create(probeModel(), {
      executionProviders: ortExecutionProviders(ep).filter((p) => p !== 'cpu'),
    });
    await session.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4]) });
  } catch (e) {
    throw providerLoadFailure(ep, e instanceof Error ? e.message : String(e));
  } finally {
    await session?.release();
  }
}

/** Opens the backend after checking that its execution provider loads here (throws saying how to get it). */
export async function openOnnxRuntimeBackend(
  options: OnnxRuntimeBackendOptions = {},
): Promise<OnnxRuntimeBackend> {
  await assertExecutionProvider(options.ep ?? 'cpu');
  return new OnnxRuntimeBackend(options);
}

/**
 * Session config entries for `coreml` graphs: ORT's Level-1 MatMulAddFusion would fuse each linear layer's
 * MatMul + Add back into a Gemm whose B and C are not constant initializers, which the Core ML EP refuses
 * (`optimization.disable_specified_optimizers`, onnxruntime_session_options_config_keys.h).
 */
export const COREML_GRAPH_SESSION_CONFIG = {
  optimization: { disable_specified_optimizers: 'MatMulAddFusion' },
};

function toOrt(t: Tensor): ort.Tensor {
  // Shares the typed array: no copy.
  switch (t.type) {
    case 'float32':
      return new ort.Tensor('float32', t.data, [...t.dims]);
    case 'int64':
      return new ort.Tensor('int64', t.data, [...t.dims]);
    case 'float16':
      return new ort.Tensor('float16', t.data, [...t.dims]);
    case 'int8':
      return new ort.Tensor('int8', t.data, [...t.dims]);
  }
}

function fromOrt(name: string, label: string, t: ort.Tensor): Tensor {
  const dims = [...t.dims];
  if (t.type === 'float32') return { type: 'float32', dims, data: t.data as Float32Array };
  if (t.type === 'int64') return { type: 'int64', dims, data: t.data as BigInt64Array };
  throw new Error(`${label}: output '${name}' has unsupported type ${t.type}`);
}

class OrtSession implements BackendSession {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly label: string,
    readonly placement: ExecutionPlacement,
  ) {}

  async run(
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds);
    } catch (e) {
      throw new Error(`${this.label}: run failed: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    // The session keeps the last run's input Tensor objects; dropping their data here lets a released block's
    // buffer be reused or freed (otherwise it stays alive until the session runs again or is released).
    for (const t of Object.values(ortFeeds)) t.dispose();
    const out: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries(result)) out[name] = fromOrt(name, this.label, v as ort.Tensor);
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * The onnxruntime-node backend: the CPU EP (or Core ML / CUDA first), graph optimization 'all', sequential
 * execution, configurable threads; graphs for `graphTarget` (see the options).
 */
export class OnnxRuntimeBackend implements InferenceBackend {
  /**
   * e.g. `onnxruntime-node 1.30.0 (cpu, 8 threads)`, `(cuda+cpu, 8 threads)`, `(cpu, 8 threads, coreml graphs)`.
   */
  readonly name: string;
  /** The execution provider asked for. */
  readonly ep: ExecutionProviderName;
  readonly graphTarget: GraphTarget;
  private readonly sessionOptions: ort.InferenceSession.SessionOptions;

  constructor(options: OnnxRuntimeBackendOptions = {}) {
    const intraOpNumThreads = options.intraOpThreads ?? availableParallelism();
    this.ep = options.ep ?? 'cpu';
    this.graphTarget = graphTargetOf(this.ep, options.graphTarget);
    this.sessionOptions = {
      executionProviders: ortExecutionProviders(this.ep),
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads,
      // No memory pattern: with it, a session's second run allocates one block of its whole planned working set
      // while the first run's chunks stay cached in the arena, so every session held its working set twice. An
      // STDiT3-XL pair at 17×64×64 (CFG batch 2), RSS growth over its first two runs: f32 48 + 41 MB with the
      // pattern, 48 + 0.7 MB without; f16 weights 124 + 118 MB, 124 + 7 MB. Pair time unchanged (median of 12:
      // f32 109.6–109.9 ms with, 109.1–109.7 without; f16 113.0 / 113.9–114.4 ms).
      enableMemPattern: false,
      // Every session owns an intra-op pool. With plain spinning the pool of the session that just ran keeps
      // spinning and steals the cores from the next session (part1 → pair → … → part2), so spinning, when on, stops
      // at the end of each run. Denoise step, depth 12, C 256, 4 heads, L 32, latent 8×16×16, CFG batch 2,
      // 2 threads, 2-core VM, one session per spatial+temporal pair (ms/step, plain / TDTM):
      //   idle machine:  off 168-176 / 140-145, on 198-208 / 165-172, on + stop-after-run 158-164 / 128-130
      //   busy machine (a co-tenant taking CPU):  off 306-330 / 244-266, on + stop-after-run 560-587 / 440-466
      // (two sessions per pair, idle machine: off 177 / 143, on 390-414 / 296-322, on + stop 165 / 136).
      // Spinning wins 3-10% on an idle machine and loses ~1.8x as soon as anything else wants the cores (the
      // Studio UI, a browser), so it is off by default.
      extra: {
        session: {
          intra_op: { allow_spinning: options.spinning ? '1' : '0' },
          force_spinning_stop: '1',
        },
        ...(this.graphTarget === 'coreml' ? COREML_GRAPH_SESSION_CONFIG : {}),
      },
    };
    const where = this.ep === 'cpu' ? 'cpu' : `${this.ep}+cpu`;
    const graphs = this.graphTarget === graphTargetOf(this.ep) ? '' : `, ${this.graphTarget} graphs`;
    this.name = `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common} (${where}, ${intraOpNumThreads} threads${graphs})`;
  }

  async createSession(model: Uint8Array, label: string): Promise<BackendSession> {
    try {
      const session = await ort.InferenceSession.create(model, this.sessionOptions);
      noteRuntimeStarted();
      // ORT created the session with the provider asked for first (a missing provider fails creation; it was
      // checked at open), so the provider is where it runs; nodes it cannot take run on the CPU inside it, which
      // onnxruntime-node does not expose.
      return new OrtSession(session, label, this.ep);
    } catch (e) {
      throw new Error(`${label}: cannot compile model: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }
}

/** Graph optimization levels of ONNX Runtime's session options. */
export type OrtOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * The model ONNX Runtime actually executes: a CPU session for `model` at optimization `level` writes its optimized
 * graph (`optimizedModelFilePath`), returned as bytes. `basic` is what runs before execution providers claim nodes
 * (ORT's Level-1 rewrites, MatMul + Add → Gemm among them), so it is the graph the Core ML EP is offered on a
 * phone; `extended` / `all` add CPU-only fusions. `graphTarget: 'coreml'` sets the backend's session config for
 * Core ML graphs (MatMulAddFusion off).
 */
export async function ortOptimizedModel(
  model: Uint8Array,
  level: OrtOptimizationLevel,
  opts: { graphTarget?: GraphTarget } = {},
): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'odsora-ort-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: level,
      optimizedModelFilePath: path,
      intraOpNumThreads: 1,
      ...(opts.graphTarget === 'coreml' ? { extra: COREML_GRAPH_SESSION_CONFIG } : {}),
    });
    await session.release();
    return new Uint8Array(await readFile(path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
