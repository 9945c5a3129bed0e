import { describe, expect, it } from 'vitest';
import { checkCoreml } from '../../../../../../shared/engine/onnx/coreml/check';
import { GraphBuilder, int, ints } from '../../../../../../shared/engine/onnx/graph-builder';

describe('Core ML checker (ML Program, static shapes)', () => {
  it('refuses a Gemm on a weight input but takes MatMul on one, and counts their FLOPs', () => {
    const g = new GraphBuilder('linear');
    const x = g.input('x', [8, 16]);
    const w = g.input('w', [4, 16]);
    const wt = g.input('wt', [16, 4]);
    g.output(g.gemm(x, w), 'a', [8, 4]);
    g.output(g.matmul(x, wt), 'b', [8, 4]);
    const r = checkCoreml(g.build());
    expect(r.refused.map((n) => [n.opType, n.reasons.map((x) => x.kind)])).toEqual([
      ['Gemm', ['not-constant']],
    ]);
    expect(r.refused[0]?.reasons[0]?.message).toBe("Gemm B 'w' must be a constant initializer");
    expect(r.refused[0]?.reasons[0]?.source).toMatch(/gemm_op_builder\.cc/);
    // Gemm 2·8·4·16 = 1024, MatMul 1024, two Identity copies 32 each.
    expect(r.totalFlops).toBe(1024 + 1024 + 64);
    expect(r.coremlFlops).toBe(1024 + 64);
    expect(r.fullyPlaceable).toBe(false);
  });

  it('refuses Conv3d, a Conv bias input, Expand and a dim over 16384; takes a Conv2d weight input', () => {
    const g = new GraphBuilder('convs');
    const x3 = g.input('x3', [1, 2, 3, 4, 4]);
    const w3 = g.input('w3', [2, 2, 1, 1, 1]);
    g.output(g.node('Conv', [x3, w3], { kernel_shape: ints([1, 1, 1]) }), 'c3', [1, 2, 3, 4, 4]);
    const x2 = g.input('x2', [1, 2, 4, 4]);
    const w2 = g.input('w2', [2, 2, 3, 3]);
    const b2 = g.input('b2', [2]);
    g.output(
      g.node('Conv', [x2, w2], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }),
      'c2',
      [1, 2, 4, 4],
    );
    g.output(
      g.node('Conv', [x2, w2, b2], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }),
      'c2b',
      [1, 2, 4, 4],
    );
    g.output(g.node('Expand', [x2, g.constI64([2, 2, 4, 4])]), 'e', [2, 2, 4, 4]);
    const big = g.input('big', [1, 20000]);
    g.output(g.node('Sigmoid', [big]), 's', [1, 20000]);
    const r = checkCoreml(g.build());
    expect(r.refused.map((n) => [n.opType, n.reasons.map((x) => x.kind)])).toEqual([
      ['Conv', ['conv-not-1d-2d']],
      ['Conv', ['not-constant']],
      ['Expand', ['op-not-in-ml-program']],
      ['Sigmoid', ['dim-over-16384']],
      ['Identity', ['dim-over-16384']],
    ]);
    expect(r.refusedByKind).toEqual({
      'conv-not-1d-2d': 1,
      'not-constant': 1,
      'op-not-in-ml-program': 1,
      'dim-over-16384': 2,
    });
  });

  it('refuses a rank-6 reshape and the op reading it, and counts the partitions ORT would make', () => {
    const g = new GraphBuilder('chain');
    const x = g.input('x', [2, 3, 4]);
    const a = g.node('Sigmoid', [x]);
    const six = g.reshape(a, [1, 2, 1, 3, 1, 4]); // refused: rank 6
    const back = g.reshape(six, [2, 3, 4]); // refused: input rank 6
    const b = g.node('Sigmoid', [back]);
    // An independent branch with an unsupported op does not split the group.
    const side = g.node('Pad', [x, g.constI64([0, 0, 0, 0, 0, 1])]);
    g.output(b, 'y', [2, 3, 4]);
    g.output(side, 'p', [2, 3, 5]);
    const r = checkCoreml(g.build());
    expect(r.refused.map((n) => n.reasons[0]?.kind)).toEqual([
      'rank-over-5',
      'rank-over-5',
      'op-not-in-ml-program',
    ]);
    // Sigmoid → [CPU reshapes] → Sigmoid, Identity: two Core ML partitions.
    expect(r.partitions).toBe(2);
  });

  it('passes a graph Core ML takes whole: one partition, every FLOP on Core ML', () => {
    const g = new GraphBuilder('ok');
    const x = g.input('x', [2, 8]);
    const w = g.input('w', [8, 8]);
    const h = g.layerNorm(g.matmul(x, w), 8, 1e-6);
    g.output(g.softmax(g.mul(h, g.node('Sigmoid', [h]))), 'y', [2, 8]);
    const r = checkCoreml(g.build());
    expect(r.refused).toEqual([]);
    expect(r.partitions).toBe(1);
    expect(r.coremlShare).toBe(1);
    expect(r.fullyPlaceable).toBe(true);
    expect(int(1)).toEqual({ kind: 'int', value: 1 });
  });
});
