/**
 * How ONNX Runtime groups an EP's supported nodes into partitions: a port of `CreateSupportedPartitionNodeGroups`
 * (onnxruntime/core/providers/partitioning_utils.cc @ 04c2cf469e0f0f81e6c60ba1aada4ad05df1758c), which the Core ML
 * EP's GetCapability calls. A variant of Kahn's topological sort in "waves": a wave takes every ready supported
 * node, and every ready unsupported node that does not consume the current group's outputs; unsupported nodes on
 * the group's border wait for the next wave. Each wave yields at most one group; each group is one Core ML model.
 */
import type { ReadNode } from '../proto-reader';

/** The partitions (lists of node indices, in the order ORT adds them) of the supported nodes of `nodes`. */
export function supportedPartitions(nodes: readonly ReadNode[], supported: readonly boolean[]): number[][] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o !== '' && producer.set(o, i)));
  // One edge per (producer, consumer input slot), as ORT's graph has.
  const consumers: number[][] = nodes.map(() => []);
  const inDegree = nodes.map(() => 0);
  nodes.forEach((n, i) =>
    n.inputs.forEach((v) => {
      const p = producer.get(v);
      if (p === undefined || p === i) return;
      consumers[p]?.push(i);
      inDegree[i] = (inDegree[i] as number) + 1;
    }),
  );
  for (const c of consumers) c.sort((a, b) => a - b);

  const groups: number[][] = [];
  let toProcess: number[] = [];
  let withNextGroup: number[] = [];
  nodes.forEach((_, i) => inDegree[i] === 0 && toProcess.push(i));
  let group: number[] = [];
  let border = new Set<number>();
  const close = (): void => {
    if (group.length > 0) groups.push(group);
    group = [];
    border = new Set();
  };
  while (toProcess.length > 0 || withNextGroup.length > 0) {
    if (toProcess.length === 0) {
      close();
      toProcess = withNextGroup;
      withNextGroup = [];
      continue;
    }
    const i = toProcess.shift() as number;
    const ok = supported[i] === true;
    if (!ok && border.has(i)) {
      withNextGroup.push(i);
      continue;
    }
    if (ok) {
      group.push(i);
      border.delete(i);
    }
    for (const c of consumers[i] ?? []) {
      if (ok) border.add(c);
      inDegree[c] = (inDegree[c] as number) - 1;
      if (inDegree[c] === 0) toProcess.push(c);
    }
  }
  close();
  return groups;
}
