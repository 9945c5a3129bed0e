/**
 * What ONNX Runtime's Core ML execution provider (ML Program format, `COREML_FLAG_CREATE_MLPROGRAM`, with static
 * input shapes) refuses, node by node. Each rule names the ORT source it encodes and the version read there
 * (microsoft/onnxruntime; a commit, or the code index's file id where the index gave no commit). The index keeps
 * several versions of each file without release tags; where versions differ, the rule follows the one closest to
 * onnxruntime-react-native 1.24, the app's runtime, and docs/coreml.md says which. A refused node runs on ORT's
 * CPU EP, and every boundary between Core ML and CPU nodes costs a Core ML call and a copy.
 */
import type { ReadNode } from '../proto-reader';

/** Why a node is refused (the report groups by this). */
export type RefusalKind =
  | 'op-not-in-ml-program'
  | 'not-constant'
  | 'conv-not-1d-2d'
  | 'dim-over-16384'
  | 'zero-dim'
  | 'rank-over-5'
  | 'unknown-shape'
  | 'dtype'
  | 'attribute';

/** One reason a node is refused, with the ORT source of the rule. */
export interface Refusal {
  readonly kind: RefusalKind;
  readonly message: string;
  readonly source: string;
}

/** A value's static type as the checker sees it (null dims: no static shape known). */
export interface ValueType {
  readonly elemType: number;
  readonly dims: readonly number[] | null;
}

/** What the rules need to know about the graph around a node. */
export interface RuleContext {
  /** The value's type and shape (graph inputs, outputs, value_info, initializers); undefined when unknown. */
  typeOf(name: string): ValueType | undefined;
  /** Whether the value is a constant initializer (an initializer that is not also a graph input). */
  isConstant(name: string): boolean;
}

const FLOAT = 1;
const FLOAT16 = 10;
const INT32 = 6;
const INT64 = 7;

/** The ORT sources the rules encode (docs/coreml.md lists them with what each says). */
export const ORT_SOURCES = {
  mlProgramOps:
    'tools/ci_build/github/apple/coreml_supported_mlprogram_ops.md @ 04f568d869ec533a48f29f67f9842ddf694d7ab1',
  helper: 'onnxruntime/core/providers/coreml/builders/helper.cc IsInputSupported (index id 431976077)',
  baseDtype:
    'onnxruntime/core/providers/coreml/builders/impl/base_op_builder.cc IsInputDtypeSupport (index id 2619457053)',
  gemm: 'onnxruntime/core/providers/coreml/builders/impl/gemm_op_builder.cc IsOpSupportedImpl (index id 863612775)',
  conv: 'onnxruntime/core/providers/coreml/builders/impl/conv_op_builder.cc IsOpSupportedImpl (index id 1202573288)',
  norm: 'onnxruntime/core/providers/coreml/builders/impl/normalization_op_builder.cc (index id 5859128201)',
  reshape:
    'onnxruntime/core/providers/coreml/builders/impl/reshape_op_builder.cc IsOpSupportedImpl (index id 231463319)',
  slice:
    'onnxruntime/core/providers/coreml/builders/impl/slice_op_builder.cc IsOpSupportedImpl (index id 5687274159)',
  split:
    'onnxruntime/core/providers/coreml/builders/impl/split_op_builder.cc IsOpSupportedImpl (index id 55951049)',
  partitions:
    'onnxruntime/core/providers/partitioning_utils.cc CreateSupportedPartitionNodeGroups @ 04c2cf469e0f0f81e6c60ba1aada4ad05df1758c',
} as const;

/**
 * ONNX ops (ai.onnx unless prefixed) the Core ML EP converts in ML Program format: the published list at
 * 04f568d8 (a 2026 main commit, later than 1.24; it has no Expand, Gather, Pad or DequantizeLinear entry, so
 * those are refused whatever their inputs — newer builders add ML Program Gather / Expand / Pad, 1.24 does not
 * list them).
 */
const ML_PROGRAM_OPS: ReadonlySet<string> = new Set([
  'Add', 'ArgMax', 'AveragePool', 'Cast', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'Cos', 'DepthToSpace', 'Ceil',
  'Div', 'Elu', 'Erf', 'Exp', 'GatherND', 'Gemm', 'Gelu', 'GlobalAveragePool', 'GlobalMaxPool', 'GridSample',
  'GroupNormalization', 'HardSigmoid', 'Identity', 'InstanceNormalization', 'LayerNormalization', 'LeakyRelu',
  'MatMul', 'MaxPool', 'Max', 'Mul', 'Pow', 'PRelu', 'Range', 'Reciprocal', 'ReduceSum', 'ReduceMean', 'ReduceMax',
  'Relu', 'Reshape', 'Resize', 'Round', 'Shape', 'Sin', 'Slice', 'Softplus', 'Split', 'Sub', 'Sigmoid', 'Softmax',
  'Sqrt', 'Squeeze', 'Tanh', 'Tile', 'Transpose', 'Unsqueeze', 'com.microsoft:QuickGelu', 'com.microsoft:FusedConv',
]); // prettier-ignore

const fmt = (d: readonly number[] | null): string => (d ? `[${d.join(', ')}]` : 'unknown');

function attrNumber(n: ReadNode, name: string, dflt: number): number {
  const a = n.attributes[name];
  return a && (a.kind === 'int' || a.kind === 'float') ? a.value : dflt;
}

