/**
 * `odsora generate`: text → video with the whole pipeline (shared/engine/pipeline/generate.ts) on the bundled
 * Open-Sora Nano (or `--model DIR`), writing PNG frames, an APNG, a GIF and a studio run folder's run.json and
 * events.jsonl (generate-record.ts).
 */
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from '../../../shared/engine/execution-provider';
import { randomInt } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { parseByteSize, type BudgetSpec, type RequestBudgetSpec } from '../../../shared/engine/cidl/budget';
import {
  GenerateCaches,
  GenerateParamsError,
  generateVideo,
  resolveGenerateParams,
  type GenerateParams,
  type PromptStyle,
} from '../../../shared/engine/pipeline/generate';
import { lplStepOfLeapStep } from '../../../shared/engine/techniques/knobs';
import {
  TechniqueFlagError,
  techniqueFlagOf,
  techniqueFlags,
  techniqueSettings,
  type TechniqueFlag,
  type TechniqueSettings,
} from '../../../shared/engine/techniques/cli';
import { describeLpl } from '../../../shared/engine/techniques/summary';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { promptVocabulary, unknownWordsWarning } from '../../../shared/engine/t5/prompt-vocabulary';
import { createNodeEngineHost } from '../../engine-host/node-engine';
import { ensureBundledBlockSet, openModel, type ModelBlockSet } from '../../models/bundled';
import { writeEventLog, writeRunFile } from '../../studio/services/run-folder';
import { writeVideoFiles } from '../../output/video-files';
import { finite, nonNegInt, posInt } from '../arg-parsers';
import { examples } from '../help';
import { generateRunFolder } from './generate-record';

/**
 * The technique flags, from the registry (shared/engine/techniques/cli.ts): one commander option each, its parser's
 * errors as commander argument errors, and the flag behind each option's attribute name.
 */
function techniqueOptions(): [Option, TechniqueFlag][] {
  return techniqueFlags().map((flag) => {
    const option = new Option(flag.flags, flag.help);
    const parse = flag.parse;
    if (parse !== undefined)
      option.argParser((text: string) => {
        try {
          return parse(text);
        } catch (e) {
          if (e instanceof TechniqueFlagError) throw new InvalidArgumentError(e.message);
          throw e;
        }
      });
    return [option, flag];
  });
}

function parseMemoryLimitFlag(text: string): number {
  try {
    return parseByteSize(text, '--memory-limit');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function parseAesthetic(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'none' || t === 'null') return null;
  const n = Number(t);
  if (t === '' || !Number.isFinite(n))
    throw new InvalidArgumentError(`--aesthetic-score must be a number or 'none', got '${text}'`);
  return n;
}

interface GenerateFlags {
  prompt: string;
  /** Absent: a random seed, printed and recorded. */
  seed?: number;
  out: string;
  steps?: number;
  cfg?: number;
  frames?: number;
  height?: number;
  width?: number;
  fps?: number;
  memoryLimit?: number;
  promptStyle?: PromptStyle;
  aestheticScore?: number | null;
  model?: string;
  threads?: number;
  ep?: ExecutionProviderName;
  ortWorker?: boolean;
  json?: boolean;
  /** The technique flags' values, by their options' attribute names (see {@link techniqueOptions}). */
  [technique: string]: unknown;
}

/** Registers `odsora generate`. */
export function registerGenerate(program: Command): void {
  const techniques = techniqueOptions();
  const command = program
    .command('generate')
    .description(
      'Generate a video from a prompt with the whole pipeline (T5 → STDiT3 with LPL/TDTM/CI-DL → VAE); writes frames/NNNN.png, video.png (APNG), video.gif and run.json into --out',
    )
    .requiredOption('--prompt <text>', 'the prompt')
    .option(
      '--seed <n>',
      'noise seed (integer ≥ 0; default: a random one, printed and recorded in run.json)',
      nonNegInt('--seed'),
    )
    .requiredOption('--out <dir>', 'output directory (created; files in it are overwritten)')
    .option('--steps <n>', "sampling steps (default: the model's, else 30)", posInt('--steps'))
    .option('--cfg <scale>', "classifier-free guidance scale (default: the model's, else 7)", finite('--cfg'))
    .option('--frames <n>', "pixel frames (default: the model's)", posInt('--frames'))
    .option('--height <px>', "pixel height (default: the model's)", posInt('--height'))
    .option('--width <px>', "pixel width (default: the model's)", posInt('--width'))
    .option('--fps <n>', "fps conditioning and playback (default: the model's)", finite('--fps', true));
  for (const [option] of techniques) command.addOption(option);
  command
    .option(
      '--memory-limit <size>',
      'a whole-process memory limit, e.g. 3.3GB (an iPhone 15 Pro app): each stage gets what is left after the process and its working memory, and a job that cannot fit is refused up front (docs/memory.md)',
      parseMemoryLimitFlag,
    )
    .addOption(
      new Option('--prompt-style <style>', "prompt preparation (default: the model's, else python)").choices([
        'python',
        'app',
        'none',
      ]),
    )
    .option('--aesthetic-score <v>', "aesthetic-score suffix value, or 'none'", parseAesthetic)
    .option(
      '--model <dir>',
      'a model directory (stdit/, text_encoder/, vae/) or a converted block set (default: the bundled Open-Sora Nano)',
    )
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)', posInt('--threads'))
    .addOption(
      new Option(
        '--ep <provider>',
        'ONNX Runtime execution provider: cpu, coreml (macOS), cuda (Linux x64, CUDA provider installed); a missing one is an error saying how to get it',
      )
        .choices([...EXECUTION_PROVIDERS])
        .default('cpu'),
    )
    .option('--ort-worker', 'run ONNX Runtime in a worker thread')
    .option('--json', 'no progress; print one JSON summary on stdout')
    .addHelpText(
      'after',
      examples([
        {
          what: 'a clip from the bundled Open-Sora Nano (no --seed: a random one, printed and kept in run.json)',
          args: 'generate --prompt "a red circle moving right on a black background" --out out/red-circle',
        },
        {
          what: 'the paper’s iPhone setting: 30 steps, LPL 16/30, TDTM on the first 15 steps, CI-DL at half the blocks',
          args: 'generate --prompt "a blue square growing on a white background" --seed 42 --steps 30 --lpl fixed:16 --tdtm 15 --cidl-budget 50% --out out/paper',
        },
        {
          what: 'a converted full-size Open-Sora v1.2 inside an iPhone 15 Pro’s 3.3 GB',
          args: 'generate --model ~/blocksets/opensora-v1.2 --prompt "a red panda eating bamboo" --seed 42 --frames 17 --height 64 --width 64 --memory-limit 3.3GB --out out/panda',
        },
      ]),
    )
    .action(async (flags: GenerateFlags) => {
      const attribute = new Map(techniques.map(([option, flag]) => [flag.flags, option.attributeName()]));
      await runGenerateCommand(
        flags,
        techniqueSettings((flag) => flags[attribute.get(flag.flags) ?? '']),
      );
    });
}

