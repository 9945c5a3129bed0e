/**
 * `odsora convert`: turns an Open-Sora STDiT3 checkpoint into a block set (one file per CI-DL block + manifest).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { convertStdit3 } from '../../../shared/engine/blockset/convert';
import type { ConvertProgress } from '../../../shared/engine/blockset/convert';
import { NodeFileSystem, nodeSha256 } from '../../adapters/node-fs';
import { convertModelDir } from '../../convert/model-dir';

interface ConvertFlags {
  checkpoint?: string;
  config?: string;
  modelDir?: string;
  out: string;
  name?: string;
  ignoreKey?: string[];
  json?: boolean;
}

/**
 * The model config inside a config file: a Hugging Face / Open-Sora config.json as is, or the `config.model`
 * object of a fixture manifest (tests/fixtures/opensora-tiny/manifest.json).
 */
export function modelConfigFromFile(json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json;
  const o = json as Record<string, unknown>;
  if ('depth' in o) return o;
  const nested = (o['config'] as Record<string, unknown> | undefined)?.['model'] ?? o['model'];
  return typeof nested === 'object' && nested !== null && 'depth' in nested ? nested : o;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Registers `odsora convert` on the program. */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      'Convert an Open-Sora v1.2 STDiT3 checkpoint (model.safetensors, F32/F16/BF16) into a block set: one float32 ' +
        'safetensors file per block (part1, pair-00.., part2) with SHA-256 hashes and a manifest.json. Streams ' +
        'tensor by tensor, so memory stays bounded by the largest block.',
    )
    .option('--checkpoint <model.safetensors>', 'the STDiT3 checkpoint (with --config)')
    .option(
      '--config <config.json>',
      'the model config (config.json, or a fixture manifest with config.model)',
    )
    .option(
      '--model-dir <dir>',
      'a model directory with stdit/, text_encoder/ (T5 + tokenizer.json) and vae/: converts every stage found',
    )
    .requiredOption('--out <dir>', 'the block-set directory to create (must not exist)')
    .option('--name <name>', "model name in the manifest (default: the checkpoint's folder name)")
    .option('--ignore-key <key...>', 'checkpoint keys to skip instead of rejecting')
    .option('--json', 'print the result as one JSON object on stdout instead of progress lines')
    .action(async (flags: ConvertFlags) => {
      const outDir = resolve(flags.out);
      if (flags.modelDir) {
        const started = performance.now();
        const r = await convertModelDir({
          fs: new NodeFileSystem(),
          sha256: nodeSha256,
          modelDir: resolve(flags.modelDir),
          outDir,
          name: flags.name,
          log: (line) => void (flags.json || console.error(line)),
        });
        const seconds = (performance.now() - started) / 1000;
        if (flags.json) console.log(JSON.stringify({ ...r, seconds }));
        else
          console.log(
            `wrote ${JSON.stringify(r.stages)} blocks, ${mib(r.bytes)}, to ${r.outDir} in ${seconds.toFixed(1)} s`,
          );
        return;
      }
      if (!flags.checkpoint || !flags.config)
        throw new Error('convert needs --model-dir DIR, or --checkpoint FILE with --config FILE');
      const checkpointPath = resolve(flags.checkpoint);
      let configJson: unknown;
      try {
        configJson = JSON.parse(await readFile(resolve(flags.config ?? ''), 'utf8'));
      } catch (e) {
        throw new Error(`${flags.config}: cannot read the config (${(e as Error).message})`);
      }
      const started = performance.now();
      const onProgress = (p: ConvertProgress): void => {
        if (flags.json) return;
        if (p.type === 'validated')
          console.error(`checkpoint OK: ${p.tensors} tensors in ${p.blocks} blocks`);
        else if (p.type === 'block.done')
          console.error(
            `[${p.index + 1}/${p.total}] ${p.block.padEnd(8)} ${mib(p.bytes).padStart(10)}  ${p.sha256.slice(0, 12)}`,
          );
      };
      const result = await convertStdit3({
        fs: new NodeFileSystem(),
        sha256: nodeSha256,
        checkpointPath,
        config: modelConfigFromFile(configJson),
        outDir,
        modelName: flags.name ?? basename(dirname(checkpointPath)),
        ignoreKeys: flags.ignoreKey ?? [],
        onProgress,
      });
      const seconds = (performance.now() - started) / 1000;
      const blocks = result.manifest.stages.denoiser?.blocks.length ?? 0;
      if (flags.json) {
        console.log(JSON.stringify({ outDir: result.outDir, blocks, bytes: result.bytes, seconds }));
      } else {
        console.log(
          `wrote ${blocks} blocks, ${mib(result.bytes)}, to ${result.outDir} in ${seconds.toFixed(1)} s`,
        );
      }
    });
}
