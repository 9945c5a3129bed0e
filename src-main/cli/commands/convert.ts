/**
 * `odsora convert`: a model directory (the released Open-Sora v1.2 checkpoints as downloaded, or the nano model) —
 * or one STDiT3 checkpoint — into a block set (one file per CI-DL block + manifest), at the precision asked per
 * stage, with progress (bytes, ETA) on stderr.
 */
import { formatBytes } from '../../../shared/format';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { convertStdit3 } from '../../../shared/engine/stdit3/convert';
import type { ConvertProgress } from '../../../shared/engine/stdit3/convert';
import { BlockBufferPool } from '../../../shared/engine/blockset/buffer-pool';
import { parsePrecision, type Precision } from '../../../shared/engine/blockset/precision';
import { NodeFileSystem, nodeSha256InPlace } from '../../adapters/node-fs';
import { forceGc, peakRssBytes } from '../../adapters/node-memory-probe';
import { convertModelDir, type StageName } from '../../convert/model-dir';
import { ByteProgress } from '../progress';
import { examples } from '../help';

interface ConvertFlags {
  checkpoint?: string;
  config?: string;
  modelDir?: string;
  out: string;
  name?: string;
  ignoreKey?: string[];
  precision?: Partial<Record<StageName, Precision>>;
  json?: boolean;
}

/**
 * The model config inside a config file: a Hugging Face / Open-Sora config.json as is, or the `config.model`
 * object of a fixture manifest (tests/fixtures/opensora-tiny/manifest.json).
 */
function modelConfigFromFile(json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json;
  const o = json as Record<string, unknown>;
  if ('depth' in o) return o;
  const nested = (o['config'] as Record<string, unknown> | undefined)?.['model'] ?? o['model'];
  return typeof nested === 'object' && nested !== null && 'depth' in nested ? nested : o;
}

/** Stage names `--precision` accepts, with the model-family aliases. */
const STAGE_ALIASES: Readonly<Record<string, StageName>> = {
  t5: 'text',
  text: 'text',
  stdit: 'denoiser',
  denoiser: 'denoiser',
  vae: 'decode',
  decode: 'decode',
};

/**
 * `--precision`: `f16` (every stage), or `t5=int8,stdit=f16,vae=f32` per stage (t5|text, stdit|denoiser,
 * vae|decode; unnamed stages stay f32).
 */
export function parsePrecisionFlag(text: string): Partial<Record<StageName, Precision>> {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new InvalidArgumentError(`--precision is empty`);
  const out: Partial<Record<StageName, Precision>> = {};
  const parse = (v: string): Precision => {
    try {
      return parsePrecision(v);
    } catch (e) {
      throw new InvalidArgumentError(`--precision: ${(e as Error).message}`);
    }
  };
  if (parts.length === 1 && !parts[0]!.includes('=')) {
    const p = parse(parts[0]!);
    return { text: p, denoiser: p, decode: p };
  }
  for (const part of parts) {
    const [k, v, extra] = part.split('=').map((s) => s.trim());
    const stage = STAGE_ALIASES[(k ?? '').toLowerCase()];
    if (v === undefined || extra !== undefined || stage === undefined)
      throw new InvalidArgumentError(
        `--precision: '${part}' is not <stage>=<precision> (stages t5|text, stdit|denoiser, vae|decode)`,
      );
    out[stage] = parse(v);
  }
  return out;
}