/** Every reason the Core ML EP (ML Program, static shapes) would refuse `node`; empty when it takes it. */
export function coremlRefusals(node: ReadNode, ctx: RuleContext): Refusal[] {
  const out: Refusal[] = [];
  const refuse = (kind: RefusalKind, message: string, source: string): void =>
    void out.push({ kind, message, source });
  const key = node.domain === '' || node.domain === 'ai.onnx' ? node.opType : `${node.domain}:${node.opType}`;
  if (!ML_PROGRAM_OPS.has(key)) {
    refuse('op-not-in-ml-program', `${key} is not converted in ML Program format`, ORT_SOURCES.mlProgramOps);
    return out;
  }

  // helper.cc IsInputSupported: every (present) input needs a shape — static with ONLY_ALLOW_STATIC_INPUT_SHAPES —,
  // no dim above 16384 ("CoreML does not support input dim > 16384", coremltools#1003), no 0 dim, rank ≤ 5.
  node.inputs.forEach((name) => {
    if (name === '') return;
    const t = ctx.typeOf(name);
    if (!t || t.dims === null) {
      refuse('unknown-shape', `input '${name}' has no static shape`, ORT_SOURCES.helper);
      return;
    }
    const big = t.dims.find((d) => d > 16384);
    if (big !== undefined)
      refuse('dim-over-16384', `input '${name}' ${fmt(t.dims)} has a dim ${big} > 16384`, ORT_SOURCES.helper);
    if (t.dims.includes(0))
      refuse('zero-dim', `input '${name}' ${fmt(t.dims)} has a 0 dim`, ORT_SOURCES.helper);
    if (t.dims.length > 5)
      refuse(
        'rank-over-5',
        `input '${name}' ${fmt(t.dims)} has rank ${t.dims.length} > 5`,
        ORT_SOURCES.helper,
      );
  });

  // base_op_builder.cc IsInputDtypeSupport: input 0 float32, or float16 in ML Program (builders with their own
  // type check: Cast, Reshape / Slice / Concat / Identity / Shape also take int64 data).
  const t0 = ctx.typeOf(node.inputs[0] ?? '');
  const intOk = ['Cast', 'Reshape', 'Slice', 'Concat', 'Identity', 'Shape', 'Squeeze', 'Unsqueeze'].includes(
    node.opType,
  );
  if (
    t0 &&
    t0.elemType !== FLOAT &&
    t0.elemType !== FLOAT16 &&
    !(intOk && (t0.elemType === INT64 || t0.elemType === INT32))
  )
    refuse(
      'dtype',
      `input 0 has ONNX type ${t0.elemType}; Core ML takes float32 / float16`,
      ORT_SOURCES.baseDtype,
    );

  const constant = (i: number, what: string, source: string): void => {
    const name = node.inputs[i];
    if (name !== undefined && name !== '' && !ctx.isConstant(name))
      refuse('not-constant', `${what} '${name}' must be a constant initializer`, source);
  };
  switch (node.opType) {
    case 'Gemm':
      // "B input must be a constant initializer" (only ML Program MatMul is exempt); "C of Gemm must be a constant
      // initializer"; transA 0, alpha 1, beta 1 only.
      constant(1, 'Gemm B', ORT_SOURCES.gemm);
      constant(2, 'Gemm C', ORT_SOURCES.gemm);
      if (
        attrNumber(node, 'transA', 0) !== 0 ||
        attrNumber(node, 'alpha', 1) !== 1 ||
        attrNumber(node, 'beta', 1) !== 1
      )
        refuse('attribute', 'Gemm with transA ≠ 0, alpha ≠ 1 or beta ≠ 1', ORT_SOURCES.gemm);
      break;
    case 'Conv': {
      // ML Program takes a non-constant weight, but only 1D / 2D ("Only 1D and 2D Conv are supported currently",
      // from the weight's rank) and "The bias of Conv must be a constant initializer".
      const w = ctx.typeOf(node.inputs[1] ?? '');
      const rank = w?.dims?.length ?? -1;
      if (rank !== 3 && rank !== 4)
        refuse('conv-not-1d-2d', `Conv is ${rank - 2}-D (weight ${fmt(w?.dims ?? null)})`, ORT_SOURCES.conv);
      constant(2, 'Conv bias', ORT_SOURCES.conv);
      break;
    }
    case 'LayerNormalization':
    case 'InstanceNormalization':
    case 'GroupNormalization':
      // "Scale must be a constant initializer", "Bias must be a constant initializer"; stash_type 1 only.
      constant(1, `${node.opType} scale`, ORT_SOURCES.norm);
      constant(2, `${node.opType} bias`, ORT_SOURCES.norm);
      if (node.opType !== 'InstanceNormalization' && attrNumber(node, 'stash_type', 1) !== 1)
        refuse('attribute', 'stash_type ≠ 1', ORT_SOURCES.norm);
      break;
    case 'Reshape': {
      // "New shape of reshape must be a constant initializer"; static input shape; new shape rank ≤ 5.
      constant(1, 'Reshape shape', ORT_SOURCES.reshape);
      const s = ctx.typeOf(node.inputs[1] ?? '');
      const rank = s?.dims?.[0];
      if (rank !== undefined && rank > 5)
        refuse('rank-over-5', `Reshape to rank ${rank} > 5`, ORT_SOURCES.reshape);
      break;
    }
    case 'Slice':
      // CheckIsConstantInitializer for 'starts', 'ends', 'axes', 'steps'; static data shape.
      ['starts', 'ends', 'axes', 'steps'].forEach((what, k) =>
        constant(k + 1, `Slice ${what}`, ORT_SOURCES.slice),
      );
      break;
    case 'Split':
      constant(1, "Split 'split'", ORT_SOURCES.split);
      break;
  }
  return out;
}
