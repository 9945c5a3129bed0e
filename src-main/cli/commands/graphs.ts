/**
 * `odsora check-graphs --target coreml` and `odsora export-graphs`: the graphs a job builds
 * (shared/engine/pipeline/job-graphs.ts), checked for ONNX Runtime's Core ML EP (shared/engine/onnx/coreml/) or
 * written as .onnx files. The job's model is a model directory or block set (`--model`, default the bundled
 * Open-Sora Nano) or a `synth-checkpoint` preset's configs (`--preset`: no weights needed, graphs are built from
 * the configs); its size comes from `--frames/--height/--width` (default the model's sampling defaults).
 */
import { examples } from '../help';
import { Option, type Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  OPENSORA_SAMPLING_DEFAULTS,
  resolveGenerateParams,
} from '../../../shared/engine/pipeline/generate-params';
import { GRAPH_TARGETS, type GraphTarget } from '../../../shared/engine/onnx/graph-target';
import {
  jobGraphs,
  jobGraphShapeFor,
  jobGraphShapeOf,
  jobModelsOf,
  type JobGraph,
  type JobGraphShape,
  type JobModels,
} from '../../../shared/engine/pipeline/job-graphs';
import { checkCoreml, type CoremlGraphReport } from '../../../shared/engine/onnx/coreml/check';
import { stdit3ConfigFromJson } from '../../../shared/engine/stdit3/config';
import { t5ConfigFromJson } from '../../../shared/engine/t5/config';
import { vaeConfigFromJson } from '../../../shared/engine/vae/config';
import { decoderConfigJson } from '../../../shared/engine/vae/released-config';
import { ortOptimizedModel } from '../../adapters/onnxruntime-backend';
import { createNodeEngineHost } from '../../engine-host/node-engine';
import { ensureBundledBlockSet, openModel } from '../../models/bundled';
import { presetConfigs, SYNTH_PRESETS, type SynthPreset } from '../../synth/presets';
import { posInt } from '../arg-parsers';

interface JobFlags {
  model?: string;
  preset?: SynthPreset;
  frames?: number;
  height?: number;
  width?: number;
  tdtm: boolean;
  target: GraphTarget;
}

/** The job's graphs and a line saying what they are for. */
interface Job {
  readonly model: string;
  readonly shape: JobGraphShape;
  readonly graphs: JobGraph[];
}

async function loadJob(flags: JobFlags): Promise<Job> {
  if (flags.model !== undefined && flags.preset !== undefined)
    throw new Error('give --model or --preset, not both');
  let models: JobModels;
  let shape: JobGraphShape;
  let model: string;
  if (flags.preset !== undefined) {
    const c = presetConfigs(flags.preset);
    models = {
      t5: t5ConfigFromJson(c.t5),
      stdit3: stdit3ConfigFromJson(c.stdit),
      vae: vaeConfigFromJson(decoderConfigJson(c.vae)),
      precision: { text: 'f32', denoiser: 'f32', decode: 'f32' },
    };
    shape = jobGraphShapeFor(models, {
      numFrames: flags.frames ?? OPENSORA_SAMPLING_DEFAULTS.numFrames,
      heightPx: flags.height ?? OPENSORA_SAMPLING_DEFAULTS.heightPx,
      widthPx: flags.width ?? OPENSORA_SAMPLING_DEFAULTS.widthPx,
      tdtm: flags.tdtm,
    });
    model = `preset ${flags.preset}`;
  } else {
    const host = await createNodeEngineHost({ placement: 'inline', threads: 1 });
    try {
      const log = (l: string): void => console.error(`model: ${l}`);
      const m = flags.model
        ? await openModel(host, flags.model, { log })
        : await ensureBundledBlockSet(host, { log });
      // The sampler's settings do not change the graphs; the timestep transform is off so any frame count resolves.
      const p = resolveGenerateParams(m.blockSet, {
        prompt: 'check',
        seed: 0,
        numFrames: flags.frames,
        heightPx: flags.height,
        widthPx: flags.width,
        timesteps: { transform: false },
      });
      models = jobModelsOf(m.blockSet);
      shape = { ...jobGraphShapeOf(p), tdtm: flags.tdtm && p.latent.frames >= 2 };
      model = `${m.blockSet.manifest.model.name} (${m.blockSet.dir})`;
    } finally {
      await host.close();
    }
  }
  return { model, shape, graphs: jobGraphs(models, shape, { target: flags.target }) };
}