async function runGenerateCommand(flags: GenerateFlags, techniques: TechniqueSettings): Promise<void> {
  const quiet = flags.json === true;
  const say = (line: string): void => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  const outDir = resolve(flags.out);
  const host = await createNodeEngineHost({
    placement: flags.ortWorker ? 'worker' : 'inline',
    threads: flags.threads,
    ep: flags.ep,
  });
  const abort = new AbortController();
  const onSigint = (): void => {
    say('generate: cancelling (Ctrl-C again to quit now)');
    process.off('SIGINT', onSigint);
    abort.abort(new Error('cancelled by SIGINT'));
  };
  process.on('SIGINT', onSigint);
  const caches = new GenerateCaches();
  try {
    const startedAtEpochMs = Date.now();
    const tModel = performance.now();
    const model: ModelBlockSet = flags.model
      ? await openModel(host, flags.model, { log: (l) => say(`model: ${l}`) })
      : await ensureBundledBlockSet(host, { log: (l) => say(`model: ${l}`) });
    const modelMs = performance.now() - tModel;
    say(
      `model: ${model.blockSet.manifest.model.name} (${model.blockSet.dir}${model.converted ? ', converted now' : ''})`,
    );

    const seed = flags.seed ?? randomSeed();
    if (flags.seed === undefined) say(`seed: ${seed} (random; --seed ${seed} repeats this run)`);
    const params: GenerateParams = {
      prompt: flags.prompt,
      seed,
      steps: flags.steps,
      cfgScale: flags.cfg,
      numFrames: flags.frames,
      heightPx: flags.height,
      widthPx: flags.width,
      fps: flags.fps,
      lpl: techniques.lpl,
      tdtm: techniques.tdtm,
      cidl: { ...techniques.cidl, budget: budgetOf(techniques.cidl.budget, flags.memoryLimit) },
      promptStyle: flags.promptStyle,
      aestheticScore: flags.aestheticScore,
    };
    const events: EngineEvent[] = [];
    let totalSteps = 0;
    const emit = (e: EngineEvent): void => {
      events.push(e);
      if (quiet) return;
      if (e.type === 'stage.start') say(`${e.stage}: …`);
      else if (e.type === 'stage.end') say(`${e.stage}: done in ${e.durationMs.toFixed(0)} ms`);
      else if (e.type === 'step.end')
        say(
          `  step ${e.step + 1}/${totalSteps}  t=${e.t.toFixed(1)}  ${e.latencyMs.toFixed(0)} ms${e.merged ? '  tdtm' : ''}${e.leapt ? '  leap → t=0' : ''}`,
        );
    };
    // Resolve once up front to show the step count (and fail on bad params before any work).
    let resolved: ReturnType<typeof resolveGenerateParams>;
    try {
      resolved = resolveGenerateParams(model.blockSet, params);
    } catch (e) {
      if (e instanceof GenerateParamsError) throw new Error(`${flagOf(e.field)}: ${e.message}`);
      throw e;
    }
    totalSteps = resolved.steps;
    say(`${resolved.steps} steps, ${describeLpl(resolved.lpl, resolved.steps)}`);
    // Words the model does not know steer nothing: say so before the run, not after it.
    const vocabulary = promptVocabulary(await caches.tokenizerFor(model.blockSet), resolved.preparedPrompt);
    const unknownWarning = unknownWordsWarning(vocabulary);
    if (unknownWarning !== null) console.error(`warning: ${unknownWarning}`);
    const result = await generateVideo(
      {
        blockSet: model.blockSet,
        backend: host.backend,
        clock: host.clock,
        emit,
        probe: host.probe,
        signal: abort.signal,
        caches,
      },
      params,
    );
    await mkdir(outDir, { recursive: true });
    const files = await writeVideoFiles(outDir, result.frames, result.params.fps);
    const folder = generateRunFolder({
      outDir,
      result,
      model,
      events,
      files,
      backendName: host.backend.name,
      modelMs,
      argv: process.argv.slice(2),
      seedChosen: flags.seed === undefined ? 'random' : 'given',
      startedAtEpochMs,
    });
    await writeEventLog(outDir, folder.events);
    await writeRunFile(outDir, folder.file);
    const summary = {
      out: outDir,
      runJson: join(outDir, 'run.json'),
      frames: files.frames.length,
      size: [result.frames.width, result.frames.height],
      gif: files.gif,
      timings: result.timings,
      seed,
      lpl: describeLpl(result.params.lpl, result.params.steps),
      leapStep: result.denoise.leapStep,
      unknownWords: vocabulary.unknownWords,
    };
    if (quiet) console.log(JSON.stringify(summary, null, 2));
    else {
      const t = result.timings;
      console.log(
        `wrote ${files.frames.length} frames (${result.frames.width}×${result.frames.height}), video.png, video.gif (×${files.gif.scale}) and run.json to ${outDir}`,
      );
      console.log(
        `seed ${seed}${flags.seed === undefined ? ' (random)' : ''}; ${describeLpl(result.params.lpl, result.params.steps)}` +
          (result.denoise.leapStep === null
            ? ''
            : `: leapt at step ${lplStepOfLeapStep(result.denoise.leapStep)}`),
      );
      console.log(
        `timings: load ${t.loadMs.toFixed(0)} ms, text ${t.textMs.toFixed(0)} ms, denoise ${t.denoiseMs.toFixed(0)} ms, decode ${t.decodeMs.toFixed(0)} ms, total ${t.totalMs.toFixed(0)} ms`,
      );
      const gib = (b: number | null): string => (b === null ? '?' : `${(b / 2 ** 30).toFixed(2)} GiB`);
      for (const m of result.memory.stages)
        console.log(
          `memory ${m.stage}: process peak ${gib(m.measuredPeakBytes)} (predicted ${gib(m.predictedPeakBytes)}: ` +
            `${gib(m.baseBytes)} held + ${gib(m.blockPeakBytes)} blocks + ${gib(m.work.totalBytes)} working)` +
            `${result.memory.limitBytes === null ? '' : ` of the ${gib(result.memory.limitBytes)} limit`}`,
        );
    }
  } finally {
    process.off('SIGINT', onSigint);
    await caches.clear();
    await host.close();
  }
}

