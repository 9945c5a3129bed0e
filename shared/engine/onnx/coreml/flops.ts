/**
 * FLOPs of one node from static shapes: MatMul, Gemm and Conv exactly (2 per multiply-add, plus the bias adds);
 * every other op counts one per output element (elementwise work; data-movement ops such as Reshape too, which
 * keeps them visible but small).
 */
import type { ReadNode } from '../proto-reader';

const count = (d: readonly number[]): number => d.reduce((p, x) => p * x, 1);

/** FLOPs of `node`; `dims` gives a value's static dims (null when unknown: the node then counts 0). */
export function nodeFlops(node: ReadNode, dims: (name: string) => readonly number[] | null): number {
  const out = dims(node.outputs[0] ?? '');
  if (out === null) return 0;
  if (node.opType === 'MatMul') {
    const a = dims(node.inputs[0] ?? '');
    const k = a?.[a.length - 1] ?? 0;
    return 2 * count(out) * k;
  }
  if (node.opType === 'Gemm') {
    const a = dims(node.inputs[0] ?? '');
    const transA = node.attributes['transA'];
    const k = (transA?.kind === 'int' && transA.value !== 0 ? a?.[0] : a?.[1]) ?? 0;
    return 2 * count(out) * k + (node.inputs.length > 2 ? count(out) : 0);
  }
  if (node.opType === 'Conv') {
    const w = dims(node.inputs[1] ?? '');
    const perOutput = w ? count(w.slice(1)) : 0; // C/group · kernel
    return 2 * count(out) * perOutput + (node.inputs.length > 2 ? count(out) : 0);
  }
  return node.outputs.reduce((s, o) => s + count(dims(o) ?? []), 0);
}
