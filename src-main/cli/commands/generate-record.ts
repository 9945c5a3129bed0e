/**
 * What `odsora generate` leaves beside its frames: a studio run folder (src-main/studio/services/run-folder.ts) —
 * run.json `odsora-studio-run` v2 with the CLI's extras in its typed `generate` section (generate-section.ts) and
 * events.jsonl with the run's events — so the studio's history lists a CLI run like any other when the folder is
 * under its `runs/` (the folder's name is the run id).
 */
import { arch, cpus, hostname, platform, release } from 'node:os';
import { basename } from 'node:path';
import { manifestBlocks } from '../../../shared/engine/blockset/manifest';
import { measureRun, runMetrics } from '../../../shared/report/measures';
import type { BudgetSpec } from '../../../shared/engine/cidl/budget';
import type { GenerateResult } from '../../../shared/engine/pipeline/generate';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { ENGINE_VERSION } from '../../../shared/engine/version';
import { runParamsSchema, type RunEvent, type RunParams } from '../../../shared/protocol/run';
import { studioRunIdSchema } from '../../../shared/protocol/studio-contract-runs';
import { peakRssBytes } from '../../adapters/node-memory-probe';
import { findRepoRoot, type ModelBlockSet } from '../../models/bundled';
import type { writeVideoFiles } from '../../output/video-files';
import { readGitCommit } from '../../studio/git-commit';
import type { GenerateSection } from '../../studio/services/generate-section';
import {
  RUN_FOLDER_FORMAT,
  RUN_FOLDER_VERSION,
  type RunFile,
  type StoredEvent,
} from '../../studio/services/run-folder';

/** The device a CLI run is listed under in the studio's history. */
export const CLI_DEVICE_ID = 'cli:odsora-generate';

/** Everything a finished `odsora generate` knows about its run. */
export interface GenerateRun {
  outDir: string;
  result: GenerateResult;
  model: ModelBlockSet;
  events: readonly EngineEvent[];
  files: Awaited<ReturnType<typeof writeVideoFiles>>;
  backendName: string;
  modelMs: number;
  argv: string[];
  /** Whether `params.seed` came from `--seed` or was drawn because none was given. */
  seedChosen: 'given' | 'random';
  startedAtEpochMs: number;
}

/** The commit of the checkout the CLI runs from (read from `.git`, as the studio does), or null. */
function gitCommit(): string | null {
  const root = findRepoRoot();
  return root ? readGitCommit(root) : null;
}

/** Every block of the model's block set, in the manifest's one walk (`manifestBlocks`). */
function blocksOf(
  manifest: ModelBlockSet['blockSet']['manifest'],
): GenerateSection['provenance']['model']['blocks'] {
  return [...manifestBlocks(manifest)].map(({ stage, block: b }) => ({
    stage,
    id: b.id,
    file: b.file,
    bytes: b.bytes,
    sha256: b.sha256 ?? '',
  }));
}

/**
 * `memory`: the process limit, the up-front preflight, and per stage the prediction beside the measured process
 * peak (VmHWM, reset at each stage's start), plus the run's peak (the largest of them and the final VmHWM).
 */
function memoryRecord(r: GenerateResult): GenerateSection['memory'] {
  const final = peakRssBytes();
  const measured = r.memory.stages.map((s) => s.measuredPeakBytes ?? 0);
  return {
    limitBytes: r.memory.limitBytes,
    processPeakBytes: Math.max(final ?? 0, ...measured) || null,
    stages: r.memory.stages.map((s) => ({
      ...s,
      predictionError:
        s.predictedPeakBytes !== null && s.measuredPeakBytes !== null && s.measuredPeakBytes > 0
          ? (s.predictedPeakBytes - s.measuredPeakBytes) / s.measuredPeakBytes
          : null,
    })),
    preflight: r.memory.preflight,
  };
}

/** A budget the wire can carry: a `--memory-limit` process budget shows as its cap, else `auto`. */
function wireBudget(budget: BudgetSpec): NonNullable<RunParams['cidl']>['budget'] {
  if (budget.kind !== 'process') return budget;
  return budget.cap ?? { kind: 'auto' };
}

/** The run's parameters as the studio's run.json and the wire hold them. */
function wireParams(r: GenerateResult): RunParams {
  const p = r.params;
  return runParamsSchema.parse({
    prompt: p.prompt,
    seed: p.seed,
    steps: p.steps,
    cfgScale: p.cfgScale,
    numFrames: p.numFrames,
    heightPx: p.heightPx,
    widthPx: p.widthPx,
    fps: p.fps,
    lpl: p.lpl,
    tdtm: p.tdtm,
    cidl: { ...p.cidl, budget: wireBudget(p.cidl.budget) },
    promptStyle: p.promptStyle,
    aestheticScore: p.aestheticScore,
    timesteps: p.timesteps,
  });
}

