/** Builds a converted block set of a random-weight STDiT3 in a temp directory, for pipeline tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertStdit3 } from '../../shared/engine/stdit3/convert';
import { openBlockSet, type BlockSet } from '../../shared/engine/blockset/load';
import type { FileSystemPort, Sha256 } from '../../shared/engine/ports';
import { writeSyntheticStdit3 } from '../../src-main/synth/synth-checkpoint';

/** A small but multi-block STDiT3 config (snake_case, as in config.json). */
export const SMALL_CONFIG = {
  depth: 12,
  hidden_size: 64,
  num_heads: 4,
  caption_channels: 32,
  model_max_length: 8,
  patch_size: [1, 2, 2],
  in_channels: 4,
  mlp_ratio: 4,
  qk_norm: true,
  pred_sigma: true,
  input_sq_size: 512,
};

/** Writes, converts and opens a synthetic block set; `cleanup` removes it. */
export async function syntheticBlockSet(
  fs: FileSystemPort,
  sha256: Sha256,
  config: Record<string, unknown> = SMALL_CONFIG,
): Promise<{ blockSet: BlockSet; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'odsora-test-bs-'));
  await writeSyntheticStdit3(fs, join(dir, 'model.safetensors'), config, 3);
  await convertStdit3({
    fs,
    sha256,
    checkpoint: { files: [join(dir, 'model.safetensors')] },
    config,
    outDir: join(dir, 'blockset'),
    modelName: 'synthetic',
  });
  const blockSet = await openBlockSet(fs, sha256, join(dir, 'blockset'));
  return { blockSet, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
