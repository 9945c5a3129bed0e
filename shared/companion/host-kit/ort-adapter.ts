/**
 * The one InferenceBackend over an ONNX Runtime JavaScript API (onnxruntime-common's `InferenceSession` and `Tensor`),
 * which every host instantiates with its runtime module and session options: the Node host with onnxruntime-node
 * (src-main/adapters/onnxruntime-backend.ts: one attempt, CPU or a provider with CPU after it), the iPhone app with
 * onnxruntime-react-native (ios-companion/src/engine/ort-backend.ts: Core ML first, then CPU alone when Core ML
 * refuses a graph). shared/ imports no runtime: the module comes in as an {@link OrtModuleLike}.
 *
 * A session is created with the first of the host's attempts the runtime accepts; the sessions each attempt made
 * are counted ({@link OrtSessionCounts}) for the backend's `name` and the phone's run screen. Tensors are passed
 * without a copy both ways; the feeds are disposed after each run, so a released block's buffer is not kept alive by
 * the session's last inputs.
 */
import type { ExecutionPlacement } from '../../engine/execution-provider';
import type { GraphTarget } from '../../engine/onnx/graph-target';
import type { BackendSession, InferenceBackend } from '../../engine/ports';
import type { Tensor } from '../../engine/tensor';

/** A tensor as ONNX Runtime's JavaScript API presents it. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  /** Drops the tensor's data (onnxruntime-common ≥ 1.16). */
  dispose?(): void;
}

/** A session as ONNX Runtime's JavaScript API presents it. */
export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  run(feeds: Record<string, OrtTensorLike>, fetches: string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** An entry of the `executionProviders` session option, as the hosts use it. */
export type OrtProviderOption = 'cpu' | { name: 'cuda' } | { name: 'coreml'; coreMlFlags: number };

/** The session options the hosts set (a subset of onnxruntime-common's `InferenceSession.SessionOptions`). */
export interface OrtSessionOptions {
  executionProviders: OrtProviderOption[];
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential';
  intraOpNumThreads?: number;
  enableMemPattern?: boolean;
  /** Session config entries (onnxruntime_session_options_config_keys.h); onnxruntime-react-native ignores them. */
  extra?: Record<string, unknown>;
}

/** The part of the runtime module used: onnxruntime-node, onnxruntime-react-native. */
export interface OrtModuleLike {
  InferenceSession: { create(model: Uint8Array, options: OrtSessionOptions): Promise<OrtSessionLike> };
  Tensor: {
    new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'int64', data: BigInt64Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'float16', data: Uint16Array, dims: readonly number[]): OrtTensorLike;
    new (type: 'int8', data: Int8Array, dims: readonly number[]): OrtTensorLike;
  };
}

/** Sessions created so far, by where they were placed. */
export interface OrtSessionCounts {
  /** Whether the first attempt asks for Core ML. */
  coremlRequested: boolean;
  /** Sessions created with Core ML first and CPU as fallback for the nodes it cannot take. */
  coremlSessions: number;
  /** Sessions without Core ML (CPU alone, another provider, or Core ML refused the graph). */
  cpuSessions: number;
  /** Why an attempt before the last one (Core ML) last refused a graph, `<label>: <why>` (null: never). */
  lastCoremlError: string | null;
}

/** Options of {@link OrtAdapter}. */
export interface OrtAdapterOptions {
  /** The runtime and its version, e.g. `onnxruntime-node 1.30.0`, `onnxruntime-react-native 1.24.3`. */
  runtimeName: string;
  /** The graphs the stages should build for these sessions. */
  graphTarget: GraphTarget;
  /** Session options to try, most preferred first; the last one's failure is the error. At least one. */
  attempts: readonly OrtSessionOptions[];
  /** What `name` says after the runtime's name, in parentheses, from the sessions so far. */
  describe(counts: OrtSessionCounts): string;
  /** Called after each session is created (Node: the memory probe learns that the runtime has started). */
  onSessionCreated?(): void;
}

