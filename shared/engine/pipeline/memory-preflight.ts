/**
 * Up-front memory check of a whole job under a process limit (cidl/memory-limit.ts): before any stage runs, each
 * stage's working memory is estimated from the job's shapes, its block budget is what the limit leaves after the
 * process's current footprint and that working memory, and its CI-DL plan gives the block peak. A job with a stage
 * whose largest block does not fit is refused here, naming the stage and the shortfall, rather than after minutes
 * of T5. Each stage resolves its budget again when it starts, against the footprint then.
 */
import type { BlockSet } from '../blockset/load';
import { stagePrecision } from '../blockset/manifest';
import { BudgetError, formatBytes, resolveBudget, type BudgetSpec } from '../cidl/budget';
import { verifyCopyBytes, type StageWork } from '../cidl/memory-limit';
import { planResidency } from '../cidl/plan';
import type { MemoryProbe } from '../ports';
import { denoiseStageWork } from '../stdit3/memory';
import { textStageWork } from '../t5/memory';
import { textBlocks } from '../t5/text-stage';
import { readDecodeStage } from '../vae/decode-manifest';
import { decodeConfig, planDecodeStage } from '../vae/decode-stage';
import { decodeStageWork } from '../vae/memory';
import { denoiserConfig, denoiserPrecision } from './denoise';
import type { ResolvedGenerateParams } from './generate-params';

/** One stage's preflight. */
export interface StagePreflight {
  readonly stage: 'text' | 'denoise' | 'decode';
  readonly work: StageWork;
  /** The block budget the stage would get (null: unlimited). */
  readonly budgetBytes: number | null;
  /** The stage's largest block. */
  readonly largestBlockBytes: number;
  /** The plan's peak of block bytes. */
  readonly blockPeakBytes: number;
  /** base + blocks + work. */
  readonly predictedPeakBytes: number;
  readonly fits: boolean;
  /** How many more bytes the stage would need to fit (0 when it fits). */
  readonly shortfallBytes: number;
}

/** The preflight of a job. */
export interface JobMemoryPreflight {
  /** The process limit (null: the budget is not a process limit). */
  readonly limitBytes: number | null;
  /** The footprint the predictions start from (the process now). */
  readonly baseBytes: number;
  readonly stages: readonly StagePreflight[];
  readonly fits: boolean;
}

const blocksOf = (list: readonly { bytes: number; file: string }[], blockSet: BlockSet) =>
  list.map((b) => ({ bytes: b.bytes, verified: blockSet.isVerified(b) }));

/** Plans every stage of a job with resolved parameters `p` (see the module comment). */
export async function preflightJobMemory(
  blockSet: BlockSet,
  p: ResolvedGenerateParams,
  probe: MemoryProbe | undefined,
): Promise<JobMemoryPreflight> {
  const spec: BudgetSpec = p.cidl.budget;
  const baseBytes = probe ? await probe.footprintBytes() : 0;
  const { policy, prefetch, verify } = p.cidl;
  const stages: StagePreflight[] = [];
  const budgetFor = async (total: number, work: StageWork): Promise<number | null> =>
    resolveBudget(spec, { totalBlockBytes: total, probe, workBytes: work.totalBytes, baseBytes });
  const add = (
    stage: StagePreflight['stage'],
    work: StageWork,
    budgetBytes: number | null,
    largest: number,
    blockPeak: number,
    fits: boolean,
  ): void => {
    stages.push({
      stage,
      work,
      budgetBytes,
      largestBlockBytes: largest,
      blockPeakBytes: blockPeak,
      predictedPeakBytes: baseBytes + blockPeak + work.totalBytes,
      fits,
      shortfallBytes: fits || budgetBytes === null ? 0 : largest - budgetBytes,
    });
  };
  const largestOf = (list: readonly { bytes: number }[]): number => Math.max(0, ...list.map((b) => b.bytes));

  const text = textBlocks(blockSet.manifest);
  const textWork = textStageWork(
    text.config,
    { batch: 1, length: p.captionLength },
    text.precision,
    verifyCopyBytes(blocksOf(text.blocks, blockSet), verify),
  );
  const textTotal = text.blocks.reduce((s, b) => s + b.bytes, 0);
  const textBudget = await budgetFor(textTotal, textWork);
  const textPlan = planResidency({
    blocks: text.blocks.map((b) => ({ id: `text/${b.id}`, bytes: b.bytes })),
    budgetBytes: textBudget,
    policy,
    prefetch,
    passes: 1,
  });
  add('text', textWork, textBudget, largestOf(text.blocks), textPlan.predictedPeakBytes, textPlan.fits);

  const den = blockSet.denoiserBlocks();
  const denWork = denoiseStageWork(
    denoiserConfig(blockSet),
    {
      batch: 2,
      frames: p.latent.frames,
      height: p.latent.height,
      width: p.latent.width,
      captionLength: p.captionLength,
    },
    denoiserPrecision(blockSet),
    verifyCopyBytes(blocksOf(den, blockSet), verify),
  );
  const denBudget = await budgetFor(
    den.reduce((s, b) => s + b.bytes, 0),
    denWork,
  );
  const denPlan = planResidency({
    blocks: den.map((b) => ({ id: `denoiser/${b.id}`, bytes: b.bytes })),
    budgetBytes: denBudget,
    policy,
    prefetch,
    passes: p.steps,
  });
  add('denoise', denWork, denBudget, largestOf(den), denPlan.predictedPeakBytes, denPlan.fits);

  const decode = readDecodeStage(blockSet.manifest, blockSet.dir);
  const decWork = decodeStageWork(
    decodeConfig(blockSet),
    { batch: 1, frames: p.latent.frames, height: p.latent.height, width: p.latent.width },
    p.numFrames,
    stagePrecision(decode.stage),
    verifyCopyBytes(blocksOf(decode.stage.blocks, blockSet), verify),
  );
  const decBudget = await budgetFor(
    decode.stage.blocks.reduce((s, b) => s + b.bytes, 0),
    decWork,
  );
  const decPlan = planDecodeStage(blockSet, p.latent.frames, decBudget, {
    numFrames: p.numFrames,
    policy,
    prefetch,
  });
  add('decode', decWork, decBudget, largestOf(decode.stage.blocks), decPlan.predictedPeakBytes, decPlan.fits);

  return {
    limitBytes: spec.kind === 'process' ? spec.limitBytes : null,
    baseBytes,
    stages,
    fits: stages.every((s) => s.fits),
  };
}

/** Throws a BudgetError for the first stage of a preflight that does not fit, naming the shortfall. */
export function refuseIfUnfit(pre: JobMemoryPreflight): void {
  const bad = pre.stages.find((s) => !s.fits);
  if (!bad) return;
  const limit = pre.limitBytes === null ? 'its budget' : `the ${formatBytes(pre.limitBytes)} process limit`;
  throw new BudgetError(
    bad.stage,
    `under ${limit} the ${bad.stage} stage has ${formatBytes(bad.budgetBytes ?? 0)} for blocks ` +
      `(after ${formatBytes(pre.baseBytes)} the process holds and ${formatBytes(bad.work.totalBytes)} working memory), ` +
      `but its largest block is ${formatBytes(bad.largestBlockBytes)}: short by ${formatBytes(bad.shortfallBytes)}`,
  );
}
