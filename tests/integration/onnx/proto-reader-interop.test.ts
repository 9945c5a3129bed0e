/**
 * The ONNX reader on models it did not write: one made by python `onnx` (Debian's python3-onnx, typed data fields,
 * dim_params, several opsets, doc strings) and the optimized model onnxruntime-node writes for one of our graphs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../shared/engine/onnx/graph-builder';
import { readModel } from '../../../shared/engine/onnx/proto-reader';
import { ortOptimizedModel } from '../../../src-main/adapters/onnxruntime-backend';

const PY = '/usr/bin/python3';
const hasOnnx = spawnSync(PY, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'odsora-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAKE = `
import sys, onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 2])
bias = helper.make_tensor("bias", TensorProto.FLOAT, [2], [0.25, -1.5])
nodes = [
  helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
  helper.make_node("Add", ["r", "bias"], ["a"], name="add"),
  helper.make_node("LeakyRelu", ["a"], ["y"], name="act", alpha=0.125, doc_string="a doc"),
]
g = helper.make_graph(nodes, "py_graph", [x], [y], [shape, bias],
  value_info=[helper.make_tensor_value_info("r", TensorProto.FLOAT, [None, 2])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)], producer_name="python-onnx")
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
`;

describe.skipIf(!hasOnnx)('ONNX reader on a python onnx model', () => {
  it('reads its nodes, typed initializer data, dim_params and opsets', () => {
    const path = join(dir, 'py.onnx');
    execFileSync(PY, ['-c', MAKE, path]);
    const m = readModel(new Uint8Array(readFileSync(path)), { withData: true });
    expect(m.producerName).toBe('python-onnx');
    expect(m.opsets).toEqual({ '': 17, 'com.microsoft': 1 });
    const g = m.graph;
    expect(g.nodes.map((n) => [n.name, n.opType, n.inputs, n.outputs])).toEqual([
      ['reshape', 'Reshape', ['x', 'shape'], ['r']],
      ['add', 'Add', ['r', 'bias'], ['a']],
      ['act', 'LeakyRelu', ['a'], ['y']],
    ]);
    expect(g.nodes[2]?.attributes.alpha).toEqual({ kind: 'float', value: 0.125 });
    expect(g.inputs).toEqual([{ name: 'x', elemType: 1, dims: ['N', 4] }]);
    expect(g.valueInfo).toEqual([{ name: 'r', elemType: 1, dims: [null, 2] }]);
    const shape = g.initializers.find((t) => t.name === 'shape');
    expect(Array.from(new BigInt64Array((shape?.raw as Uint8Array).slice().buffer))).toEqual([-1n, 2n]);
    const bias = g.initializers.find((t) => t.name === 'bias');
    expect(Array.from(new Float32Array((bias?.raw as Uint8Array).slice().buffer))).toEqual([0.25, -1.5]);
  });
});

describe('ONNX reader on the optimized model ONNX Runtime writes', () => {
  it('reads the graph ORT executes: MatMul + Add fused into Gemm at the basic level', async () => {
    const g = new GraphBuilder('fusable');
    const x = g.input('x', [8, 16]);
    const w = g.constF(new Float32Array(16 * 4).fill(0.5), [16, 4]);
    const b = g.constF([1, 2, 3, 4]);
    g.output(g.add(g.matmul(x, w), b), 'y', [8, 4]);
    const plain = readModel(g.build()).graph;
    expect(plain.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Identity']);
    const optimized = readModel(await ortOptimizedModel(g.build(), 'basic'));
    expect(optimized.graph.nodes.map((n) => n.opType)).toContain('Gemm');
    expect(optimized.graph.nodes.map((n) => n.opType)).not.toContain('MatMul');
    expect(optimized.graph.outputs).toEqual([{ name: 'y', elemType: 1, dims: [8, 4] }]);
  });
});
