import { describe, expect, it } from 'vitest';
import { BlockSetError } from '../../../../../shared/engine/blockset/errors';
import { estimateStdit3Flops, parseManifest } from '../../../../../shared/engine/blockset/manifest';
import { stdit3ConfigFromJson } from '../../../../../shared/engine/stdit3/config';

const SRC = 'sets/tiny/manifest.json';
const reference = { frames: 4, height: 8, width: 8, captionLength: 8 };

function manifest(): Record<string, unknown> {
  const block = (id: string, variants: string[]) => ({
    id,
    file: `denoiser/${id}.safetensors`,
    bytes: 1024,
    sha256: 'a'.repeat(64),
    tensors: [`${id}.w`],
    variants,
    flops: { reference, plain: 10, ...(variants.includes('tdtm') ? { tdtm: 6 } : {}) },
  });
  return {
    format: 'odsora-blockset',
    version: 1,
    createdBy: 'odsora 0.1.0',
    model: { family: 'opensora-v1.2', name: 'tiny' },
    stages: {
      denoiser: {
        arch: 'stdit3',
        config: { depth: 1 },
        blocks: [block('part1', ['plain']), block('pair.0', ['plain', 'tdtm']), block('part2', ['plain'])],
      },
    },
  };
}

function errorOf(json: unknown): BlockSetError {
  try {
    parseManifest(json, SRC);
  } catch (e) {
    expect(e).toBeInstanceOf(BlockSetError);
    return e as BlockSetError;
  }
  throw new Error('expected a BlockSetError');
}

describe('block-set manifest', () => {
  it('accepts a valid manifest and tolerates stages added by later builds', () => {
    const m = manifest();
    (m['stages'] as Record<string, unknown>)['decode'] = { arch: 'opensora-vae', blocks: [] };
    const parsed = parseManifest(m, SRC);
    expect(parsed.stages.denoiser?.blocks.map((b) => b.id)).toEqual(['part1', 'pair.0', 'part2']);
  });

  it('names the version found and the version supported', () => {
    expect(errorOf({ ...manifest(), version: 99 }).message).toBe(
      `${SRC}: block-set version 99 is not supported (this build reads version 1); convert the checkpoint again with this build`,
    );
    expect(errorOf({ ...manifest(), format: 'other' }).message).toContain('not a block-set manifest');
  });

  it('names the file and the bad field', () => {
    const m = manifest();
    const blocks = (m['stages'] as { denoiser: { blocks: Array<Record<string, unknown>> } }).denoiser.blocks;
    blocks[1]!['sha256'] = 'XYZ';
    blocks[2]!['file'] = '../../etc/passwd';
    const e = errorOf(m);
    expect(e.message).toMatch(/^sets\/tiny\/manifest\.json: invalid manifest: /);
    expect(e.message).toContain('stages.denoiser.blocks[1].sha256: must be 64 lowercase hex digits');
    expect(e.message).toContain('stages.denoiser.blocks[2].file: must stay inside the block set');
  });

  it('rejects duplicate block ids', () => {
    const m = manifest();
    const blocks = (m['stages'] as { denoiser: { blocks: Array<Record<string, unknown>> } }).denoiser.blocks;
    blocks[2]!['id'] = 'pair.0';
    expect(errorOf(m).message).toContain('block id "pair.0" appears twice');
  });
});

describe('STDiT3 FLOP estimate', () => {
  const cfg = stdit3ConfigFromJson({
    depth: 1,
    hidden_size: 8,
    num_heads: 2,
    patch_size: [1, 2, 2],
    in_channels: 4,
    caption_channels: 16,
    model_max_length: 8,
    qk_norm: true,
    pred_sigma: true,
    mlp_ratio: 4,
    input_sq_size: 512,
  });

  it('follows the documented formula for a pair, part1 and part2', () => {
    // T = 4, S = 4·4 = 16, N = 64, C = 8, F = 32, L = 8.
    const [T, S, N, C, F, L] = [4, 16, 64, 8, 32, 8];
    const mixing = (n: number, selfAttn: number) =>
      2 * n * C * 3 * C + selfAttn + 3 * 2 * n * C * C + 2 * L * C * 2 * C + 4 * n * L * C;
    const plain = estimateStdit3Flops(cfg, reference, 'plain');
    expect(plain.pair).toBe(mixing(N, 4 * T * S * S * C) + mixing(N, 4 * S * T * T * C) + 2 * 4 * N * C * F);
    expect(plain.part1).toBe(
      2 * N * C * 16 + 4 * (256 * C + C * C) + 2 * C * 6 * C + 2 * L * (16 * C + C * C),
    );
    expect(plain.part2).toBe(2 * N * C * 32);
    const tdtm = estimateStdit3Flops(cfg, reference, 'tdtm');
    const Nm = 2 * S;
    expect(tdtm.pair).toBe(mixing(Nm, 4 * 2 * S * S * C) + mixing(Nm, 4 * S * 2 * 2 * C) + 2 * 4 * N * C * F);
    expect(tdtm.pair).toBeLessThan(plain.pair);
  });
});
