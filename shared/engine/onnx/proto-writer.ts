/**
 * A minimal protobuf encoder for the ONNX messages the graph builder emits (ModelProto and what it contains).
 * Hand-written on purpose: no dependency, no Node types. Field numbers follow onnx.proto3 exactly; repeated
 * scalars are written packed (proto3 default, which every ONNX parser accepts).
 */

/** ONNX TensorProto.DataType values used by the engine. */
export const OnnxDataType = { FLOAT: 1, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10 } as const;
/** One of the ONNX element types the writer supports. */
export type OnnxDataTypeId = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** A TensorProto (initializer or attribute value); data goes in raw_data, little-endian. */
export interface TensorProtoInit {
  name: string;
  dataType: OnnxDataTypeId;
  dims: readonly number[];
  /** Float32Array for FLOAT, BigInt64Array for INT64, Int32Array for INT32. */
  data: Float32Array | BigInt64Array | Int32Array;
}

/** An AttributeProto value; the kind picks the AttributeType. */
export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorProtoInit };

/** A NodeProto. */
export interface NodeProtoInit {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A ValueInfoProto for a dense tensor with a static shape (a string dim is a symbolic dim_param). */
export interface ValueInfoInit {
  name: string;
  elemType: OnnxDataTypeId;
  dims: readonly (number | string)[];
}

/** A GraphProto. */
export interface GraphProtoInit {
  name: string;
  nodes: readonly NodeProtoInit[];
  initializers: readonly TensorProtoInit[];
  inputs: readonly ValueInfoInit[];
  outputs: readonly ValueInfoInit[];
  /** Shapes of intermediate values (GraphProto.value_info). */
  valueInfo?: readonly ValueInfoInit[];
}

/** A ModelProto: ir_version 8, one opset import (ai.onnx, default 17). */
export interface ModelProtoInit {
  graph: GraphProtoInit;
  producerName?: string;
  producerVersion?: string;
  opsetVersion?: number;
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

/** UTF-8 encoding without host globals (shared/ has no DOM or Node types). */
function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** Growable byte buffer with protobuf wire-format primitives. */
class ProtoBuffer {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Varint of a non-negative or negative (two's complement, 10 bytes) 64-bit integer. */
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.raw(b);
  }

  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.raw(b);
  }

  string(field: number, s: string): void {
    this.bytesField(field, utf8(s));
  }

  message(field: number, write: (m: ProtoBuffer) => void): void {
    const m = new ProtoBuffer();
    write(m);
    this.bytesField(field, m.bytes());
  }

  packedInts(field: number, values: readonly (number | bigint)[]): void {
    if (values.length === 0) return;
    const m = new ProtoBuffer();
    for (const v of values) m.varint(v);
    this.bytesField(field, m.bytes());
  }

  packedFloats(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    this.bytesField(field, b);
  }
}

function littleEndianBytes(data: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  else if (data instanceof Int32Array) data.forEach((v, i) => dv.setInt32(i * 4, v, true));
  else data.forEach((v, i) => dv.setBigInt64(i * 8, v, true));
  return out;
}

// TensorProto: dims=1, data_type=2, name=8, raw_data=9.
function writeTensor(m: ProtoBuffer, t: TensorProtoInit): void {
  m.packedInts(1, t.dims);
  m.int(2, t.dataType);
  if (t.name) m.string(8, t.name);
  m.bytesField(9, littleEndianBytes(t.data));
}

// AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20.
function writeAttribute(m: ProtoBuffer, name: string, a: AttributeValue): void {
  m.string(1, name);
  switch (a.kind) {
    case 'float':
      m.float(2, a.value);
      break;
    case 'int':
      m.int(3, a.value);
      break;
    case 'string':
      m.string(4, a.value);
      break;
    case 'tensor':
      m.message(5, (t) => writeTensor(t, a.value));
      break;
    case 'floats':
      m.packedFloats(7, a.value);
      break;
    case 'ints':
      m.packedInts(8, a.value);
      break;
  }
  m.int(20, ATTRIBUTE_TYPE[a.kind]);
}

// NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7.
function writeNode(m: ProtoBuffer, n: NodeProtoInit): void {
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  if (n.name) m.string(3, n.name);
  m.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) m.message(5, (a) => writeAttribute(a, k, v));
  if (n.domain) m.string(7, n.domain);
}

// ValueInfoProto: name=1, type=2. TypeProto: tensor_type=1. TypeProto.Tensor: elem_type=1, shape=2.
// TensorShapeProto: dim=1. Dimension: dim_value=1, dim_param=2.
function writeValueInfo(m: ProtoBuffer, v: ValueInfoInit): void {
  m.string(1, v.name);
  m.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

// GraphProto: node=1, name=2, initializer=5, input=11, output=12, value_info=13.
function writeGraph(m: ProtoBuffer, g: GraphProtoInit): void {
  for (const n of g.nodes) m.message(1, (x) => writeNode(x, n));
  m.string(2, g.name);
  for (const t of g.initializers) m.message(5, (x) => writeTensor(x, t));
  for (const v of g.inputs) m.message(11, (x) => writeValueInfo(x, v));
  for (const v of g.outputs) m.message(12, (x) => writeValueInfo(x, v));
  for (const v of g.valueInfo ?? []) m.message(13, (x) => writeValueInfo(x, v));
}

/** Serializes a ModelProto (ir_version 8, opset_import ai.onnx `opsetVersion`, default 17). */
export function encodeModel(model: ModelProtoInit): Uint8Array {
  const m = new ProtoBuffer();
  m.int(1, 8); // ir_version
  m.string(2, model.producerName ?? 'odsora-studio'); // producer_name
  if (model.producerVersion) m.string(3, model.producerVersion); // producer_version
  m.message(7, (g) => writeGraph(g, model.graph)); // graph
  m.message(8, (o) => {
    // OperatorSetIdProto: domain=1 ('' = ai.onnx), version=2
    o.string(1, '');
    o.int(2, model.opsetVersion ?? 17);
  });
  return m.bytes();
}
