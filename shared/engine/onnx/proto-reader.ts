/**
 * A small ONNX protobuf reader: ModelProto → the parts of its main graph the Core ML checker and the tests need
 * (nodes with attributes, inputs, outputs, value_info, initializers' names/types/dims and, on request, their data).
 * Reads what our writer emits, what python `onnx` writes and the optimized model ONNX Runtime writes
 * (`optimizedModelFilePath`). Field numbers follow onnx.proto3; unknown fields are skipped by wire type, so newer
 * ONNX versions read fine. Subgraphs (If/Loop bodies) and sparse initializers are not decoded (our graphs have none).
 */
import { utf8Decode } from '../safetensors/utf8';

/** A decoded AttributeProto value (graph-valued attributes are kept as their kind only). */
export type ReadAttribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: ReadTensor }
  | { kind: 'other'; type: number };

/** A decoded TensorProto (initializer or attribute tensor). */
export interface ReadTensor {
  name: string;
  /** TensorProto.DataType number (1 = float32, 7 = int64, 10 = float16, …). */
  dataType: number;
  dims: number[];
  /** True when the data lives in an external file (data_location = EXTERNAL). */
  external: boolean;
  /** The tensor's data as little-endian bytes (raw_data, or the typed fields re-packed); only with `withData`. */
  raw?: Uint8Array;
}

/** A decoded ValueInfoProto of a dense tensor (`dims` null when the shape is absent; a string is a dim_param). */
export interface ReadValueInfo {
  name: string;
  elemType: number;
  dims: (number | string | null)[] | null;
}

/** A decoded NodeProto. */
export interface ReadNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, ReadAttribute>;
}

/** A decoded GraphProto (the main graph of a model). */
export interface ReadGraph {
  name: string;
  nodes: ReadNode[];
  inputs: ReadValueInfo[];
  outputs: ReadValueInfo[];
  valueInfo: ReadValueInfo[];
  initializers: ReadTensor[];
}

/** A decoded ModelProto. */
export interface ReadModel {
  irVersion: number;
  producerName: string;
  /** Opset version per domain ('' = ai.onnx). */
  opsets: Record<string, number>;
  graph: ReadGraph;
}

/** Options of {@link readModel}. */
export interface ReadModelOptions {
  /** Keep each initializer's bytes (`raw`); off by default (the checker needs names, types and dims only). */
  withData?: boolean;
}

type Field = { field: number; wire: number; varint: bigint; bytes: Uint8Array };

/** Iterates the fields of one message; throws on a truncated or malformed buffer. */
function* fields(buf: Uint8Array, what: string): Generator<Field> {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error(`truncated varint in ${what}`);
      const b = buf[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) return v;
      if (shift > 70n) throw new Error(`malformed varint in ${what}`);
    }
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || i + n > buf.length) throw new Error(`field runs past the end of ${what}`);
    const b = buf.subarray(i, i + n);
    i += n;
    return b;
  };
  const none = new Uint8Array(0);
  while (i < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) yield { field, wire, varint: varint(), bytes: none };
    else if (wire === 1) yield { field, wire, varint: 0n, bytes: take(8) };
    else if (wire === 2) yield { field, wire, varint: 0n, bytes: take(Number(varint())) };
    else if (wire === 5) yield { field, wire, varint: 0n, bytes: take(4) };
    else throw new Error(`unsupported wire type ${wire} (field ${field}) in ${what}`);
  }
}

function str(f: Field): string {
  const s = utf8Decode(f.bytes);
  if (s === null) throw new Error(`field ${f.field} is not valid UTF-8`);
  return s;
}
const int64 = (v: bigint): number => Number(BigInt.asIntN(64, v));

/** A repeated int64 field: packed (wire 2) or one value per tag (wire 0). */
function pushInts(out: number[], f: Field, what: string): void {
  if (f.wire === 0) out.push(int64(f.varint));
  else out.push(...packedVarints(f.bytes, what));
}

function packedVarints(b: Uint8Array, what: string): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < b.length) {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length) throw new Error(`truncated packed varint in ${what}`);
      const x = b[i++] as number;
      v |= BigInt(x & 0x7f) << shift;
      shift += 7n;
      if (x < 0x80) break;
    }
    out.push(int64(v));
  }
  return out;
}

/** A repeated float field: packed (wire 2) or one value per tag (wire 5). */
function pushFloats(out: number[], f: Field): void {
  const dv = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  for (let k = 0; k + 4 <= f.bytes.length; k += 4) out.push(dv.getFloat32(k, true));
}

function readTensor(buf: Uint8Array, withData: boolean): ReadTensor {
  const t: ReadTensor = { name: '', dataType: 0, dims: [], external: false };
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  const i32: number[] = [];
  const i64: number[] = [];
  for (const f of fields(buf, 'TensorProto')) {
    if (f.field === 1) pushInts(t.dims, f, 'TensorProto.dims');
    else if (f.field === 2) t.dataType = Number(f.varint);
    else if (f.field === 8) t.name = str(f);
    else if (f.field === 9) raw = f.bytes;
    else if (f.field === 14) t.external = Number(f.varint) === 1;
    else if (withData && f.field === 4) pushFloats(floats, f);
    else if (withData && f.field === 5) pushInts(i32, f, 'TensorProto.int32_data');
    else if (withData && f.field === 7) pushInts(i64, f, 'TensorProto.int64_data');
  }
  if (withData) {
    if (raw) t.raw = raw.slice();
    else if (floats.length > 0) t.raw = new Uint8Array(Float32Array.from(floats).buffer);
    else if (i64.length > 0) t.raw = new Uint8Array(BigInt64Array.from(i64.map((v) => BigInt(v))).buffer);
    else if (i32.length > 0) t.raw = new Uint8Array(Int32Array.from(i32).buffer);
    else t.raw = new Uint8Array(0);
  }
  return t;
}

