/**
 * Up-front memory check of a whole job under a process limit (cidl/memory-limit.ts): before any stage runs, each
 * stage's working memory is estimated from the job's shapes, its block budget is what the limit leaves after the
 * process's current footprint and that working memory, and its CI-DL plan gives the block peak. A job with a stage
 * whose largest block does not fit is refused here, naming the stage and the shortfall, rather than after minutes
 * of T5. Each stage resolves its budget again when it starts, against the footprint then.
 */
import type { BlockSet } from '../blockset/load';
import { stagePrecision } from '../blockset/manifest';
import { formatBytes } from '../../format';
import { BudgetError, resolveBudget, type BudgetSpec } from '../cidl/budget';
import {
  hashedBlocks,
  processBase,
  replayStagePeak,
  stageLocal,
  stageWorkOf,
  verifyCopyBytes,
  type StageWork,
} from '../cidl/memory-limit';
import { planPhase, stageBlockSpecs } from '../cidl/stage-scheduler';
import type { MemoryProbe } from '../ports';
import { denoiseSessions } from '../stdit3/memory';
import { textSessions } from '../t5/memory';
import { textBlocks } from '../t5/text-stage';
import { readDecodeStage } from '../vae/decode-manifest';
import { decodeConfig, planDecodeStage } from '../vae/decode-stage';
import { decodeSessions } from '../vae/memory';
import { denoiserConfig, denoiserPrecision } from '../stdit3/denoise-stage';
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
  /** base + blocks and working memory at the stage's worst moment (cidl/memory-limit.ts `replayStagePeak`). */
  readonly predictedPeakBytes: number;
  readonly fits: boolean;
  /** How many more bytes the stage would need to fit (0 when it fits). */
  readonly shortfallBytes: number;
}

/** The preflight of a job. */
export interface JobMemoryPreflight {
  /** The process limit (null: the budget is not a process limit). */
  readonly limitBytes: number | null;
  /** The footprint the predictions start from: the process now plus its pending growth. */
  readonly baseBytes: number;
  /** The pending start-up growth counted in `baseBytes` (cidl/memory-limit.ts `processBase`). */
  readonly growthBytes: number;
  readonly stages: readonly StagePreflight[];
  readonly fits: boolean;
}

const checkedOf = (list: readonly { id: string; bytes: number; file: string }[], blockSet: BlockSet) =>
  list.map((b) => ({ id: b.id, bytes: b.bytes, verified: blockSet.isVerified(b) }));

