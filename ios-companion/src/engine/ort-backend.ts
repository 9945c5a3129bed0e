/**
 * The app's InferenceBackend on an ONNX Runtime JavaScript API (onnxruntime-common's `InferenceSession` and
 * `Tensor`): onnxruntime-react-native in the app (ort-react-native.ts, the only file that imports it), onnxruntime-node
 * in tests. With Core ML on, each session is created with the Core ML execution provider first and CPU after it
 * (nodes Core ML cannot take run on CPU inside the same session); when Core ML refuses a graph outright the session
 * is created again on CPU alone. What actually happened is counted and named in `name` (device info) and in
 * `placement()` (the run screen), and each session's `placement` goes into its blocks' `block.compute.end`. With Core ML requested the stages build `coreml` graphs (`graphTarget`), which ORT's
 * CPU EP runs as well.
 */
import { COREML_SESSION_FLAGS, type ExecutionPlacement } from '../../../shared/engine/execution-provider';
import type { GraphTarget } from '../../../shared/engine/onnx/graph-target';
import type { BackendSession, InferenceBackend } from '../../../shared/engine/ports';
import type { Tensor } from '../../../shared/engine/tensor';

/** A tensor as ONNX Runtime's JavaScript API presents it. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** A session as ONNX Runtime's JavaScript API presents it. */
export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  run(feeds: Record<string, OrtTensorLike>, fetches: string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** Session options this backend sets. */
export interface OrtSessionOptions {
  executionProviders: ({ name: 'coreml'; coreMlFlags?: number } | 'cpu')[];
  graphOptimizationLevel: 'all' | 'disabled';
  executionMode: 'sequential';
}

/** The part of the runtime module used: onnxruntime-react-native or onnxruntime-node. */
export interface OrtModuleLike {
  InferenceSession: { create(model: Uint8Array, options: OrtSessionOptions): Promise<OrtSessionLike> };
  Tensor: {
    new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'int64', data: BigInt64Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'float16', data: Uint16Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'int8', data: Int8Array, dims: readonly number[]): OrtTensorLike;
  };
}

/** Where sessions were placed so far. */
export interface OrtPlacement {
  coremlRequested: boolean;
  /** Sessions created with Core ML first and CPU as fallback for the nodes it cannot take. */
  coremlSessions: number;
  /** Sessions on CPU alone (Core ML off, or it refused the graph). */
  cpuSessions: number;
  /** Why Core ML last refused a graph (null: never). */
  lastCoremlError: string | null;
}

function toOrt(ort: OrtModuleLike, t: Tensor): OrtTensorLike {
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

function fromOrt(name: string, label: string, t: OrtTensorLike): Tensor {
  const dims = [...t.dims];
  if (t.type === 'float32' && t.data instanceof Float32Array) return { type: 'float32', dims, data: t.data };
  if (t.type === 'int64' && t.data instanceof BigInt64Array) return { type: 'int64', dims, data: t.data };
  throw new Error(`${label}: output '${name}' has unsupported type ${t.type}`);
}

class Session implements BackendSession {
  constructor(
    private readonly ort: OrtModuleLike,
    private readonly session: OrtSessionLike,
    private readonly label: string,
    /** `coreml`: created with Core ML first (it took the graph); `cpu`: on CPU alone. */
    readonly placement: ExecutionPlacement,
  ) {}

  async run(
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, OrtTensorLike> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(this.ort, t);
    let result: Record<string, OrtTensorLike>;
    try {
      result = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds);
    } catch (e) {
      throw new Error(`${this.label}: run failed: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    const out: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries(result)) out[name] = fromOrt(name, this.label, v);
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Options of {@link OrtBackend}. */
export interface OrtBackendOptions {
  /** e.g. `onnxruntime-react-native 1.24.3`. */
  runtimeName: string;
  /** Try Core ML first (default true). */
  coreml?: boolean;
}

/** The backend. */
export class OrtBackend implements InferenceBackend {
  private readonly stats: OrtPlacement;

  constructor(
    private readonly ort: OrtModuleLike,
    private readonly options: OrtBackendOptions,
  ) {
    this.stats = {
      coremlRequested: options.coreml ?? true,
      coremlSessions: 0,
      cpuSessions: 0,
      lastCoremlError: null,
    };
  }

  /** e.g. `onnxruntime-react-native 1.24.3 (coreml+cpu)`, `(cpu; coreml refused 2 of 9 graphs)`, `(cpu)`. */
  get name(): string {
    const s = this.stats;
    let where: string;
    if (!s.coremlRequested) where = 'cpu';
    else if (s.coremlSessions + s.cpuSessions === 0) where = 'coreml+cpu requested';
    else if (s.cpuSessions === 0) where = 'coreml+cpu';
    else if (s.coremlSessions === 0) where = 'cpu; coreml refused every graph';
    else where = `coreml+cpu; ${s.cpuSessions} of ${s.coremlSessions + s.cpuSessions} graphs on cpu only`;
    return `${this.options.runtimeName} (${where})`.slice(0, 128);
  }

  /** Where sessions went so far. */
  placement(): OrtPlacement {
    return { ...this.stats };
  }

  /** `coreml` when Core ML is requested: graphs of ops the Core ML EP takes with weight inputs. */
  get graphTarget(): GraphTarget {
    return this.stats.coremlRequested ? 'coreml' : 'cpu';
  }

  /**
   * Core ML sessions run without ORT's graph optimizations: its Level-1 MatMulAddFusion would turn every linear
   * layer's MatMul + Add back into a Gemm on weight inputs, which Core ML refuses, and onnxruntime-react-native
   * 1.24 passes no session config entries (cpp/SessionUtils.cpp reads no `extra`), so the one fusion cannot be
   * switched off alone (Node does: COREML_GRAPH_SESSION_CONFIG). Core ML takes the whole graph, so the CPU-side
   * optimizations had nothing to do; the CPU fallback keeps them.
   */
  private sessionOptions(coreml: boolean): OrtSessionOptions {
    return {
      executionProviders: coreml ? [{ name: 'coreml', coreMlFlags: COREML_SESSION_FLAGS }, 'cpu'] : ['cpu'],
      graphOptimizationLevel: coreml ? 'disabled' : 'all',
      executionMode: 'sequential',
    };
  }

  async createSession(model: Uint8Array, label: string): Promise<BackendSession> {
    if (this.stats.coremlRequested) {
      try {
        const s = await this.ort.InferenceSession.create(model, this.sessionOptions(true));
        this.stats.coremlSessions += 1;
        return new Session(this.ort, s, label, 'coreml');
      } catch (e) {
        this.stats.lastCoremlError = `${label}: ${e instanceof Error ? e.message : String(e)}`.slice(0, 500);
      }
    }
    try {
      const s = await this.ort.InferenceSession.create(model, this.sessionOptions(false));
      this.stats.cpuSessions += 1;
      return new Session(this.ort, s, label, 'cpu');
    } catch (e) {
      throw new Error(`${label}: cannot compile model: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }
}
