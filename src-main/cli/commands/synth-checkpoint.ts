/**
 * `odsora synth-checkpoint`: writes a model directory with random weights in the released Open-Sora v1.2 layouts
 * (src-main/synth/), for conversion, generation and benchmarks at real sizes without downloading anything.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { resolve } from 'node:path';
import { formatBytes } from '../../../shared/format';
import { NodeFileSystem } from '../../adapters/node-fs';
import { peakRssBytes } from '../../adapters/node-memory-probe';
import { SYNTH_PRESETS, type SynthPreset } from '../../synth/presets';
import type { SynthDtype } from '../../synth/random-weights';
import { writeSyntheticModelDir } from '../../synth/synth-checkpoint';
import { posInt } from '../arg-parsers';
import { ByteProgress } from '../progress';
import { examples } from '../help';

interface SynthFlags {
  preset: SynthPreset;
  out: string;
  dtype: 'f32' | 'bf16' | 'f16';
  t5Format: 'bin' | 'safetensors';
  t5Shards: number;
  seed: number;
  json?: boolean;
}

const DTYPES: Readonly<Record<SynthFlags['dtype'], SynthDtype>> = { f32: 'F32', bf16: 'BF16', f16: 'F16' };

/** The warning every synthetic model comes with. */
const RANDOM_WEIGHTS_WARNING =
  'these are RANDOM weights: every layout, name and shape is real, but the videos they make are meaningless noise';

/** Registers `odsora synth-checkpoint`. */
export function registerSynthCheckpoint(program: Command): void {
  program
    .command('synth-checkpoint')
    .description(
      'Write a model directory with random weights in exactly the released Open-Sora v1.2 layouts (stdit/ and vae/ ' +
        'as model.safetensors, text_encoder/ as sharded PyTorch .bin or safetensors with an index and a SentencePiece ' +
        'spiece.model), streamed with bounded memory. For tests and benchmarks at real sizes; the videos are noise.',
    )
    .addOption(new Option('--preset <name>', 'model size').choices([...SYNTH_PRESETS]).makeOptionMandatory())
    .requiredOption('--out <dir>', 'the model directory to create (must not exist)')
    .addOption(
      new Option('--dtype <dtype>', 'dtype of the written weights')
        .choices(['f32', 'bf16', 'f16'])
        .default('bf16'),
    )
    .addOption(
      new Option('--t5-format <format>', 'how the T5 shards are written')
        .choices(['bin', 'safetensors'])
        .default('bin'),
    )
    .option('--t5-shards <n>', 'number of T5 shards (DeepFloyd/t5-v1_1-xxl has 2)', posInt('--t5-shards'), 2)
    .option('--seed <n>', 'seed of the random weights', posInt('--seed'), 1)
    .option('--json', 'print one JSON summary on stdout instead of progress lines')
    .addHelpText(
      'after',
      '\nPresets: opensora-v1.2 (the real 6.36 B numbers: 25 GB in f32, 12.7 GB in bf16), opensora-v1.2-depth2 and\n' +
        'opensora-v1.2-depth1 (real widths, 2 / 1 layers: for tests).',
    )
    .addHelpText(
      'after',
      examples([
        {
          what: 'the full-size Open-Sora v1.2 with random weights (bf16) where the benchmarks look for it',
          args: 'synth-checkpoint --preset opensora-v1.2 --out ~/.cache/odsora/synth/opensora-v1.2',
        },
        {
          what: 'a one-layer model with real widths in f32, T5 as safetensors (tests)',
          args: 'synth-checkpoint --preset opensora-v1.2-depth1 --dtype f32 --t5-format safetensors --out /tmp/d1',
        },
      ]),
    )
    .action(async (flags: SynthFlags) => {
      const out = resolve(flags.out);
      const say = (line: string): void => void (flags.json || console.error(line));
      say(`synth-checkpoint: ${RANDOM_WEIGHTS_WARNING}`);
      const progress = new ByteProgress(say);
      const started = performance.now();
      const r = await writeSyntheticModelDir({
        fs: new NodeFileSystem(),
        outDir: out,
        preset: flags.preset,
        dtype: DTYPES[flags.dtype],
        t5Format: flags.t5Format,
        t5Shards: flags.t5Shards,
        seed: flags.seed,
        onProgress: (p) => progress.update(p.bytesDone, p.bytesTotal, p.file),
      });
      const seconds = (performance.now() - started) / 1000;
      if (!flags.json) progress.finish(r.bytes);
      if (flags.json)
        console.log(
          JSON.stringify(
            { ...r, seconds, peakRssBytes: peakRssBytes(), warning: RANDOM_WEIGHTS_WARNING },
            null,
            2,
          ),
        );
      else
        console.log(
          `wrote ${flags.preset} (${(r.parameters.total / 1e9).toFixed(2)} B numbers, ${formatBytes(r.bytes, 'exact')}) to ${r.outDir} in ${seconds.toFixed(1)} s — ${RANDOM_WEIGHTS_WARNING}`,
        );
    });
}
