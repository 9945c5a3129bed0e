/**
 * Static shape and element-type rules of the ONNX ops (opset 17) the engine's graphs use, as the ONNX operator
 * specification defines them: each rule takes the input shapes (and the values of small int64 constant inputs,
 * for Reshape / Slice / Pad / Expand / Gather) and returns the output shapes, or throws saying what does not fit.
 * The graph builder runs these on every node it appends (graph-builder.ts); the Core ML checker reads the shapes
 * the builder writes as value_info.
 */

/** Element types the engine's graphs carry. */
export type ElemType = 'float32' | 'int64' | 'float16' | 'int8';

/** A value's static type: element type and dims. */
export interface TensorShape {
  readonly type: ElemType;
  readonly dims: readonly number[];
}

/** Attribute values as the rules read them (a subset of proto-writer's AttributeValue). */
export type RuleAttrs = Readonly<Record<string, { kind: string; value: unknown }>>;

/** What a rule sees of one node. */
export interface RuleInput {
  readonly opType: string;
  readonly inputs: readonly TensorShape[];
  readonly attrs: RuleAttrs;
  /** The values of input i when it is an int64 constant (initializer), else undefined. */
  readonly constInts: (i: number) => readonly number[] | undefined;
}

/** ONNX TensorProto.DataType numbers of the element types the rules know. */
export const ONNX_TO_ELEM: Readonly<Record<number, ElemType>> = {
  1: 'float32',
  3: 'int8',
  7: 'int64',
  10: 'float16',
};

const fmt = (d: readonly number[]): string => `[${d.join(', ')}]`;

function attrInt(n: RuleInput, name: string, dflt: number): number {
  const a = n.attrs[name];
  return a === undefined ? dflt : (a.value as number);
}

function attrInts(n: RuleInput, name: string): readonly number[] | undefined {
  const a = n.attrs[name];
  return a === undefined ? undefined : (a.value as readonly number[]);
}

function input(n: RuleInput, i: number): TensorShape {
  const s = n.inputs[i];
  if (s === undefined) throw new Error(`needs input ${i}, got ${n.inputs.length} input(s)`);
  return s;
}

function constant(n: RuleInput, i: number, what: string): readonly number[] {
  const v = n.constInts(i);
  if (v === undefined) throw new Error(`${what} (input ${i}) must be an int64 constant for a static shape`);
  return v;
}

function axisOf(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Numpy-style (multidirectional) broadcast of several shapes. */
function broadcastDims(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + k] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) throw new Error(`shapes ${shapes.map(fmt).join(' and ')} do not broadcast`);
      d = v;
    }
    out.push(d);
  }
  return out;
}

function sameType(n: RuleInput, count: number): ElemType {
  const t = input(n, 0).type;
  for (let i = 1; i < count; i++)
    if (input(n, i).type !== t) throw new Error(`input ${i} is ${input(n, i).type}, input 0 is ${t}`);
  return t;
}

const elementwise = (n: RuleInput): TensorShape[] => [
  { type: sameType(n, n.inputs.length), dims: broadcastDims(n.inputs.map((s) => s.dims)) },
];
const unchanged = (n: RuleInput): TensorShape[] => [input(n, 0)];

function matmul(n: RuleInput): TensorShape[] {
  const a = input(n, 0).dims;
  const b = input(n, 1).dims;
  if (a.length === 0 || b.length === 0) throw new Error('MatMul inputs must have rank ≥ 1');
  const a2 = a.length === 1 ? [1, a[0] as number] : a;
  const b2 = b.length === 1 ? [b[0] as number, 1] : b;
  const k1 = a2[a2.length - 1] as number;
  const k2 = b2[b2.length - 2] as number;
  if (k1 !== k2) throw new Error(`inner dims differ: ${fmt(a)} × ${fmt(b)}`);
  const batch = broadcastDims([a2.slice(0, -2), b2.slice(0, -2)]);
  const dims = [...batch];
  if (a.length > 1) dims.push(a2[a2.length - 2] as number);
  if (b.length > 1) dims.push(b2[b2.length - 1] as number);
  return [{ type: sameType(n, 2), dims }];
}

function gemm(n: RuleInput): TensorShape[] {
  const a = input(n, 0).dims;
  const b = input(n, 1).dims;
  if (a.length !== 2 || b.length !== 2)
    throw new Error(`Gemm needs 2-D A and B, got ${fmt(a)} and ${fmt(b)}`);
  const [m, ka] = attrInt(n, 'transA', 0) ? [a[1], a[0]] : [a[0], a[1]];
  const [kb, nn] = attrInt(n, 'transB', 0) ? [b[1], b[0]] : [b[0], b[1]];
  if (ka !== kb)
    throw new Error(`inner dims differ: A ${fmt(a)}, B ${fmt(b)} (transB ${attrInt(n, 'transB', 0)})`);
  const dims = [m as number, nn as number];
  if (n.inputs.length > 2) {
    const c = input(n, 2).dims;
    if (broadcastDims([c, dims]).join() !== dims.join())
      throw new Error(`C ${fmt(c)} does not broadcast to ${fmt(dims)}`);
  }
  return [{ type: sameType(n, n.inputs.length), dims }];
}

