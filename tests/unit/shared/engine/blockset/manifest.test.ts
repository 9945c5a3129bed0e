import { describe, expect, it } from 'vitest';
import { BlockSetError } from '../../../../../shared/engine/blockset/errors';
import { manifestBlocks, parseManifest } from '../../../../../shared/engine/blockset/manifest';

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
    (m['stages'] as Record<string, unknown>)['upscale'] = { arch: 'some-later-stage', blocks: [] };
    const parsed = parseManifest(m, SRC);
    expect(parsed.stages.denoiser?.blocks.map((b) => b.id)).toEqual(['part1', 'pair.0', 'part2']);
    expect(parsed.stages['upscale']).toEqual({ arch: 'some-later-stage', blocks: [] });
  });

  it('validates the known text and decode stages with their schemas, naming the field', () => {
    const m = manifest();
    (m['stages'] as Record<string, unknown>)['text'] = {
      arch: 't5-encoder',
      config: {},
      tokenizer: null,
      blocks: [],
    };
    expect(errorOf(m).message).toContain('stages.text.blocks: ');
    (m['stages'] as Record<string, unknown>)['text'] = undefined;
    (m['stages'] as Record<string, unknown>)['decode'] = { arch: 'opensora-vae', config: {}, blocks: [] };
    expect(errorOf(m).message).toContain('stages.decode.arch: ');
  });

  it('walks the blocks of every stage: the denoiser first, then the others, unknown kinds as far as well-formed', () => {
    const m = manifest();
    const entry = (id: string, file: string) => ({
      id,
      file,
      bytes: 7,
      sha256: 'b'.repeat(64),
      tensors: ['w'],
      variants: ['plain'],
      flops: { reference, plain: 0 },
    });
    m['stages'] = {
      text: {
        arch: 't5-encoder',
        config: {},
        tokenizer: null,
        blocks: [entry('embed', 'text/embed.safetensors')],
      },
      upscale: {
        blocks: [
          { id: 'up.0', file: 'upscale/0.safetensors', bytes: 3 },
          { id: 'bad', bytes: 1 },
        ],
      },
      ...(m['stages'] as object),
    };
    const walked = [...manifestBlocks(parseManifest(m, SRC))].map(({ stage, block }) => [
      stage,
      block.id,
      block.file,
      block.bytes,
    ]);
    expect(walked).toEqual([
      ['denoiser', 'part1', 'denoiser/part1.safetensors', 1024],
      ['denoiser', 'pair.0', 'denoiser/pair.0.safetensors', 1024],
      ['denoiser', 'part2', 'denoiser/part2.safetensors', 1024],
      ['text', 'embed', 'text/embed.safetensors', 7],
      ['upscale', 'up.0', 'upscale/0.safetensors', 3],
    ]);
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
