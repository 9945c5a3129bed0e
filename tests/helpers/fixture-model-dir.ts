/**
 * A model directory (`stdit/`, `text_encoder/`, `vae/`: the layout `convertModelDir` and the bundled model use)
 * assembled from the golden fixtures — tiny replicas with the real key layouts: opensora-tiny's STDiT3 (caption
 * channels 32, model_max_length 8), t5-tiny's encoder (d_model 32, vocab 128) with the t5-tiny Unigram tokenizer
 * (23 pieces, ids within the vocabulary) as `tokenizer.json`, and vae-tiny's VAE (temporal VAE, 8× spatial).
 *
 * `stdit/config.json` carries a `sampling` object like the Open-Sora Nano export's (`FIXTURE_SAMPLING`), so
 * generation defaults are small: 17 frames (5 latents) of 64×64 px (8×8 latents). The weights are random-ish: the
 * videos are noise, but every stage runs the real code paths.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fixtures = join(__dirname, '..', 'fixtures');

/** The `sampling` object written into the fixture model's `stdit/config.json`. */
export const FIXTURE_SAMPLING = {
  scheduler: 'rflow',
  num_sampling_steps: 4,
  cfg_scale: 7.0,
  num_timesteps: 1000,
  use_discrete_timesteps: true,
  use_timestep_transform: true,
  fps: 24,
  num_frames: 17,
  height: 64,
  width: 64,
} as const;

/** Options of {@link fixtureModelDir}. */
export interface FixtureModelDirOptions {
  /** Write `text_encoder/tokenizer.json` (default true). */
  tokenizer?: boolean;
  /** The `sampling` object of `stdit/config.json` (default FIXTURE_SAMPLING; null leaves it out). */
  sampling?: Record<string, unknown> | null;
}

/** Creates the model directory in a new temp directory and returns its path (the caller removes it). */
export function fixtureModelDir(opts: FixtureModelDirOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'odsora-modeldir-'));
  const manifest = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(fixtures, name, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  mkdirSync(join(dir, 'stdit'));
  const stditCfg = {
    ...((manifest('opensora-tiny')['config'] as Record<string, unknown>)['model'] as Record<string, unknown>),
  };
  const sampling = opts.sampling === undefined ? FIXTURE_SAMPLING : opts.sampling;
  if (sampling !== null) stditCfg['sampling'] = sampling;
  writeFileSync(join(dir, 'stdit', 'config.json'), JSON.stringify(stditCfg));
  cpSync(join(fixtures, 'opensora-tiny', 'weights.safetensors'), join(dir, 'stdit', 'model.safetensors'));
  mkdirSync(join(dir, 'text_encoder'));
  cpSync(join(fixtures, 't5-tiny', 'config.json'), join(dir, 'text_encoder', 'config.json'));
  cpSync(join(fixtures, 't5-tiny', 'weights.safetensors'), join(dir, 'text_encoder', 'model.safetensors'));
  if (opts.tokenizer ?? true)
    cpSync(join(fixtures, 'tokenizers', 't5-tiny-unigram.json'), join(dir, 'text_encoder', 'tokenizer.json'));
  mkdirSync(join(dir, 'vae'));
  writeFileSync(join(dir, 'vae', 'config.json'), JSON.stringify(manifest('vae-tiny')['config']));
  cpSync(join(fixtures, 'vae-tiny', 'weights.safetensors'), join(dir, 'vae', 'model.safetensors'));
  return dir;
}
