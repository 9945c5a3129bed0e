import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { verifyT5Fixture } from '../../../src-main/fixtures/t5-fixture';
import { GRAPH_TARGETS } from '../../../shared/engine/onnx/graph-target';

const DIR = join(__dirname, '../../fixtures/t5-tiny');
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Record<string, unknown>;

describe.each(GRAPH_TARGETS)('the t5-tiny golden fixture (%s graphs on ORT CPU)', (graphTarget) => {
  let host: NodeEngineHost;
  beforeAll(async () => {
    host = await createNodeEngineHost({ placement: 'inline', threads: 1, graphTarget });
  });
  afterAll(async () => {
    await host.close();
  });

  it('matches every golden tensor within the manifest tolerance', async () => {
    const report = await verifyT5Fixture(DIR, manifest, host);
    const failed = report.rows.filter((r) => !r.pass);
    for (const r of report.rows)
      console.log(`${r.pass ? 'ok  ' : 'FAIL'} ${r.name}: max |Δ| ${r.maxAbs.toExponential(2)}`);
    expect(failed.map((r) => `${r.name}: ${r.problem ?? r.maxAbs}`)).toEqual([]);
    expect(report.skipped).toEqual([]);
    const names = report.rows.map((r) => r.name);
    for (const want of [
      'ref.inputs_embeds',
      'ref.relative_position_bucket',
      'ref.position_bias',
      'ref.extended_attention_mask',
      'block.0.after_attn',
      'block.1.out',
      'out.last_hidden_state',
    ])
      expect(names.some((n) => n.includes(want))).toBe(true);
    expect(names.filter((n) => n.includes('text stage'))).toHaveLength(3);
  });
});
