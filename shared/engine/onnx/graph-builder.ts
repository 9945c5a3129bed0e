/**
 * A small builder for static-shape ONNX graphs (opset 17). Values are referred to by name (plain strings); every
 * op method appends one node and returns its output name(s). Small constants (shapes, scalars, LayerNorm ones and
 * zeros) become initializers, deduplicated by content; weights stay graph inputs (see shared/engine/README.md).
 *
 * Every value has a static shape and element type: each appended node's outputs are computed by the op's ONNX rule
 * (shape-inference.ts) — a node whose inputs do not fit, or an output declared with other dims, is an error naming
 * the graph, the node and the shapes — and `build()` writes them all as value_info.
 *
 * A builder has a target (graph-target.ts). The `coreml` target writes `gemm`, `gather` and `pad` with ops ORT's
 * Core ML EP takes with weight inputs (Transpose + MatMul + Add; Slice + Concat; Concat with zeros); `cpu` (the
 * default) writes Gemm, Gather and Pad.
 */
import type { GraphTarget } from './graph-target';
import { inferShapes, type ElemType, type TensorShape } from './shape-inference';
import {
  encodeModel,
  OnnxDataType,
  type AttributeValue,
  type NodeProtoInit,
  type OnnxDataTypeId,
  type TensorProtoInit,
  type ValueInfoInit,
} from './proto-writer';

/** The name of a value (graph input, initializer or node output) in the graph being built. */
export type Value = string;

/** Element types a value may have (`float16` and `int8` only for stored weights). */
export type { ElemType, TensorShape };

/** Node attributes by name; build values with `int`, `float` and `ints`. */
export type Attrs = Readonly<Record<string, AttributeValue>>;

const elemTypeId: Record<ElemType, OnnxDataTypeId> = {
  float32: OnnxDataType.FLOAT,
  int64: OnnxDataType.INT64,
  float16: OnnxDataType.FLOAT16,
  int8: OnnxDataType.INT8,
};

/** Integer attribute helper. */
export const int = (value: number): AttributeValue => ({ kind: 'int', value });
/** Float attribute helper. */
export const float = (value: number): AttributeValue => ({ kind: 'float', value });
/** Integer-list attribute helper. */
export const ints = (value: readonly number[]): AttributeValue => ({ kind: 'ints', value });

/** Builds one ONNX graph; call `build()` once at the end to get the serialized ModelProto. */
export class GraphBuilder {
  private readonly nodes: NodeProtoInit[] = [];
  private readonly initializers: TensorProtoInit[] = [];
  private readonly inputs: ValueInfoInit[] = [];
  private readonly outputs: ValueInfoInit[] = [];
  private readonly constCache = new Map<string, Value>();
  private readonly names = new Set<string>();
  private readonly shapes = new Map<Value, TensorShape>();
  private readonly constInts = new Map<Value, readonly number[]>();
  private counter = 0;

  constructor(
    private readonly name: string,
    /** The execution provider the graph is built for (see graph-target.ts). */
    readonly target: GraphTarget = 'cpu',
  ) {}

