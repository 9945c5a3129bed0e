/**
 * What ONNX Runtime makes of the `coreml` graphs before the Core ML EP sees them (the `basic` level: ORT's Level-1
 * rewrites, which run before execution providers claim nodes). Its MatMulAddFusion turns the linear layers' MatMul +
 * Add back into Gemms on weight inputs, which Core ML refuses; with the session config the Node backend sets for
 * coreml graphs (`optimization.disable_specified_optimizers = MatMulAddFusion`) no Gemm appears and the checker
 * refuses nothing but values whose shapes ORT left out of the saved model (new nodes of its Reshape rewrites,
 * which it infers in memory).
 */
import { describe, expect, it } from 'vitest';
import { checkCoreml } from '../../../shared/engine/onnx/coreml/check';
import { readModel } from '../../../shared/engine/onnx/proto-reader';
import { ortOptimizedModel } from '../../../src-main/adapters/onnxruntime-backend';
import { everyGraphKind, nanoConfigs } from '../../helpers/graph-kinds';

const graphs = everyGraphKind(
  nanoConfigs(),
  { frames: 16, height: 8, width: 8, captionLength: 16 },
  'coreml',
).filter((g) => !g.name.endsWith('.probes'));
const opTypes = (model: Uint8Array): string[] => readModel(model).graph.nodes.map((n) => n.opType);

describe('ORT-optimized coreml graphs (basic level)', () => {
  it('without the session config: MatMulAddFusion writes Gemms on weight inputs, which Core ML refuses', async () => {
    const pair = graphs.find((g) => g.name === 'stdit3.pair');
    if (!pair) throw new Error('no pair graph');
    const optimized = await ortOptimizedModel(pair.bytes, 'basic');
    expect(opTypes(optimized)).toContain('Gemm');
    expect(checkCoreml(optimized).refused.some((n) => n.opType === 'Gemm')).toBe(true);
  });

  it('with it: no Gemm in any graph kind, and nothing refused but shapes ORT did not save', async () => {
    for (const g of graphs) {
      const optimized = await ortOptimizedModel(g.bytes, 'basic', { graphTarget: 'coreml' });
      expect(opTypes(optimized), g.name).not.toContain('Gemm');
      const kinds = new Set(checkCoreml(optimized).refused.flatMap((n) => n.reasons.map((r) => r.kind)));
      expect([...kinds], g.name).toEqual(kinds.size ? ['unknown-shape'] : []);
    }
  }, 120_000);
});