function readAttribute(buf: Uint8Array, withData: boolean): [string, ReadAttribute] {
  let name = '';
  let type = 0;
  let f1: number | undefined;
  let i1: number | undefined;
  let s1: string | undefined;
  let t1: ReadTensor | undefined;
  const fl: number[] = [];
  const is: number[] = [];
  const ss: string[] = [];
  for (const f of fields(buf, 'AttributeProto')) {
    if (f.field === 1) name = str(f);
    else if (f.field === 20) type = Number(f.varint);
    else if (f.field === 2) f1 = new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
    else if (f.field === 3) i1 = int64(f.varint);
    else if (f.field === 4) s1 = str(f);
    else if (f.field === 5) t1 = readTensor(f.bytes, withData);
    else if (f.field === 7) pushFloats(fl, f);
    else if (f.field === 8) pushInts(is, f, 'AttributeProto.ints');
    else if (f.field === 9) ss.push(str(f));
  }
  // AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7, STRINGS 8.
  const value: ReadAttribute =
    type === 1
      ? { kind: 'float', value: f1 ?? 0 }
      : type === 2
        ? { kind: 'int', value: i1 ?? 0 }
        : type === 3
          ? { kind: 'string', value: s1 ?? '' }
          : type === 4 && t1
            ? { kind: 'tensor', value: t1 }
            : type === 6
              ? { kind: 'floats', value: fl }
              : type === 7
                ? { kind: 'ints', value: is }
                : type === 8
                  ? { kind: 'strings', value: ss }
                  : { kind: 'other', type };
  return [name, value];
}

function readNode(buf: Uint8Array, withData: boolean): ReadNode {
  const n: ReadNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: {} };
  for (const f of fields(buf, 'NodeProto')) {
    if (f.field === 1) n.inputs.push(str(f));
    else if (f.field === 2) n.outputs.push(str(f));
    else if (f.field === 3) n.name = str(f);
    else if (f.field === 4) n.opType = str(f);
    else if (f.field === 7) n.domain = str(f);
    else if (f.field === 5) {
      const [k, v] = readAttribute(f.bytes, withData);
      n.attributes[k] = v;
    }
  }
  return n;
}

// ValueInfoProto: name=1, type=2. TypeProto: tensor_type=1. Tensor: elem_type=1, shape=2. Shape: dim=1.
// Dimension: dim_value=1, dim_param=2.
function readValueInfo(buf: Uint8Array): ReadValueInfo {
  const v: ReadValueInfo = { name: '', elemType: 0, dims: null };
  for (const f of fields(buf, 'ValueInfoProto')) {
    if (f.field === 1) v.name = str(f);
    else if (f.field === 2)
      for (const tf of fields(f.bytes, 'TypeProto'))
        if (tf.field === 1)
          for (const tt of fields(tf.bytes, 'TypeProto.Tensor')) {
            if (tt.field === 1) v.elemType = Number(tt.varint);
            else if (tt.field === 2) {
              const dims: (number | string | null)[] = [];
              for (const d of fields(tt.bytes, 'TensorShapeProto'))
                if (d.field === 1) {
                  let dim: number | string | null = null;
                  for (const x of fields(d.bytes, 'Dimension')) {
                    if (x.field === 1) dim = int64(x.varint);
                    else if (x.field === 2) dim = str(x);
                  }
                  dims.push(dim);
                }
              v.dims = dims;
            }
          }
  }
  return v;
}

function readGraph(buf: Uint8Array, withData: boolean): ReadGraph {
  const g: ReadGraph = { name: '', nodes: [], inputs: [], outputs: [], valueInfo: [], initializers: [] };
  for (const f of fields(buf, 'GraphProto')) {
    if (f.field === 1) g.nodes.push(readNode(f.bytes, withData));
    else if (f.field === 2) g.name = str(f);
    else if (f.field === 5) g.initializers.push(readTensor(f.bytes, withData));
    else if (f.field === 11) g.inputs.push(readValueInfo(f.bytes));
    else if (f.field === 12) g.outputs.push(readValueInfo(f.bytes));
    else if (f.field === 13) g.valueInfo.push(readValueInfo(f.bytes));
  }
  return g;
}

/** Decodes a serialized ModelProto; throws a clear error on bytes that are not one. */
export function readModel(bytes: Uint8Array, opts: ReadModelOptions = {}): ReadModel {
  const withData = opts.withData ?? false;
  let irVersion = 0;
  let producerName = '';
  const opsets: Record<string, number> = {};
  let graph: ReadGraph | undefined;
  try {
    for (const f of fields(bytes, 'ModelProto')) {
      if (f.field === 1) irVersion = Number(f.varint);
      else if (f.field === 2) producerName = str(f);
      else if (f.field === 7) graph = readGraph(f.bytes, withData);
      else if (f.field === 8) {
        let domain = '';
        let version = 0;
        for (const o of fields(f.bytes, 'OperatorSetIdProto')) {
          if (o.field === 1) domain = str(o);
          else if (o.field === 2) version = Number(o.varint);
        }
        opsets[domain] = version;
      }
    }
  } catch (e) {
    throw new Error(`not a readable ONNX model (${bytes.length} bytes): ${(e as Error).message}`);
  }
  if (!graph)
    throw new Error(`not an ONNX model (${bytes.length} bytes): it has no graph (ModelProto field 7)`);
  return { irVersion, producerName, opsets, graph };
}