/** The CLI's extras: run.json's `generate` section. */
function generateSection(a: GenerateRun): GenerateSection {
  const { result: r, model } = a;
  const manifest = model.blockSet.manifest;
  const cpu = cpus();
  const { z0Given: _z0, ...resolved } = r.params as GenerateResult['params'] & { z0Given?: unknown };
  return {
    argv: a.argv,
    seedChosen: a.seedChosen,
    resolvedParams: { ...resolved },
    provenance: {
      engineVersion: ENGINE_VERSION,
      gitCommit: gitCommit(),
      model: {
        name: manifest.model.name,
        family: manifest.model.family,
        createdBy: manifest.createdBy,
        blockSetDir: model.blockSet.dir,
        sourceDir: model.modelDir,
        sourceSha256: model.sourceSha256,
        convertedNow: model.converted,
        blocks: blocksOf(manifest),
      },
      host: {
        os: `${platform()} ${release()}`,
        arch: arch(),
        cpu: cpu[0]?.model ?? null,
        cores: cpu.length,
        node: process.version,
        backend: a.backendName,
      },
    },
    tokens: {
      ids: Array.from(r.tokens.ids, Number),
      mask: Array.from(r.tokens.mask),
      validLength: r.tokens.validLength,
      truncated: r.tokens.truncated,
      unknownWords: r.tokens.unknown,
    },
    outputs: {
      width: r.frames.width,
      height: r.frames.height,
      frameCount: r.frames.frames.length,
      fps: r.params.fps,
      ...a.files,
    },
    memory: memoryRecord(r),
    denoise: {
      timesteps: Array.from(r.denoise.timesteps),
      leapStep: r.denoise.leapStep,
      modelCalls: r.denoise.modelCalls,
      peakResidentBytes: r.denoise.peakResidentBytes,
      loads: r.denoise.loads,
      plan: r.denoise.plan,
    },
    timings: {
      modelMs: a.modelMs,
      ...r.timings,
      compileMs: r.denoise.timings.compileMs,
      steps: r.denoise.steps.map((s) => ({
        step: s.step,
        t: s.t,
        latencyMs: s.latencyMs,
        cosine: s.cosine,
        leapt: s.leapt,
        merged: s.step < r.params.tdtm.mergeSteps,
      })),
    },
  };
}

/** The run's events as a studio run stores them: queued, started, the engine's events, finished; seq from 1. */
function runEvents(a: GenerateRun): StoredEvent[] {
  const r = a.result;
  const t = r.timings;
  const last = a.events.at(-1)?.atMs ?? 0;
  const events: RunEvent[] = [
    { type: 'run.queued', atMs: 0, position: 0 },
    { type: 'run.started', atMs: 0 },
    ...a.events,
    {
      type: 'run.finished',
      atMs: last,
      frames: r.frames.frames.length,
      width: r.frames.width,
      height: r.frames.height,
      fps: r.params.fps,
      stepsRun: r.denoise.steps.length,
      timings: {
        loadMs: t.loadMs,
        textMs: t.textMs,
        denoiseMs: t.denoiseMs,
        decodeMs: t.decodeMs,
        totalMs: t.totalMs,
      },
    },
  ];
  return events.map((event, i) => ({ seq: i + 1, event }));
}

/** The run id of a folder: its name, made to fit the studio's run ids (`[A-Za-z0-9._-]`, 1-128). */
export function runIdOfFolder(dir: string): string {
  const name = basename(dir);
  if (studioRunIdSchema.safeParse(name).success) return name;
  const fitted = name
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return fitted === '' ? 'generate' : fitted;
}

/** run.json (a studio run folder's, with the `generate` section) and events.jsonl's lines for a finished run. */
export function generateRunFolder(a: GenerateRun): { file: RunFile; events: StoredEvent[] } {
  const events = runEvents(a);
  const runId = runIdOfFolder(a.outDir);
  const file: RunFile = {
    format: RUN_FOLDER_FORMAT,
    version: RUN_FOLDER_VERSION,
    runId,
    deviceRunId: runId.slice(0, 64),
    device: {
      id: CLI_DEVICE_ID,
      deviceId: null,
      name: `odsora generate on ${hostname()}`.slice(0, 128),
      model: a.model.blockSet.manifest.model.name.slice(0, 128),
      role: 'target',
      simulated: false,
      engineVersion: ENGINE_VERSION,
    },
    params: wireParams(a.result),
    preview: null,
    label: null,
    createdAtEpochMs: a.startedAtEpochMs,
    state: 'finished',
    lastSeq: events.length,
    endedAtEpochMs: Date.now(),
    interruption: null,
    baselineOf: null,
    baselineRunId: null,
    deviceDetails: null,
    tags: [],
    notes: '',
    metrics: runMetrics(measureRun(events)),
    generate: generateSection(a),
  };
  return { file, events };
}