function reshape(n: RuleInput): TensorShape[] {
  const x = input(n, 0);
  const spec = constant(n, 1, 'the shape');
  const total = x.dims.reduce((p, d) => p * d, 1);
  const dims = spec.map((d, i) => (d === 0 ? (x.dims[i] as number) : d));
  const known = dims.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const free = dims.filter((d) => d === -1).length;
  if (free > 1) throw new Error(`shape ${fmt(spec)} has more than one -1`);
  if (free === 1) dims[dims.indexOf(-1)] = total / known;
  const count = dims.reduce((p, d) => p * d, 1);
  if (count !== total || dims.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`cannot reshape ${fmt(x.dims)} (${total} elements) to ${fmt(spec)}`);
  return [{ type: x.type, dims }];
}

function transpose(n: RuleInput): TensorShape[] {
  const x = input(n, 0);
  const perm = attrInts(n, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
  if (perm.length !== x.dims.length || [...perm].sort((p, q) => p - q).some((p, i) => p !== i))
    throw new Error(`perm ${fmt(perm)} is not a permutation of rank ${x.dims.length}`);
  return [{ type: x.type, dims: perm.map((p) => x.dims[p] as number) }];
}

function slice(n: RuleInput): TensorShape[] {
  const x = input(n, 0);
  const starts = constant(n, 1, 'starts');
  const ends = constant(n, 2, 'ends');
  const axes = n.inputs.length > 3 ? constant(n, 3, 'axes') : starts.map((_, i) => i);
  const steps = n.inputs.length > 4 ? constant(n, 4, 'steps') : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length)
    throw new Error('starts, ends, axes and steps differ in length');
  const dims = [...x.dims];
  axes.forEach((ax, i) => {
    const a = axisOf(ax, dims.length);
    const d = x.dims[a] as number;
    const step = steps[i] as number;
    if (step === 0) throw new Error('a step is 0');
    const norm = (v: number): number => (v < 0 ? v + d : v);
    let s = norm(starts[i] as number);
    let e = norm(ends[i] as number);
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      dims[a] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      dims[a] = Math.max(0, Math.ceil((s - e) / -step));
    }
  });
  return [{ type: x.type, dims }];
}

function concat(n: RuleInput): TensorShape[] {
  const first = input(n, 0);
  const a = axisOf(attrInt(n, 'axis', 0), first.dims.length);
  const dims = [...first.dims];
  for (let i = 1; i < n.inputs.length; i++) {
    const s = input(n, i).dims;
    if (s.length !== dims.length || s.some((d, k) => k !== a && d !== dims[k]))
      throw new Error(`input ${i} ${fmt(s)} does not match ${fmt(first.dims)} off axis ${a}`);
    dims[a] = (dims[a] as number) + (s[a] as number);
  }
  return [{ type: sameType(n, n.inputs.length), dims }];
}

function split(n: RuleInput, outputs: number): TensorShape[] {
  const x = input(n, 0);
  const a = axisOf(attrInt(n, 'axis', 0), x.dims.length);
  const parts =
    n.inputs.length > 1
      ? constant(n, 1, 'split')
      : Array.from({ length: outputs }, () => (x.dims[a] as number) / outputs);
  if (
    parts.length !== outputs ||
    parts.some((p) => !Number.isInteger(p)) ||
    parts.reduce((s, p) => s + p, 0) !== x.dims[a]
  )
    throw new Error(`cannot split axis ${a} of ${fmt(x.dims)} into ${outputs} parts`);
  return parts.map((p) => ({ type: x.type, dims: x.dims.map((d, k) => (k === a ? p : d)) }));
}

function gather(n: RuleInput): TensorShape[] {
  const x = input(n, 0);
  const idx = input(n, 1);
  if (idx.type !== 'int64') throw new Error(`indices must be int64, got ${idx.type}`);
  const a = axisOf(attrInt(n, 'axis', 0), x.dims.length);
  const values = n.constInts(1);
  const d = x.dims[a] as number;
  if (values?.some((v) => v < -d || v >= d))
    throw new Error(`an index is outside axis ${a} of ${fmt(x.dims)}`);
  return [{ type: x.type, dims: [...x.dims.slice(0, a), ...idx.dims, ...x.dims.slice(a + 1)] }];
}

function reduceMean(n: RuleInput): TensorShape[] {
  const x = input(n, 0);
  const axes = (attrInts(n, 'axes') ?? x.dims.map((_, i) => i)).map((ax) => axisOf(ax, x.dims.length));
  const keep = attrInt(n, 'keepdims', 1) !== 0;
  const dims: number[] = [];
  x.dims.forEach((d, k) => {
    if (!axes.includes(k)) dims.push(d);
    else if (keep) dims.push(1);
  });
  return [{ type: x.type, dims }];
}