/** Registers `odsora convert` on the program. */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      'Convert a model directory (stdit/, text_encoder/, vae/: the released Open-Sora v1.2 checkpoints as downloaded ' +
        'from Hugging Face, or the nano model) into a block set: one safetensors file per CI-DL block with SHA-256 ' +
        'hashes and a manifest.json. Reads safetensors and PyTorch .bin (sharded with an index, or single; F32, F16, ' +
        'BF16), streams tensor by tensor through one reused block buffer, and only renames the result into place ' +
        'when every stage converted.',
    )
    .option(
      '--model-dir <dir>',
      'a model directory with stdit/, text_encoder/ (T5 + tokenizer.json or spiece.model) and vae/: converts every stage found',
    )
    .option('--checkpoint <model.safetensors>', 'an STDiT3 checkpoint alone (with --config)')
    .option(
      '--config <config.json>',
      'the model config (config.json, or a fixture manifest with config.model)',
    )
    .requiredOption('--out <dir>', 'the block-set directory to create (must not exist)')
    .option(
      '--precision <spec>',
      'weight storage per stage: f32 (default), f16 or int8 (weight-only, per output channel), e.g. t5=int8,stdit=f16,vae=f32 or one value for all (docs/precision.md)',
      parsePrecisionFlag,
    )
    .option('--name <name>', "model name in the manifest (default: the model directory's name)")
    .option('--ignore-key <key...>', 'checkpoint keys to skip instead of rejecting (with --checkpoint)')
    .option('--json', 'print the result as one JSON object on stdout instead of progress lines')
    .addHelpText(
      'after',
      examples([
        {
          what: 'the three Hugging Face repos side by side in model/ → one block set, T5 stored as int8',
          args: 'convert --model-dir model --out ~/blocksets/opensora-v1.2 --precision t5=int8',
        },
        {
          what: 'an STDiT3 checkpoint alone, with its config',
          args: 'convert --checkpoint stdit/model.safetensors --config stdit/config.json --out set',
        },
      ]),
    )
    .action(async (flags: ConvertFlags) => {
      const outDir = resolve(flags.out);
      const started = performance.now();
      const progress = new ByteProgress((line) => void (flags.json || console.error(line)));
      if (flags.modelDir) {
        const r = await convertModelDir({
          fs: new NodeFileSystem(),
          sha256: nodeSha256InPlace,
          modelDir: resolve(flags.modelDir),
          outDir,
          name: flags.name,
          precision: flags.precision,
          reclaim: forceGc() ?? undefined,
          log: (line) => void (flags.json || console.error(line)),
          onProgress: (p) => progress.update(p.bytesDone, p.bytesTotal, `${p.stage}/${p.block}`),
        });
        const seconds = (performance.now() - started) / 1000;
        if (!flags.json) progress.finish(r.bytes);
        if (flags.json) console.log(JSON.stringify({ ...r, seconds, peakRssBytes: peakRssBytes() }));
        else
          console.log(
            `wrote ${JSON.stringify(r.stages)} blocks (${JSON.stringify(r.precision)}), ${formatBytes(r.bytes, 'MiB')}, to ${r.outDir} in ${seconds.toFixed(1)} s`,
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
      const onProgress = (p: ConvertProgress): void => {
        if (flags.json) return;
        if (p.type === 'validated')
          console.error(`checkpoint OK: ${p.tensors} tensors in ${p.blocks} blocks`);
        else if (p.type === 'block.done')
          console.error(
            `[${p.index + 1}/${p.total}] ${p.block.padEnd(8)} ${formatBytes(p.bytes, 'MiB').padStart(10)}  ${p.sha256.slice(0, 12)}`,
          );
      };
      const result = await convertStdit3({
        fs: new NodeFileSystem(),
        sha256: nodeSha256InPlace,
        checkpoint: { files: [checkpointPath] },
        config: modelConfigFromFile(configJson),
        outDir,
        modelName: flags.name ?? basename(dirname(checkpointPath)),
        ignoreKeys: flags.ignoreKey ?? [],
        precision: flags.precision?.denoiser,
        memory: new BlockBufferPool(forceGc() ?? undefined),
        onProgress,
      });
      const seconds = (performance.now() - started) / 1000;
      const blocks = result.manifest.stages.denoiser?.blocks.length ?? 0;
      if (flags.json) {
        console.log(JSON.stringify({ outDir: result.outDir, blocks, bytes: result.bytes, seconds }));
      } else {
        console.log(
          `wrote ${blocks} blocks, ${formatBytes(result.bytes, 'MiB')}, to ${result.outDir} in ${seconds.toFixed(1)} s`,
        );
      }
    });
}
