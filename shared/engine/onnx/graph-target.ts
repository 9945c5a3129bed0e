/**
 * Which execution provider a graph is built for. `cpu`: the graphs as ORT's CPU EP runs them best (Gemm, Gather,
 * Pad, Expand, fused Conv bias). `coreml`: the same numbers from ops ORT's Core ML EP (ML Program format, static
 * shapes) takes whole with weights as graph inputs: linear layers as Transpose + MatMul + Add, Conv bias as an Add,
 * Conv3d as a sum of Conv2d, Slice/Concat for Gather and Pad, broadcasting for Expand, every tensor rank ≤ 5
 * (docs/coreml.md). A backend declares its target (`InferenceBackend.graphTarget`).
 */
export type GraphTarget = 'cpu' | 'coreml';

/** Every graph target, in a fixed order. */
export const GRAPH_TARGETS: readonly GraphTarget[] = ['cpu', 'coreml'];

/** Parses a graph target name (CLI flags, options); throws naming the accepted values. */
export function parseGraphTarget(s: string): GraphTarget {
  if (s === 'cpu' || s === 'coreml') return s;
  throw new Error(`unknown graph target '${s}' (expected ${GRAPH_TARGETS.join(' or ')})`);
}

/** What a session label adds for a target: nothing for `cpu`, ` coreml` otherwise. */
export function targetLabel(target: GraphTarget): string {
  return target === 'cpu' ? '' : ` ${target}`;
}
