/**
 * Execution providers a host may ask ONNX Runtime for, and the Core ML provider's flags. One definition for the
 * Node companion (`odsora companion --ep`), `odsora generate --ep` and the iPhone app.
 */
import type { GraphTarget } from './onnx/graph-target';

/** Execution providers the hosts know: `cpu` (everywhere), `coreml` (macOS, iOS), `cuda` (Linux, Windows). */
export const EXECUTION_PROVIDERS = ['cpu', 'coreml', 'cuda'] as const;
/** An execution provider. */
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/**
 * Core ML provider flags (ONNX Runtime `include/onnxruntime/core/providers/coreml/coreml_provider_factory.h`,
 * `COREMLFlags`).
 */
export const COREML_FLAGS = {
  USE_CPU_ONLY: 0x001,
  ENABLE_ON_SUBGRAPH: 0x002,
  ONLY_ENABLE_DEVICE_WITH_ANE: 0x004,
  ONLY_ALLOW_STATIC_INPUT_SHAPES: 0x008,
  CREATE_MLPROGRAM: 0x010,
  USE_CPU_AND_GPU: 0x020,
} as const;

/**
 * The flags every Core ML session of ours is created with: the ML Program format (it covers LayerNorm, Gelu, large
 * MatMuls, which NeuralNetwork models do not) and static input shapes only (our graphs are built for one static
 * shape each; a node with a dynamic shape would be re-planned on every run).
 */
export const COREML_SESSION_FLAGS =
  COREML_FLAGS.CREATE_MLPROGRAM | COREML_FLAGS.ONLY_ALLOW_STATIC_INPUT_SHAPES;

/**
 * The graph variant a provider runs (onnx/graph-target.ts): the Core ML graphs with Core ML, else today's; `override`
 * (tests, benches: the Core ML graphs on the CPU) wins.
 */
export function graphTargetOf(ep: ExecutionProviderName, override?: GraphTarget): GraphTarget {
  return override ?? (ep === 'coreml' ? 'coreml' : 'cpu');
}

/** Parses an execution provider's name (CLI flags, settings files); throws naming the allowed ones. */
export function parseExecutionProvider(v: string, what = '--ep'): ExecutionProviderName {
  const found = EXECUTION_PROVIDERS.find((p) => p === v);
  if (found === undefined)
    throw new Error(`${what} must be one of ${EXECUTION_PROVIDERS.join(', ')}, got '${v}'`);
  return found;
}