function pad(n: RuleInput): TensorShape[] {
  const x = input(n, 0);
  const pads = constant(n, 1, 'pads');
  const r = x.dims.length;
  if (pads.length !== 2 * r) throw new Error(`pads has ${pads.length} values, rank ${r} needs ${2 * r}`);
  return [{ type: x.type, dims: x.dims.map((d, k) => d + (pads[k] as number) + (pads[k + r] as number)) }];
}

function conv(n: RuleInput): TensorShape[] {
  const x = input(n, 0).dims;
  const w = input(n, 1).dims;
  const sp = x.length - 2;
  if (sp < 1 || w.length !== x.length) throw new Error(`X ${fmt(x)} and W ${fmt(w)} ranks do not fit`);
  const group = attrInt(n, 'group', 1);
  if ((x[1] as number) !== (w[1] as number) * group)
    throw new Error(
      `X has ${x[1]} channels, W ${fmt(w)} with group ${group} expects ${(w[1] as number) * group}`,
    );
  const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
  if (kernel.join() !== w.slice(2).join())
    throw new Error(`kernel_shape ${fmt(kernel)} is not W's ${fmt(w.slice(2))}`);
  const pads = attrInts(n, 'pads') ?? Array.from({ length: 2 * sp }, () => 0);
  const strides = attrInts(n, 'strides') ?? kernel.map(() => 1);
  const dil = attrInts(n, 'dilations') ?? kernel.map(() => 1);
  const dims = [x[0] as number, w[0] as number];
  for (let k = 0; k < sp; k++) {
    const span = (dil[k] as number) * ((kernel[k] as number) - 1) + 1;
    const o =
      Math.floor(
        ((x[k + 2] as number) + (pads[k] as number) + (pads[k + sp] as number) - span) /
          (strides[k] as number),
      ) + 1;
    if (o < 1) throw new Error(`spatial axis ${k} of ${fmt(x)} is smaller than the kernel ${fmt(kernel)}`);
    dims.push(o);
  }
  if (n.inputs.length > 2 && input(n, 2).dims.join() !== String(w[0]))
    throw new Error(`bias ${fmt(input(n, 2).dims)} is not [${w[0]}]`);
  return [{ type: sameType(n, n.inputs.length), dims }];
}

function normalization(n: RuleInput): TensorShape[] {
  const x = input(n, 0);
  const want =
    n.opType === 'LayerNormalization'
      ? x.dims.slice(axisOf(attrInt(n, 'axis', -1), x.dims.length))
      : [x.dims[1] as number];
  for (const i of [1, 2])
    if (n.inputs.length > i && input(n, i).dims.join() !== want.join())
      throw new Error(`input ${i} ${fmt(input(n, i).dims)} is not ${fmt(want)}`);
  return [x];
}

const RULES: Readonly<Record<string, (n: RuleInput, outputs: number) => TensorShape[]>> = {
  Add: elementwise,
  Sub: elementwise,
  Mul: elementwise,
  Div: elementwise,
  Identity: unchanged,
  Sigmoid: unchanged,
  Relu: unchanged,
  Tanh: unchanged,
  Erf: unchanged,
  Exp: unchanged,
  Neg: unchanged,
  Sqrt: unchanged,
  Softmax: unchanged,
  MatMul: matmul,
  Gemm: gemm,
  Reshape: reshape,
  Transpose: transpose,
  Slice: slice,
  Concat: concat,
  Split: split,
  Gather: gather,
  ReduceMean: reduceMean,
  Pad: pad,
  Conv: conv,
  LayerNormalization: normalization,
  InstanceNormalization: normalization,
  Cast: (n) => {
    const to = ONNX_TO_ELEM[attrInt(n, 'to', 0)];
    if (to === undefined) throw new Error(`Cast to ONNX type ${attrInt(n, 'to', 0)} is not supported`);
    return [{ type: to, dims: input(n, 0).dims }];
  },
  DequantizeLinear: (n) => [{ type: input(n, 1).type, dims: input(n, 0).dims }],
  Expand: (n) => [
    { type: input(n, 0).type, dims: broadcastDims([input(n, 0).dims, constant(n, 1, 'the shape')]) },
  ],
};

/** Whether the rules know `opType` (ai.onnx domain). */
export function hasShapeRule(opType: string): boolean {
  return Object.prototype.hasOwnProperty.call(RULES, opType);
}

/** The output shapes of one node by the op's rule; throws when the op has no rule or its inputs do not fit. */
export function inferShapes(n: RuleInput, outputs: number): TensorShape[] {
  const rule = RULES[n.opType];
  if (!rule) throw new Error(`no shape rule for op ${n.opType}: pass its output shapes`);
  const out = rule(n, outputs);
  if (out.length !== outputs)
    throw new Error(`${n.opType} gives ${out.length} output(s), the node has ${outputs}`);
  return out;
}
