import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openBlockSet } from '../../../shared/engine/blockset/load';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { convertModelDir } from '../../../src-main/convert/model-dir';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The fixture model directory (tests/helpers/fixture-model-dir.ts), removed after the tests. */
function modelDir(): string {
  const dir = fixtureModelDir();
  temps.push(dir);
  return dir;
}

describe('odsora convert --model-dir', () => {
  const fs = new NodeFileSystem();

  it('converts the denoiser, text and decode stages into one block set that opens and verifies', async () => {
    const src = modelDir();
    const out = join(src, 'blockset');
    const r = await convertModelDir({ fs, sha256: nodeSha256, modelDir: src, outDir: out });
    expect(r.stages).toEqual({ denoiser: 4, text: 4, decode: r.stages.decode });
    expect(r.stages.decode).toBeGreaterThan(0);
    const set = await openBlockSet(fs, nodeSha256, out);
    const { stages } = set.manifest;
    expect(Object.keys(stages).sort()).toEqual(['decode', 'denoiser', 'text']);
    for (const b of [stages.denoiser, stages.text, stages.decode].flatMap((s) => s?.blocks ?? [])) {
      const loaded = await set.loadBlock(b, { verify: true });
      expect(loaded.weights.size).toBeGreaterThan(0);
    }
  });

  it('leaves nothing behind when a stage fails, and names the problem', async () => {
    const src = modelDir();
    writeFileSync(join(src, 'vae', 'config.json'), '{"spatial_vae": {"block_out_channels": "wide"}}');
    const out = join(src, 'blockset');
    await expect(convertModelDir({ fs, sha256: nodeSha256, modelDir: src, outDir: out })).rejects.toThrow(
      /block_out_channels/,
    );
    expect(await fs.exists(out)).toBe(false);
  });

  it('refuses a directory without stdit/', async () => {
    const src = mkdtempSync(join(tmpdir(), 'odsora-modeldir-'));
    temps.push(src);
    await expect(
      convertModelDir({ fs, sha256: nodeSha256, modelDir: src, outDir: join(src, 'out') }),
    ).rejects.toThrow(/stdit\/config.json: not found/);
  });
});