const usesCoreml = (o: OrtSessionOptions): boolean =>
  o.executionProviders.some((p) => typeof p === 'object' && p.name === 'coreml');

/**
 * Where a session created with these options runs: the first provider asked for. ORT fails creation when that provider
 * is missing (Node checks it at open), and the phone's Core ML attempt is followed by a CPU-only one when Core ML
 * refuses the graph, so the first provider of the attempt that made the session is where it runs; nodes a provider
 * cannot take run on the CPU inside the same session, which the JavaScript API does not expose.
 */
export function placementOf(o: OrtSessionOptions): ExecutionPlacement {
  const first = o.executionProviders[0];
  return first === undefined || first === 'cpu' ? 'cpu' : first.name;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The runtime's tensor for an engine tensor; shares the typed array (no copy). */
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

/** The engine tensor of a runtime output (float32 and int64 only: what the graphs produce). */
function fromOrt(name: string, label: string, t: OrtTensorLike): Tensor {
  const dims = [...t.dims];
  if (t.type === 'float32' && t.data instanceof Float32Array) return { type: 'float32', dims, data: t.data };
  if (t.type === 'int64' && t.data instanceof BigInt64Array) return { type: 'int64', dims, data: t.data };
  throw new Error(`${label}: output '${name}' has unsupported type ${t.type}`);
}

/** One runtime session behind the engine's BackendSession. */
export class OrtAdapterSession implements BackendSession {
  constructor(
    private readonly ort: OrtModuleLike,
    private readonly session: OrtSessionLike,
    private readonly label: string,
    /** Where the session runs ({@link placementOf}); goes into its blocks' `block.compute.end`. */
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
      throw new Error(`${this.label}: run failed: ${messageOf(e)}`, { cause: e });
    }
    // The session keeps the last run's input Tensor objects; dropping their data here lets a released block's
    // buffer be reused or freed (otherwise it stays alive until the session runs again or is released).
    for (const t of Object.values(ortFeeds)) t.dispose?.();
    const out: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries(result)) out[name] = fromOrt(name, this.label, v);
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The backend: sessions from the host's attempts, counted; `name` is `<runtimeName> (<describe(counts)>)`. */
export class OrtAdapter implements InferenceBackend {
  private readonly counts: OrtSessionCounts;
  readonly graphTarget: GraphTarget;

  constructor(
    private readonly ort: OrtModuleLike,
    private readonly adapter: OrtAdapterOptions,
  ) {
    const first = adapter.attempts[0];
    if (first === undefined) throw new Error('OrtAdapter: no session options to try');
    this.graphTarget = adapter.graphTarget;
    this.counts = {
      coremlRequested: usesCoreml(first),
      coremlSessions: 0,
      cpuSessions: 0,
      lastCoremlError: null,
    };
  }

  /** e.g. `onnxruntime-node 1.30.0 (cpu, 8 threads)`, `onnxruntime-react-native 1.24.3 (coreml+cpu)`. */
  get name(): string {
    return `${this.adapter.runtimeName} (${this.adapter.describe(this.counts)})`.slice(0, 128);
  }

  /** Where sessions went so far. */
  placement(): OrtSessionCounts {
    return { ...this.counts };
  }

  async createSession(model: Uint8Array, label: string): Promise<BackendSession> {
    const attempts = this.adapter.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const options = attempts[i]!;
      const last = i === attempts.length - 1;
      let session: OrtSessionLike;
      try {
        session = await this.ort.InferenceSession.create(model, options);
      } catch (e) {
        if (last) throw new Error(`${label}: cannot compile model: ${messageOf(e)}`, { cause: e });
        this.counts.lastCoremlError = `${label}: ${messageOf(e)}`.slice(0, 500);
        continue;
      }
      if (usesCoreml(options)) this.counts.coremlSessions += 1;
      else this.counts.cpuSessions += 1;
      this.adapter.onSessionCreated?.();
      return new OrtAdapterSession(this.ort, session, label, placementOf(options));
    }
    throw new Error(`${label}: cannot compile model: no session options`); // unreachable: attempts is not empty
  }
}