/** The seed of a run without `--seed`: random, below 2^31 so it is short to type back. */
function randomSeed(): number {
  return randomInt(0, 2 ** 31);
}

/** `--memory-limit` makes a process budget, capped by `--cidl-budget` when both are given. */
function budgetOf(budget: RequestBudgetSpec | undefined, memoryLimit: number | undefined): BudgetSpec {
  const asked = budget ?? { kind: 'unlimited' as const };
  if (memoryLimit === undefined) return asked;
  const cap = asked.kind === 'unlimited' || asked.kind === 'auto' ? {} : { cap: asked };
  return { kind: 'process', limitBytes: memoryLimit, ...cap };
}

/** The command-line flag behind a GenerateParams field (for error messages). */
function flagOf(field: string): string {
  const flags: Record<string, string> = {
    prompt: '--prompt',
    seed: '--seed',
    steps: '--steps',
    cfgScale: '--cfg',
    numFrames: '--frames',
    heightPx: '--height',
    widthPx: '--width',
    fps: '--fps',
    'cidl.budget': '--cidl-budget / --memory-limit',
    promptStyle: '--prompt-style',
    aestheticScore: '--aesthetic-score',
    'timesteps.transform': "--frames (the model's timestep transform)",
  };
  return flags[field] ?? techniqueFlagOf(field) ?? field;
}
