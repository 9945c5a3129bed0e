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
 * Where one session runs: the provider its creation ended on. `coreml` for a session Core ML took (ONNX Runtime
 * places the nodes it cannot take on the CPU inside that session), `cpu` for a CPU-only session (the CPU provider
 * asked for, or the phone's fallback after Core ML refused the graph), `cuda` for a CUDA session.
 */
export type ExecutionPlacement = ExecutionProviderName;

/** Where one CI-DL block ran: its sessions' placement, or `mixed` when they ran on different ones. */
export const BLOCK_PLACEMENTS = [...EXECUTION_PROVIDERS, 'mixed'] as const;
/** Where one block ran. */
export type BlockPlacement = (typeof BLOCK_PLACEMENTS)[number];

/**
 * The placement of a block that ran these sessions' placements: the one placement when they all agree, `mixed`
 * when they differ, undefined when none is known (no session ran, or the backend does not say where).
 */
export function blockPlacementOf(
  placements: Iterable<ExecutionPlacement | undefined>,
): BlockPlacement | undefined {
  let found: ExecutionPlacement | undefined;
  for (const p of placements) {
    if (p === undefined) continue;
    if (found !== undefined && found !== p) return 'mixed';
    found = p;
  }
  return found;
}

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
