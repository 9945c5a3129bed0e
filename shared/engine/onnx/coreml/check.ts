/**
 * The Core ML compatibility check of one ONNX graph: every node the Core ML EP (ML Program, static shapes) would
 * refuse and why (rules.ts), the partitions ORT would make of the rest (partitions.ts), and the share of the
 * graph's FLOPs that would run on Core ML (flops.ts). Pure: it reads a ModelProto (ours, python onnx's, or the
 * optimized model ONNX Runtime writes).
 */
import { readModel, type ReadAttribute, type ReadModel, type ReadTensor } from '../proto-reader';
import { hasShapeRule, inferShapes, ONNX_TO_ELEM, type TensorShape } from '../shape-inference';
import { nodeFlops } from './flops';
import { supportedPartitions } from './partitions';
import { coremlRefusals, type Refusal, type RefusalKind, type ValueType } from './rules';

/** A node Core ML would refuse. */
export interface RefusedNode {
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  readonly reasons: readonly Refusal[];
  readonly flops: number;
}

/** The check of one graph. */
export interface CoremlGraphReport {
  readonly graph: string;
  readonly nodes: number;
  readonly refused: readonly RefusedNode[];
  /** Refused nodes by their first reason. */
  readonly refusedByKind: Readonly<Partial<Record<RefusalKind, number>>>;
  /** Core ML partitions (each a compiled Core ML model, with a CPU hand-off between them). */
  readonly partitions: number;
  readonly totalFlops: number;
  readonly coremlFlops: number;
  /** coremlFlops / totalFlops (1 for a graph without FLOPs). */
  readonly coremlShare: number;
  /** Every node on Core ML, in one partition. */
  readonly fullyPlaceable: boolean;
}

/** Checks a parsed model (see the module comment). */
function checkCoremlModel(model: ReadModel): CoremlGraphReport {
  const g = model.graph;
  const types = new Map<string, ValueType>();
  const inputs = new Set(g.inputs.map((v) => v.name));
  const constants = new Set<string>();
  for (const t of g.initializers) {
    types.set(t.name, { elemType: t.dataType, dims: t.dims });
    if (!inputs.has(t.name)) constants.add(t.name);
  }
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) {
    const dims = v.dims !== null && v.dims.every((d) => typeof d === 'number') ? (v.dims as number[]) : null;
    if (!types.has(v.name) || types.get(v.name)?.dims === null)
      types.set(v.name, { elemType: v.elemType, dims });
  }
  inferMissingShapes(model, types);
  const ctx = { typeOf: (n: string) => types.get(n), isConstant: (n: string) => constants.has(n) };
  const dimsOf = (n: string): readonly number[] | null => types.get(n)?.dims ?? null;

  const refused: RefusedNode[] = [];
  const supported: boolean[] = [];
  let totalFlops = 0;
  const flops = g.nodes.map((n) => nodeFlops(n, dimsOf));
  g.nodes.forEach((n, index) => {
    const reasons = coremlRefusals(n, ctx);
    supported.push(reasons.length === 0);
    totalFlops += flops[index] as number;
    if (reasons.length > 0)
      refused.push({
        index,
        name: n.name || `#${index}`,
        opType: n.opType,
        reasons,
        flops: flops[index] as number,
      });
  });
  const groups = supportedPartitions(g.nodes, supported);
  const coremlFlops = groups.flat().reduce((s, i) => s + (flops[i] as number), 0);
  const refusedByKind: Partial<Record<RefusalKind, number>> = {};
  for (const r of refused) {
    const k = (r.reasons[0] as Refusal).kind;
    refusedByKind[k] = (refusedByKind[k] ?? 0) + 1;
  }
  return {
    graph: g.name,
    nodes: g.nodes.length,
    refused,
    refusedByKind,
    partitions: groups.length,
    totalFlops,
    coremlFlops,
    coremlShare: totalFlops === 0 ? 1 : coremlFlops / totalFlops,
    fullyPlaceable: refused.length === 0 && groups.length <= 1,
  };
}

/** Checks serialized ModelProto bytes. */
export function checkCoreml(bytes: Uint8Array): CoremlGraphReport {
  // With initializer data: the shape rules read Reshape / Slice constants. Weights are graph inputs, so the
  // initializers are small.
  return checkCoremlModel(readModel(bytes, { withData: true }));
}

const ELEM_TO_ONNX = new Map(Object.entries(ONNX_TO_ELEM).map(([k, v]) => [v, Number(k)]));

/** The int64 values of an initializer, or undefined (no data, another type). */
function int64Values(t: ReadTensor | undefined): number[] | undefined {
  if (t === undefined || t.dataType !== 7 || t.raw === undefined) return undefined;
  const v = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  return Array.from({ length: t.raw.byteLength / 8 }, (_, i) => Number(v.getBigInt64(i * 8, true)));
}

/**
 * Fills in the shapes a model leaves out of its value_info (ONNX Runtime's optimized model does, for the values of
 * nodes it rewrote) by ONNX's shape rules (shape-inference.ts), in node order, as ORT itself knows them when it
 * partitions. A value whose producer has no rule, or an input still unknown, stays unknown.
 */
function inferMissingShapes(model: ReadModel, types: Map<string, ValueType>): void {
  const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const known = (name: string): TensorShape | undefined => {
    const t = types.get(name);
    const type = t ? ONNX_TO_ELEM[t.elemType] : undefined;
    return t?.dims && type ? { type, dims: t.dims } : undefined;
  };
  for (const n of model.graph.nodes) {
    if (n.outputs.every((o) => o === '' || types.get(o)?.dims)) continue;
    if ((n.domain !== '' && n.domain !== 'ai.onnx') || !hasShapeRule(n.opType)) continue;
    const inputs = n.inputs.filter((i) => i !== '').map(known);
    if (inputs.some((s) => s === undefined)) continue;
    try {
      const out = inferShapes(
        {
          opType: n.opType,
          inputs: inputs as TensorShape[],
          attrs: Object.fromEntries(
            Object.entries(n.attributes).filter(
              (e): e is [string, Exclude<ReadAttribute, { kind: 'other' }>] => e[1].kind !== 'other',
            ),
          ),
          constInts: (i) => int64Values(inits.get(n.inputs[i] ?? '')),
        },
        n.outputs.length,
      );
      n.outputs.forEach((o, i) => {
        const s = out[i];
        if (o !== '' && s && !types.get(o)?.dims)
          types.set(o, { elemType: ELEM_TO_ONNX.get(s.type) ?? 0, dims: s.dims });
      });
    } catch {
      // A node the rules cannot follow leaves its outputs unknown (the checker then says so).
    }
  }
}