/** Plans every stage of a job with resolved parameters `p` (see the module comment). */
export async function preflightJobMemory(
  blockSet: BlockSet,
  p: ResolvedGenerateParams,
  probe: MemoryProbe | undefined,
): Promise<JobMemoryPreflight> {
  const spec: BudgetSpec = p.cidl.budget;
  const base = probe ? await processBase(probe) : { heldBytes: 0, growthBytes: 0 };
  const baseBytes = base.heldBytes + base.growthBytes;
  const { policy, prefetch, verify } = p.cidl;
  const stages: StagePreflight[] = [];
  const budgetFor = async (total: number, work: StageWork): Promise<number | null> =>
    resolveBudget(spec, { totalBlockBytes: total, probe, workBytes: work.totalBytes, baseBytes });
  // A process limit's budget stops at 0; what the limit lacks is the rest too (what the process and work overrun).
  const room = (budgetBytes: number, work: StageWork): number =>
    spec.kind === 'process' && budgetBytes === 0
      ? spec.limitBytes - baseBytes - work.totalBytes
      : budgetBytes;
  const add = (
    stage: StagePreflight['stage'],
    work: StageWork,
    budgetBytes: number | null,
    largest: number,
    blockPeak: number,
    fits: boolean,
    replayed = blockPeak + work.totalBytes,
  ): void => {
    stages.push({
      stage,
      work,
      budgetBytes,
      largestBlockBytes: largest,
      blockPeakBytes: blockPeak,
      predictedPeakBytes: baseBytes + replayed,
      fits,
      shortfallBytes: fits || budgetBytes === null ? 0 : largest - room(budgetBytes, work),
    });
  };
  const largestOf = (list: readonly { bytes: number }[]): number => Math.max(0, ...list.map((b) => b.bytes));

  const text = textBlocks(blockSet.manifest);
  const textChecked = checkedOf(text.blocks, blockSet);
  const textSess = textSessions(text.config, { batch: 1, length: p.captionLength }, text.precision);
  const textWork = stageWorkOf(
    textSess,
    text.blocks.map((b) => b.id),
    verifyCopyBytes(textChecked, verify),
  );
  const textTotal = text.blocks.reduce((s, b) => s + b.bytes, 0);
  const textBudget = await budgetFor(textTotal, textWork);
  const textSpecs = stageBlockSpecs('text/', text.blocks);
  const textPlan = planPhase('text/', text.blocks, textBudget, { policy, prefetch, passes: 1 });
  const textExtras = hashedBlocks('text/', textChecked, verify);
  add(
    'text',
    textWork,
    textBudget,
    largestOf(text.blocks),
    textPlan.predictedPeakBytes,
    textPlan.fits,
    textPlan.fits
      ? replayStagePeak(textSpecs, textPlan, 1, false, textExtras, {
          ...textSess,
          localId: stageLocal('text/'),
        })
      : undefined,
  );

  const den = blockSet.denoiserBlocks();
  const denChecked = checkedOf(den, blockSet);
  const denCfg = denoiserConfig(blockSet);
  const denSess = denoiseSessions(
    denCfg,
    {
      batch: 2,
      frames: p.latent.frames,
      height: p.latent.height,
      width: p.latent.width,
      captionLength: p.captionLength,
    },
    denoiserPrecision(blockSet),
    { tdtm: p.tdtm.mergeSteps > 0 },
  );
  const denWork = stageWorkOf(
    denSess,
    den.map((b) => b.id),
    verifyCopyBytes(denChecked, verify),
  );
  const denBudget = await budgetFor(
    den.reduce((s, b) => s + b.bytes, 0),
    denWork,
  );
  const denSpecs = stageBlockSpecs('denoiser/', den);
  const denPlan = planPhase('denoiser/', den, denBudget, { policy, prefetch, passes: p.steps });
  const denExtras = hashedBlocks('denoiser/', denChecked, verify);
  add(
    'denoise',
    denWork,
    denBudget,
    largestOf(den),
    denPlan.predictedPeakBytes,
    denPlan.fits,
    denPlan.fits
      ? replayStagePeak(denSpecs, denPlan, p.steps, true, denExtras, {
          ...denSess,
          localId: stageLocal('denoiser/'),
        })
      : undefined,
  );

  const decode = readDecodeStage(blockSet.manifest, blockSet.dir);
  const decSess = decodeSessions(
    decodeConfig(blockSet),
    { batch: 1, frames: p.latent.frames, height: p.latent.height, width: p.latent.width },
    p.numFrames,
    stagePrecision(decode.stage),
  );
  const decIds = decode.stage.blocks.map((b) => b.id);
  const decWork = stageWorkOf(
    decSess,
    decIds,
    verifyCopyBytes(checkedOf(decode.stage.blocks, blockSet), verify),
  );
  const arenas = (ids: readonly string[]): number =>
    stageWorkOf({ heldBytes: 0, sessionOf: decSess.sessionOf }, ids, 0).totalBytes;
  const decBudget = await budgetFor(
    decode.stage.blocks.reduce((s, b) => s + b.bytes, 0),
    decWork,
  );
  const decPlan = planDecodeStage(blockSet, p.latent.frames, decBudget, {
    numFrames: p.numFrames,
    policy,
    prefetch,
  });
  // Phase by phase (cidl/memory-limit.ts): sessions appear as their phase runs and live to the stage's end.
  const temporal = decSess.heldBytes + arenas(decIds.filter((id) => id.startsWith('temporal.')));
  add(
    'decode',
    decWork,
    decBudget,
    largestOf(decode.stage.blocks),
    decPlan.predictedPeakBytes,
    decPlan.fits,
    decWork.verifyBytes +
      Math.max(
        (decPlan.temporal?.predictedPeakBytes ?? 0) + temporal,
        decPlan.spatial.predictedPeakBytes +
          temporal +
          arenas(decIds.filter((id) => id.startsWith('spatial.'))),
      ),
  );

  return {
    limitBytes: spec.kind === 'process' ? spec.limitBytes : null,
    baseBytes,
    growthBytes: base.growthBytes,
    stages,
    fits: stages.every((s) => s.fits),
  };
}

/** Throws a BudgetError for the first stage of a preflight that does not fit, naming the shortfall. */
export function refuseIfUnfit(pre: JobMemoryPreflight): void {
  const bad = pre.stages.find((s) => !s.fits);
  if (!bad) return;
  const limit =
    pre.limitBytes === null ? 'its budget' : `the ${formatBytes(pre.limitBytes, 'exact')} process limit`;
  const pending =
    pre.growthBytes > 0
      ? ` (${formatBytes(pre.growthBytes, 'exact')} of it start-up growth still to come)`
      : '';
  throw new BudgetError(
    bad.stage,
    `under ${limit} the ${bad.stage} stage has ${formatBytes(bad.budgetBytes ?? 0, 'exact')} for blocks ` +
      `(after ${formatBytes(pre.baseBytes, 'exact')} the process holds${pending} and ${formatBytes(bad.work.totalBytes, 'exact')} ` +
      `working memory), ` +
      `but its largest block is ${formatBytes(bad.largestBlockBytes, 'exact')}: short by ${formatBytes(bad.shortfallBytes, 'exact')}`,
  );
}