const describeJob = (j: Job): string =>
  `${j.shape.numFrames} frames, latent ${j.shape.latent.frames}×${j.shape.latent.height}×${j.shape.latent.width}, ` +
  `caption ${j.shape.captionLength} tokens${j.shape.tdtm ? ', TDTM' : ''}`;

function jobOptions(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'a model directory or converted block set (default: the bundled Open-Sora Nano)')
    .addOption(
      new Option(
        '--preset <name>',
        'build from a synth-checkpoint preset’s configs instead (no weights needed)',
      ).choices([...SYNTH_PRESETS]),
    )
    .option('--frames <n>', "pixel frames (default: the model's)", posInt('--frames'))
    .option('--height <px>', "pixel height (default: the model's)", posInt('--height'))
    .option('--width <px>', "pixel width (default: the model's)", posInt('--width'))
    .option('--no-tdtm', 'leave out the TDTM pair graph (a job without token merging)');
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

function printReport(id: string, r: CoremlGraphReport): void {
  const kinds = Object.entries(r.refusedByKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  console.log(
    `${id.padEnd(44)} ${String(r.nodes).padStart(5)} nodes  ${String(r.refused.length).padStart(4)} refused  ` +
      `${String(r.partitions).padStart(3)} partitions  ${pct(r.coremlShare).padStart(7)} FLOPs on Core ML  ${r.fullyPlaceable ? 'ok' : 'NOT PLACEABLE'}`,
  );
  if (kinds) console.log(`    refused by first reason: ${kinds}`);
  // One line per (op, reason): how many nodes, and the first one's message.
  const groups = new Map<string, { nodes: Set<number>; example: string; source: string }>();
  for (const node of r.refused)
    for (const reason of node.reasons) {
      const key = `${node.opType}: ${reason.kind}`;
      const g = groups.get(key);
      if (g) g.nodes.add(node.index);
      else
        groups.set(key, {
          nodes: new Set([node.index]),
          example: `${node.name}: ${reason.message}`,
          source: reason.source,
        });
    }
  for (const [key, g] of groups)
    console.log(`    ${key} ×${g.nodes.size} node(s) (e.g. ${g.example}) [${g.source}]`);
}

/** Registers `odsora check-graphs` and `odsora export-graphs`. */
export function registerGraphs(program: Command): void {
  jobOptions(
    program
      .command('check-graphs')
      .description(
        "Build every graph a job would run and check it for ONNX Runtime's Core ML EP (ML Program, static shapes): refused nodes and why, Core ML partitions, FLOP share; exit 1 when a graph is not fully placeable (docs/coreml.md)",
      )
      .addOption(
        new Option('--target <target>', 'the execution provider to check for')
          .choices(['coreml'])
          .default('coreml'),
      ),
  )
    .addOption(
      new Option(
        '--graphs <variant>',
        'which graph variant to check: coreml (what the phone runs), or cpu (to see what Core ML would refuse of the CPU graphs)',
      )
        .choices([...GRAPH_TARGETS])
        .default('coreml'),
    )
    .option(
      '--ort-optimized',
      'also check the graph ONNX Runtime runs after its basic optimizations (MatMul+Add → Gemm)',
    )
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      examples([
        {
          what: "the bundled Open-Sora Nano's graphs at its default job",
          args: 'check-graphs --target coreml',
        },
        {
          what: 'what Core ML would refuse of the CPU graphs (exit 1)',
          args: 'check-graphs --target coreml --graphs cpu',
        },
        {
          what: 'the full-size model shapes (configs only, no weights), 51 frames at 256×256, also after ORT optimizations',
          args: 'check-graphs --target coreml --preset opensora-v1.2 --frames 51 --height 256 --width 256 --ort-optimized',
        },
      ]),
    )
    .action(async (flags: JobFlags & { graphs: GraphTarget; ortOptimized?: boolean; json?: boolean }) => {
      const job = await loadJob({ ...flags, target: flags.graphs });
      const rows: { graph: JobGraph; report: CoremlGraphReport; ortOptimized?: CoremlGraphReport }[] = [];
      for (const graph of job.graphs) {
        const bytes = graph.build();
        const row: (typeof rows)[number] = { graph, report: checkCoreml(bytes) };
        if (flags.ortOptimized)
          row.ortOptimized = checkCoreml(
            await ortOptimizedModel(bytes, 'basic', { graphTarget: flags.graphs }),
          );
        rows.push(row);
      }
      const placeable = rows.every(
        (r) => r.report.fullyPlaceable && (r.ortOptimized?.fullyPlaceable ?? true),
      );
      if (flags.json) {
        console.log(
          JSON.stringify(
            {
              target: 'coreml',
              variant: flags.graphs,
              model: job.model,
              job: job.shape,
              placeable,
              graphs: rows.map((r) => ({
                id: r.graph.id,
                family: r.graph.family,
                block: r.graph.block,
                shape: r.graph.shape,
                report: r.report,
                ...(r.ortOptimized ? { ortOptimized: r.ortOptimized } : {}),
              })),
            },
            null,
            2,
          ),
        );
      } else {
        console.log(`Core ML (ML Program, static shapes) check: ${job.model}`);
        console.log(`job: ${describeJob(job)}`);
        for (const r of rows) {
          printReport(r.graph.id, r.report);
          if (r.ortOptimized) printReport(`${r.graph.id} (ORT basic)`, r.ortOptimized);
        }
        const bad = rows.filter(
          (r) => !r.report.fullyPlaceable || r.ortOptimized?.fullyPlaceable === false,
        ).length;
        console.log(
          bad === 0
            ? 'every graph fully placeable on Core ML'
            : `${bad} of ${rows.length} graphs not fully placeable`,
        );
      }
      process.exitCode = placeable ? 0 : 1;
    });

  jobOptions(
    program
      .command('export-graphs')
      .description(
        'Write each distinct graph a job would run as <family>.<block>.<shape>.onnx (for Netron, onnx tools)',
      )
      .requiredOption('--out <dir>', 'the directory to write to (created if missing)')
      .addOption(
        new Option(
          '--target <target>',
          "the graph variant: cpu (the CPU EP's best), coreml (what the Core ML EP takes whole; docs/coreml.md)",
        )
          .choices([...GRAPH_TARGETS])
          .default('cpu'),
      ),
  )
    .addHelpText(
      'after',
      examples([
        {
          what: "every graph of the bundled model's default job, for Netron",
          args: 'export-graphs --out out/graphs',
        },
        {
          what: 'a converted model at 17 frames of 64×64, the Core ML variants',
          args: 'export-graphs --model ~/blocksets/opensora-v1.2 --frames 17 --height 64 --width 64 --target coreml --out out/graphs-coreml',
        },
      ]),
    )
    .action(async (flags: JobFlags & { out: string }) => {
      const job = await loadJob(flags);
      const out = resolve(flags.out);
      await mkdir(out, { recursive: true });
      console.log(`${job.model}: ${describeJob(job)}, target ${flags.target}`);
      for (const g of job.graphs) {
        const bytes = g.build();
        await writeFile(join(out, `${g.id}.onnx`), bytes);
        console.log(`${g.id}.onnx  ${bytes.length} bytes`);
      }
    });
}
