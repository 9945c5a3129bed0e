/**
 * The app's InferenceBackend: the shared ONNX Runtime adapter (shared/companion/host-kit/ort-adapter.ts) with the
 * phone's session options, on onnxruntime-react-native in the app (ort-react-native.ts, the only file that imports
 * it) and onnxruntime-node in tests. With Core ML on, each session is created with the Core ML execution provider
 * first and CPU after it (nodes Core ML cannot take run on CPU inside the same session); when Core ML refuses a graph
 * outright the session is created again on CPU alone. What actually happened is counted and named in `name` (device
 * info) and in `placement()` (the run screen), and each session's `placement` goes into its blocks'
 * `block.compute.end`. With Core ML requested the stages build `coreml` graphs
 * (`graphTarget`), which ORT's CPU EP runs as well.
 */
import {
  OrtAdapter,
  type OrtModuleLike,
  type OrtSessionCounts,
  type OrtSessionOptions,
} from '../../../shared/companion/host-kit/ort-adapter';
import { COREML_SESSION_FLAGS } from '../../../shared/engine/execution-provider';

/** Options of {@link OrtBackend}. */
export interface OrtBackendOptions {
  /** e.g. `onnxruntime-react-native 1.24.3`. */
  runtimeName: string;
  /** Try Core ML first (default true). */
  coreml?: boolean;
}

/**
 * Core ML sessions run without ORT's graph optimizations: its Level-1 MatMulAddFusion would turn every linear
 * layer's MatMul + Add back into a Gemm on weight inputs, which Core ML refuses, and onnxruntime-react-native
 * 1.24 passes no session config entries (cpp/SessionUtils.cpp reads no `extra`), so the one fusion cannot be
 * switched off alone (Node does: COREML_GRAPH_SESSION_CONFIG). Core ML takes the whole graph, so the CPU-side
 * optimizations had nothing to do; the CPU fallback keeps them.
 */
const COREML_SESSION: OrtSessionOptions = {
  executionProviders: [{ name: 'coreml', coreMlFlags: COREML_SESSION_FLAGS }, 'cpu'],
  graphOptimizationLevel: 'disabled',
  executionMode: 'sequential',
};
const CPU_SESSION: OrtSessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
};

/** e.g. `coreml+cpu`, `cpu; coreml refused 2 of 9 graphs`, `cpu`. */
function describePhonePlacement(s: OrtSessionCounts): string {
  if (!s.coremlRequested) return 'cpu';
  if (s.coremlSessions + s.cpuSessions === 0) return 'coreml+cpu requested';
  if (s.cpuSessions === 0) return 'coreml+cpu';
  if (s.coremlSessions === 0) return 'cpu; coreml refused every graph';
  return `coreml+cpu; ${s.cpuSessions} of ${s.coremlSessions + s.cpuSessions} graphs on cpu only`;
}

/** The backend: Core ML first (unoptimized), then CPU alone; or CPU alone when Core ML is off. */
export class OrtBackend extends OrtAdapter {
  constructor(ort: OrtModuleLike, options: OrtBackendOptions) {
    const coreml = options.coreml ?? true;
    super(ort, {
      runtimeName: options.runtimeName,
      graphTarget: coreml ? 'coreml' : 'cpu',
      attempts: coreml ? [COREML_SESSION, CPU_SESSION] : [CPU_SESSION],
      describe: describePhonePlacement,
    });
  }
}
