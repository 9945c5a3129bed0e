/**
 * The `coreml` graph target (issue 17 part 2): every graph kind of the nano model and of the depth-cut full-size
 * preset, built for Core ML, is taken whole by the Core ML checker (no refused node, one partition), where the `cpu`
 * graphs are not; int8 weights are refused when the graph is built, naming the fix.
 */
import { describe, expect, it } from 'vitest';
import { checkCoreml } from '../../../../../shared/engine/onnx/coreml/check';
import { parseGraphTarget } from '../../../../../shared/engine/onnx/graph-target';
import { buildPairGraph } from '../../../../../shared/engine/stdit3/block-graph';
import { buildT5BlockGraph } from '../../../../../shared/engine/t5/graphs';
import { buildVaeBlockGraph } from '../../../../../shared/engine/vae/graphs';
import { depth1Configs, everyGraphKind, nanoConfigs } from '../../../../helpers/graph-kinds';

const NANO_SHAPE = { frames: 16, height: 8, width: 8, captionLength: 16 };
const DEPTH1_SHAPE = { frames: 5, height: 9, width: 11, captionLength: 8 };

describe('coreml graph target', () => {
  for (const [model, configs, shape] of [
    ['nano', nanoConfigs(), NANO_SHAPE],
    ['opensora-v1.2-depth1', depth1Configs(), DEPTH1_SHAPE],
  ] as const)
    it(`${model}: every T5, STDiT3 and VAE graph is one Core ML partition with no refused node`, () => {
      const graphs = everyGraphKind(configs, shape, 'coreml');
      expect(graphs.length).toBeGreaterThan(20);
      const table = graphs.map((g) => {
        const r = checkCoreml(g.bytes);
        return { name: g.name, refused: r.refusedByKind, partitions: r.partitions, share: r.coremlShare };
      });
      expect(
        table.filter((r) => Object.keys(r.refused).length > 0 || r.partitions !== 1 || r.share !== 1),
      ).toEqual([]);
      // The same kinds built for the CPU are refused in part (Gemm on weight inputs, Gather, Pad, rank-8 reshapes).
      const cpu = everyGraphKind(configs, shape, 'cpu').filter((g) => !g.name.endsWith('int8'));
      expect(cpu.filter((g) => checkCoreml(g.bytes).fullyPlaceable).map((g) => g.name)).toEqual(['t5.final']);
    });

  it('refuses int8 weights when the graph is built, and says what to do', () => {
    const m = depth1Configs(); // full widths: the nano model's matrices are too small to be stored in int8
    const shape = { batch: 2, ...DEPTH1_SHAPE };
    expect(() => buildPairGraph(m.stdit3, shape, true, { precision: 'int8', target: 'coreml' })).toThrow(
      /stored as int8, which the coreml graph target does not take .*convert the block set to f16 or f32/,
    );
    expect(() => buildT5BlockGraph(m.t5, { batch: 1, length: 8 }, 'int8', 'coreml')).toThrow(/int8/);
    expect(() =>
      buildVaeBlockGraph(
        m.vae,
        'spatial.out',
        { batch: 1, frames: 1, height: 8, width: 8 },
        {
          precision: 'int8',
          target: 'coreml',
        },
      ),
    ).toThrow(/int8/);
  });

  it('parses target names and rejects others', () => {
    expect(parseGraphTarget('coreml')).toBe('coreml');
    expect(() => parseGraphTarget('ane')).toThrow("unknown graph target 'ane' (expected cpu or coreml)");
  });
});
