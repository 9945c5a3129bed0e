import { describe, expect, it } from 'vitest';
import { encodeModel, OnnxDataType } from '../../../../../shared/engine/onnx/proto-writer';

/** Minimal protobuf reader: returns [field, wireType, value] triples of one message. */
function decode(bytes: Uint8Array): [number, number, bigint | Uint8Array][] {
  const out: [number, number, bigint | Uint8Array][] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) return v;
    }
  };
  while (i < bytes.length) {
    const tag = Number(varint());
    const field = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) out.push([field, wire, varint()]);
    else if (wire === 2) {
      const n = Number(varint());
      out.push([field, wire, bytes.subarray(i, i + n)]);
      i += n;
    } else if (wire === 5) {
      out.push([field, wire, bytes.subarray(i, i + 4)]);
      i += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

const text = (v: bigint | Uint8Array): string => new TextDecoder().decode(v as Uint8Array);

describe('ONNX protobuf writer', () => {
  const model = encodeModel({
    graph: {
      name: 'g',
      nodes: [
        {
          opType: 'Reshape',
          inputs: ['x', 'shape'],
          outputs: ['y'],
          attributes: { allowzero: { kind: 'int', value: -1 }, eps: { kind: 'float', value: 0.5 } },
        },
      ],
      initializers: [
        { name: 'shape', dataType: OnnxDataType.INT64, dims: [2], data: BigInt64Array.from([-1n, 4n]) },
      ],
      inputs: [{ name: 'x', elemType: OnnxDataType.FLOAT, dims: [2, 4] }],
      outputs: [{ name: 'y', elemType: OnnxDataType.FLOAT, dims: [2, 4] }],
    },
  });

  it('writes ir_version 8, the graph at field 7 and the ai.onnx opset 17 import at field 8', () => {
    const top = decode(model);
    expect(top.find(([f]) => f === 1)?.[2]).toBe(8n);
    const opset = decode(top.find(([f]) => f === 8)?.[2] as Uint8Array);
    expect(opset).toEqual([
      [1, 2, new Uint8Array()],
      [2, 0, 17n],
    ]);
    expect(top.some(([f, w]) => f === 7 && w === 2)).toBe(true);
  });

  it('lays out GraphProto, NodeProto and AttributeProto with onnx.proto3 field numbers', () => {
    const graph = decode(decode(model).find(([f]) => f === 7)?.[2] as Uint8Array);
    expect(graph.map(([f]) => f)).toEqual([1, 2, 5, 11, 12]);
    const node = decode(graph[0]?.[2] as Uint8Array);
    expect(node.filter(([f]) => f === 1).map(([, , v]) => text(v))).toEqual(['x', 'shape']);
    expect(text(node.find(([f]) => f === 4)?.[2] as Uint8Array)).toBe('Reshape');
    const attrs = node.filter(([f]) => f === 5).map(([, , v]) => decode(v as Uint8Array));
    // allowzero: i = -1 as a 10-byte two's-complement varint, type INT (2) at field 20.
    expect(attrs[0]).toEqual([
      [1, 2, new TextEncoder().encode('allowzero')],
      [3, 0, 2n ** 64n - 1n],
      [20, 0, 2n],
    ]);
    expect(attrs[1]?.[1]).toEqual([2, 5, new Uint8Array([0, 0, 0, 0x3f])]);
    expect(attrs[1]?.[2]).toEqual([20, 0, 1n]);
  });

  it('stores initializers as raw little-endian data with dims and data_type', () => {
    const graph = decode(decode(model).find(([f]) => f === 7)?.[2] as Uint8Array);
    const init = decode(graph.find(([f]) => f === 5)?.[2] as Uint8Array);
    expect(init[0]).toEqual([1, 2, new Uint8Array([2])]); // packed dims
    expect(init[1]).toEqual([2, 0, 7n]);
    expect(text(init[2]?.[2] as Uint8Array)).toBe('shape');
    const raw = init[3]?.[2] as Uint8Array;
    expect(init[3]?.[0]).toBe(9);
    expect(Array.from(new BigInt64Array(raw.slice().buffer))).toEqual([-1n, 4n]);
  });

  it('encodes a value info as TypeProto.tensor_type with a static shape', () => {
    const graph = decode(decode(model).find(([f]) => f === 7)?.[2] as Uint8Array);
    const vi = decode(graph.find(([f]) => f === 11)?.[2] as Uint8Array);
    expect(text(vi[0]?.[2] as Uint8Array)).toBe('x');
    const tensorType = decode(decode(vi[1]?.[2] as Uint8Array)[0]?.[2] as Uint8Array);
    expect(tensorType[0]).toEqual([1, 0, 1n]);
    const dims = decode(tensorType[1]?.[2] as Uint8Array).map(([, , d]) => decode(d as Uint8Array)[0]?.[2]);
    expect(dims).toEqual([2n, 4n]);
  });
});
