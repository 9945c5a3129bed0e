import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { verifyVaeFixture } from '../../../src-main/fixtures/vae-fixture';
import { GRAPH_TARGETS } from '../../../shared/engine/onnx/graph-target';

const DIR = join(__dirname, '../../fixtures/vae-tiny');

describe.each(GRAPH_TARGETS)('vae-tiny fixture (%s graphs on ORT CPU)', (graphTarget) => {
  let host: NodeEngineHost;
  beforeAll(async () => {
    host = await createNodeEngineHost({ placement: 'inline', threads: 2, graphTarget });
  });
  afterAll(async () => {
    await host.close();
  });

  it('decodes every case within the manifest tolerance', async () => {
    const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const report = await verifyVaeFixture(DIR, manifest, host);
    for (const r of report.rows)
      console.log(
        `${r.name.padEnd(52)} ${r.maxAbs.toExponential(2)} ${r.pass ? 'ok' : `FAIL ${r.problem ?? ''}`}`,
      );
    for (const s of report.skipped) console.log(`skipped ${s.name}: ${s.why}`);
    const names = report.rows.map((r) => r.name);
    for (const must of ['video.z_denorm', 'video.x_z', 'video.x', 'image.x_z', 'image.x', 'spatial_only.x'])
      expect(names).toContain(must);
    expect(names.filter((n) => n.startsWith('video.temporal.chunk1.'))).toHaveLength(13);
    expect(report.rows.filter((r) => !r.pass)).toEqual([]);
  });
});
