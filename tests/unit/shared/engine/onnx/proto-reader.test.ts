import { describe, expect, it } from 'vitest';
import { float, GraphBuilder, int } from '../../../../../shared/engine/onnx/graph-builder';
import { readModel } from '../../../../../shared/engine/onnx/proto-reader';
import { encodeModel, OnnxDataType } from '../../../../../shared/engine/onnx/proto-writer';

describe('ONNX protobuf reader', () => {
  it('reads back what the writer wrote: nodes, attributes, inputs, outputs, initializers and value_info', () => {
    const g = new GraphBuilder('round_trip');
    const x = g.input('x', [2, 3]);
    const w = g.input('w', [4, 3], 'float16');
    const wf = g.node('Cast', [w], { to: int(1) });
    const y = g.gemm(x, wf, g.constF([1, -2.5, 3, 4]));
    const r = g.reshape(y, [4, 2]);
    const n = g.node('LayerNormalization', [r, g.constF([1, 1]), g.constF([0, 0])], {
      axis: int(-1),
      epsilon: float(1e-6),
    });
    g.output(g.transpose(n, [1, 0]), 'out', [2, 4]);
    const m = readModel(g.build(), { withData: true });
    expect(m.irVersion).toBe(8);
    expect(m.opsets).toEqual({ '': 17 });
    expect(m.producerName).toBe('odsora-studio');
    const gr = m.graph;
    expect(gr.name).toBe('round_trip');
    expect(gr.inputs).toEqual([
      { name: 'x', elemType: 1, dims: [2, 3] },
      { name: 'w', elemType: 10, dims: [4, 3] },
    ]);
    expect(gr.outputs).toEqual([{ name: 'out', elemType: 1, dims: [2, 4] }]);
    expect(gr.nodes.map((v) => v.opType)).toEqual([
      'Cast',
      'Gemm',
      'Reshape',
      'LayerNormalization',
      'Transpose',
      'Identity',
    ]);
    const gemm = gr.nodes[1];
    expect(gemm?.inputs).toEqual(['x', 'cast_0', 'const_1']);
    expect(gemm?.attributes).toEqual({ transB: { kind: 'int', value: 1 } });
    expect(gr.nodes[3]?.attributes.epsilon?.kind).toBe('float');
    expect((gr.nodes[3]?.attributes.epsilon as { value: number }).value).toBeCloseTo(1e-6, 12);
    expect(gr.nodes[4]?.attributes.perm).toEqual({ kind: 'ints', value: [1, 0] });
    const bias = gr.initializers.find((t) => t.name === 'const_1');
    expect(bias?.dims).toEqual([4]);
    expect(Array.from(new Float32Array((bias?.raw as Uint8Array).slice().buffer))).toEqual([1, -2.5, 3, 4]);
    const shape = gr.initializers.find((t) => t.dataType === OnnxDataType.INT64);
    expect(Array.from(new BigInt64Array((shape?.raw as Uint8Array).slice().buffer))).toEqual([4n, 2n]);
    // value_info: every node output but the graph output, in node order, with its type and dims.
    const produced = gr.nodes.slice(0, -1).map((v) => v.outputs[0]);
    expect(gr.valueInfo.map((v) => v.name)).toEqual(produced);
    expect(gr.valueInfo.map((v) => [v.elemType, v.dims])).toEqual([
      [1, [4, 3]],
      [1, [2, 4]],
      [1, [4, 2]],
      [1, [4, 2]],
      [1, [2, 4]],
    ]);
  });

  it('reads string, floats and tensor attributes, negative ints and symbolic dims', () => {
    const bytes = encodeModel({
      graph: {
        name: 'attrs',
        nodes: [
          {
            opType: 'Custom',
            domain: 'com.example',
            inputs: ['x'],
            outputs: ['y'],
            attributes: {
              mode: { kind: 'string', value: 'nearest' },
              scales: { kind: 'floats', value: [0.5, 2] },
              axes: { kind: 'ints', value: [-1, 3] },
              value: {
                kind: 'tensor',
                value: { name: '', dataType: 7, dims: [1], data: BigInt64Array.from([-7n]) },
              },
            },
          },
        ],
        initializers: [],
        inputs: [{ name: 'x', elemType: 1, dims: ['batch', 3] }],
        outputs: [{ name: 'y', elemType: 1, dims: [] }],
      },
    });
    const g = readModel(bytes).graph;
    expect(g.inputs[0]?.dims).toEqual(['batch', 3]);
    expect(g.outputs[0]?.dims).toEqual([]);
    const a = g.nodes[0]?.attributes ?? {};
    expect(g.nodes[0]?.domain).toBe('com.example');
    expect(a.mode).toEqual({ kind: 'string', value: 'nearest' });
    expect(a.scales).toEqual({ kind: 'floats', value: [0.5, 2] });
    expect(a.axes).toEqual({ kind: 'ints', value: [-1, 3] });
    expect(a.value?.kind === 'tensor' && a.value.value.dims).toEqual([1]);
  });

  it('says what is wrong with bytes that are not a model', () => {
    expect(() => readModel(new Uint8Array([0x3a, 0x05, 0x01]))).toThrow(
      /not a readable ONNX model \(3 bytes\): field runs past the end of ModelProto/,
    );
    expect(() => readModel(Uint8Array.from([0x08, 0x08]))).toThrow(
      /not an ONNX model \(2 bytes\): it has no graph/,
    );
    expect(() => readModel(Uint8Array.from([0x0f]))).toThrow(/unsupported wire type 7/);
  });
});