  private fresh(hint: string): Value {
    let n: string;
    do n = `${hint}_${this.counter++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  private claim(name: string): Value {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: duplicate value name '${name}'`);
    this.names.add(name);
    return name;
  }

  /** The static element type and dims of a value of this graph. */
  shape(v: Value): TensorShape {
    const s = this.shapes.get(v);
    if (s === undefined) throw new Error(`graph ${this.name}: unknown value '${v}'`);
    return s;
  }

  /** Declares a graph input with a static shape. */
  input(name: string, dims: readonly number[], type: ElemType = 'float32'): Value {
    this.inputs.push({ name: this.claim(name), elemType: elemTypeId[type], dims });
    this.shapes.set(name, { type, dims: [...dims] });
    return name;
  }

  /**
   * Declares `value` as graph output `name` (adding an Identity when the names differ); `dims` and `type` must be
   * the value's own (a mismatch is an error naming both).
   */
  output(value: Value, name: string, dims: readonly number[], type: ElemType = 'float32'): void {
    const s = this.shape(value);
    if (s.dims.join() !== dims.join() || s.type !== type)
      throw new Error(
        `graph ${this.name}: output '${name}' is declared ${type} [${dims.join(', ')}] but '${value}' is ${s.type} [${s.dims.join(', ')}]`,
      );
    if (value !== name) {
      this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [this.claim(name)] });
      this.shapes.set(name, s);
    }
    this.outputs.push({ name, elemType: elemTypeId[type], dims });
  }

  /**
   * Appends a node with any op type; returns its `nOutputs` output names. Output shapes come from the op's ONNX
   * rule (shape-inference.ts) or, for an op without one, from `outShapes`, which is required then.
   */
  nodeN(
    opType: string,
    inputs: readonly Value[],
    nOutputs: number,
    attributes?: Attrs,
    outShapes?: readonly TensorShape[],
  ): Value[] {
    const nodeName = `${opType}_${this.nodes.length}`;
    let shapes: readonly TensorShape[];
    try {
      const inShapes = inputs.map((v) => this.shape(v));
      shapes =
        outShapes ??
        inferShapes(
          {
            opType,
            inputs: inShapes,
            attrs: attributes ?? {},
            constInts: (i) => this.constInts.get(inputs[i] ?? ''),
          },
          nOutputs,
        );
      if (shapes.length !== nOutputs)
        throw new Error(`${shapes.length} output shapes for ${nOutputs} outputs`);
    } catch (e) {
      const ins = inputs.map((v) => {
        const s = this.shapes.get(v);
        return s ? `${v}: ${s.type} [${s.dims.join(', ')}]` : `${v}: unknown`;
      });
      throw new Error(
        `graph ${this.name}: node ${nodeName} (${opType}) on ${ins.join(', ')}: ${(e as Error).message}`,
      );
    }
    const outputs = Array.from({ length: nOutputs }, () => this.fresh(opType.toLowerCase()));
    outputs.forEach((o, i) => this.shapes.set(o, shapes[i] as TensorShape));
    this.nodes.push({ opType, inputs, outputs, attributes, name: nodeName });
    return outputs;
  }

  /** Appends a single-output node (see `nodeN` for its shape). */
  node(opType: string, inputs: readonly Value[], attributes?: Attrs, outShape?: TensorShape): Value {
    return this.nodeN(opType, inputs, 1, attributes, outShape ? [outShape] : undefined)[0] as Value;
  }

  private constant(dataType: OnnxDataTypeId, dims: readonly number[], data: TensorProtoInit['data']): Value {
    const key = `${dataType}|${dims.join(',')}|${Array.from(data as ArrayLike<number | bigint>).join(',')}`;
    const hit = this.constCache.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh('const');
    this.initializers.push({ name, dataType, dims, data });
    this.constCache.set(key, name);
    const type: ElemType = dataType === OnnxDataType.INT64 ? 'int64' : 'float32';
    this.shapes.set(name, { type, dims: [...dims] });
    if (data instanceof BigInt64Array)
      this.constInts.set(
        name,
        Array.from(data, (v) => Number(v)),
      );
    return name;
  }

  /** A float32 initializer (deduplicated by content). */
  constF(values: ArrayLike<number>, dims: readonly number[] = [values.length]): Value {
    return this.constant(OnnxDataType.FLOAT, dims, Float32Array.from(values));
  }

  /** A float32 scalar initializer. */
  scalar(v: number): Value {
    return this.constF([v], []);
  }

  /** An int64 initializer (deduplicated by content). */
  constI64(values: readonly number[], dims: readonly number[] = [values.length]): Value {
    return this.constant(OnnxDataType.INT64, dims, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /**
   * Linear layer `a·Bᵀ + c` (Gemm, transB=1 by default): a [M, K], w [N, K], bias [N]. The `coreml` target writes
   * MatMul(a, Transpose(w)) + Add(bias): Core ML refuses a Gemm whose B or C is not a constant initializer.
   */
  gemm(a: Value, w: Value, bias?: Value, opts: { transA?: number; transB?: number } = {}): Value {
    if (this.target === 'coreml') {
      if (opts.transA) throw new Error(`graph ${this.name}: the coreml target has no transA linear layer`);
      const y = this.matmul(a, (opts.transB ?? 1) ? this.transpose(w, [1, 0]) : w);
      return bias === undefined ? y : this.add(y, bias);
    }
    const attrs: Record<string, AttributeValue> = { transB: int(opts.transB ?? 1) };
    if (opts.transA) attrs.transA = int(opts.transA);
    return this.node('Gemm', bias === undefined ? [a, w] : [a, w, bias], attrs);
  }

  /** Batched matrix product with numpy broadcasting. */
  matmul(a: Value, b: Value): Value {
    return this.node('MatMul', [a, b]);
  }

  /** Elementwise a + b (broadcasting). */
  add(a: Value, b: Value): Value {
    return this.node('Add', [a, b]);
  }

  /** Elementwise a − b (broadcasting). */
  sub(a: Value, b: Value): Value {
    return this.node('Sub', [a, b]);
  }

  /** Elementwise a · b (broadcasting). */
  mul(a: Value, b: Value): Value {
    return this.node('Mul', [a, b]);
  }

  /** Elementwise a / b (broadcasting). */
  div(a: Value, b: Value): Value {
    return this.node('Div', [a, b]);
  }

  /** Reshape to a static shape (int64 initializer). */
  reshape(x: Value, dims: readonly number[]): Value {
    return this.node('Reshape', [x, this.constI64(dims)]);
  }

  /** Transpose with an explicit permutation. */
  transpose(x: Value, perm: readonly number[]): Value {
    return this.node('Transpose', [x], { perm: ints(perm) });
  }

  /** Softmax over one axis (default last). */
  softmax(x: Value, axis = -1): Value {
    return this.node('Softmax', [x], { axis: int(axis) });
  }

  /** Non-affine LayerNormalization over the last axis of width `c` (constant ones/zeros scale and bias). */
  layerNorm(x: Value, c: number, epsilon: number): Value {
    const ones = this.constF(new Float32Array(c).fill(1));
    const zeros = this.constF(new Float32Array(c));
    return this.node('LayerNormalization', [x, ones, zeros], { axis: int(-1), epsilon: float(epsilon) });
  }

  /** Slice with static starts/ends/axes/steps (int64 initializers). */
  slice(
    x: Value,
    starts: readonly number[],
    ends: readonly number[],
    axes: readonly number[],
    steps?: readonly number[],
  ): Value {
    const inputs = [x, this.constI64(starts), this.constI64(ends), this.constI64(axes)];
    if (steps) inputs.push(this.constI64(steps));
    return this.node('Slice', inputs);
  }

  /** Concatenation along `axis`. */
  concat(xs: readonly Value[], axis: number): Value {
    return this.node('Concat', xs, { axis: int(axis) });
  }

  /** Splits into `n` equal parts along `axis`. */
  split(x: Value, axis: number, n: number): Value[] {
    return this.nodeN('Split', [x], n, { axis: int(axis) });
  }

  /**
   * Gather with static indices (a scalar index drops the axis). The `coreml` target writes one Slice per run of
   * consecutive indices (each run sliced once), concatenated along the axis; a scalar index is a Slice and a
   * Reshape (Core ML 1.24 has no ML Program Gather).
   */
  gather(x: Value, indices: number | readonly number[], axis: number): Value {
    if (this.target === 'coreml') {
      const dims = this.shape(x).dims;
      const ax = axis < 0 ? axis + dims.length : axis;
      const list = typeof indices === 'number' ? [indices] : indices;
      const runs: [number, number][] = [];
      for (const i of list) {
        const last = runs[runs.length - 1];
        if (last && i === last[1]) last[1]++;
        else runs.push([i, i + 1]);
      }
      const parts = runs.map(([a, b]) => this.slice(x, [a], [b], [ax]));
      const y = parts.length === 1 ? (parts[0] as Value) : this.concat(parts, ax);
      return typeof indices === 'number'
        ? this.reshape(
            y,
            dims.filter((_, k) => k !== ax),
          )
        : y;
    }
    const idx = typeof indices === 'number' ? this.constI64([indices], []) : this.constI64(indices);
    return this.node('Gather', [x, idx], { axis: int(axis) });
  }

  /** ReduceMean over static axes (opset 17: axes is an attribute). */
  reduceMean(x: Value, axes: readonly number[], keepdims: boolean): Value {
    return this.node('ReduceMean', [x], { axes: ints(axes), keepdims: int(keepdims ? 1 : 0) });
  }

  /**
   * Zero padding (opset 17 Pad; `pads` = [begin..., end...] for every axis). The `coreml` target concatenates
   * zero initializers along each padded axis instead (Core ML 1.24 has no ML Program Pad).
   */
  pad(x: Value, pads: readonly number[]): Value {
    if (this.target !== 'coreml') return this.node('Pad', [x, this.constI64(pads)]);
    const r = this.shape(x).dims.length;
    let y = x;
    for (let k = 0; k < r; k++) {
      const before = pads[k] ?? 0;
      const after = pads[k + r] ?? 0;
      if (before === 0 && after === 0) continue;
      const dims = this.shape(y).dims;
      const zeros = (n: number): Value => {
        const d = dims.map((v, j) => (j === k ? n : v));
        return this.constF(new Float32Array(d.reduce((a, b) => a * b, 1)), d);
      };
      y = this.concat([...(before ? [zeros(before)] : []), y, ...(after ? [zeros(after)] : [])], k);
    }
    return y;
  }

  /** SiLU: x · sigmoid(x). */
  silu(x: Value): Value {
    return this.mul(x, this.node('Sigmoid', [x]));
  }

  /**
   * GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), evaluated as the identical
   * x·sigmoid(2√(2/π)·x·(1 + 0.044715·x²)) to save three elementwise passes (opset 17 has no Gelu).
   */
  geluTanh(x: Value): Value {
    const c = 2 * Math.sqrt(2 / Math.PI);
    const z = this.mul(x, this.add(this.mul(this.mul(x, x), this.scalar(c * 0.044715)), this.scalar(c)));
    return this.mul(x, this.node('Sigmoid', [z]));
  }

  /** Serializes the graph as an ONNX ModelProto (ir_version 8, opset 17), with value_info for every node output. */
  build(): Uint8Array {
    if (this.outputs.length === 0) throw new Error(`graph ${this.name} has no outputs`);
    const graphOutputs = new Set(this.outputs.map((o) => o.name));
    const valueInfo: ValueInfoInit[] = [];
    for (const n of this.nodes)
      for (const o of n.outputs) {
        if (graphOutputs.has(o)) continue;
        const s = this.shape(o);
        valueInfo.push({ name: o, elemType: elemTypeId[s.type], dims: s.dims });
      }
    return encodeModel({
      graph: {
        name: this.name,
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: this.inputs,
        outputs: this.outputs,
        valueInfo,
      },
    });
  }
}
