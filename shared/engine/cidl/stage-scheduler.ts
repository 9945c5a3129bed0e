/**
 * The one setup every stage (text, denoise, decode) runs before its passes: from the stage's blocks, its memory
 * budget and its host ports to a CI-DL plan, the BudgetError when the plan does not fit, the block loader and the
 * {@link BlockScheduler}. `openStage` measures the stage (memory meter, working memory, hashed blocks) and resolves
 * its budget once; `schedule` plans one phase of it (the decode stage has two, under the one budget) and makes the
 * scheduler. The stages keep their compute; the setup, its order of probe reads and its errors live here only.
 */
import type { BlockBufferPool } from '../blockset/buffer-pool';
import type { BlockSet, VerifyPolicy } from '../blockset/load';
import type { BlockEntry } from '../blockset/block-entry';
import type { WeightMap } from '../blockset/precision';
import type { Clock, InferenceBackend, MemoryProbe } from '../ports';
import type { EventSink } from '../telemetry';
import type { AbortSignalLike } from './abort';
import { BudgetError, resolveBudget, type BudgetSpec } from './budget';
import {
  budgetShortfall,
  hashedBlocks,
  stageWorkOf,
  startStageMemory,
  verifyCopyBytes,
  type StageMemoryMeter,
  type StageMemoryReport,
  type StageSessions,
  type StageWork,
} from './memory-limit';
import { planResidency, type Plan, type RetentionPolicy } from './plan';
import type { BlockSpec } from './residency';
import { BlockScheduler } from './scheduler';

/** The host ports every stage runs on (and a generation composes). */
export interface StagePorts {
  /** The opened block set the stage's blocks are read from. */
  readonly blockSet: BlockSet;
  readonly backend: InferenceBackend;
  readonly clock: Clock;
  readonly emit: EventSink;
  /** Needed for an `auto` or `process` budget and for the stage's memory report. */
  readonly probe?: MemoryProbe;
  readonly signal?: AbortSignalLike;
}

/** What a run hands every stage besides the host ports. */
export interface StageContext extends StagePorts {
  /** Pooled block buffers (blockset/buffer-pool.ts); trimmed when the stage (or a phase of it) ends. */
  readonly memory?: BlockBufferPool;
  /** Receives the stage's memory report; when given, the stage also measures its peak (probe.resetPeak). */
  readonly onMemory?: (report: StageMemoryReport) => void;
}

/** Just the host ports of a context (a generation's caches, previews and hooks left out). */
export function stagePorts(ctx: StagePorts): StagePorts {
  return {
    blockSet: ctx.blockSet,
    backend: ctx.backend,
    clock: ctx.clock,
    emit: ctx.emit,
    probe: ctx.probe,
    signal: ctx.signal,
  };
}

/** The stage names a scheduler, a BudgetError and a memory report carry. */
export type StageKind = 'text' | 'denoise' | 'decode';

/** What a stage declares to open: its name, block id prefix, blocks, compiled sessions and CI-DL knobs. */
export interface StageSpec<E extends BlockEntry> {
  readonly stage: StageKind;
  /** The scheduler id prefix of its blocks (`text/`, `denoiser/`, `decode/`). */
  readonly prefix: string;
  /** Every block the stage will run (all its phases). */
  readonly entries: readonly E[];
  /** The stage's sessions (its working memory per block). */
  readonly sessions: StageSessions;
  readonly budget: BudgetSpec;
  /** Hash checks (default `first-load`). */
  readonly verify?: VerifyPolicy | undefined;
}

/** The CI-DL knobs of one phase. */
export interface PhaseOptions {
  /** Scheduler passes over the phase's blocks. */
  readonly passes: number;
  /** Retention policy (default `paper`). */
  readonly policy?: RetentionPolicy | undefined;
  /** Load the next block while one computes (default true). */
  readonly prefetch?: boolean | undefined;
  /** Passed to the scheduler when set (the text stage's one pass has nothing to wrap to). */
  readonly wrapPrefetch?: boolean;
}

/** A planned phase: its scheduler-id blocks, plan and scheduler. */
export interface ScheduledPhase {
  readonly blocks: readonly BlockSpec[];
  readonly plan: Plan;
  readonly scheduler: BlockScheduler<WeightMap>;
}

/** An opened stage: its measurements, resolved budget and the phase scheduler factory. */
export interface OpenedStage<E extends BlockEntry> {
  readonly meter: StageMemoryMeter;
  readonly work: StageWork;
  /** Which blocks this run hashes (for the stage's replayed peak). */
  readonly extras: (id: string) => boolean;
  readonly verify: VerifyPolicy;
  /** The resolved block budget (null = unlimited). */
  readonly budgetBytes: number | null;
  /** Plans `phase` (a subset of the stage's entries, in run order); throws a BudgetError when it does not fit. */
  schedule(phase: readonly E[], opts: PhaseOptions): ScheduledPhase;
}

/** What planning needs of a block entry: its id within the stage and its size. */
export type PlannedEntry = Pick<BlockEntry, 'id' | 'bytes'>;

/** The scheduler-id blocks of a stage's entries. */
export function stageBlockSpecs(prefix: string, entries: readonly PlannedEntry[]): BlockSpec[] {
  return entries.map((b) => ({ id: `${prefix}${b.id}`, bytes: b.bytes }));
}

/** The plan of one phase under a resolved budget (also the decode preflight's and the studio's preflight). */
export function planPhase(
  prefix: string,
  phase: readonly PlannedEntry[],
  budgetBytes: number | null,
  opts: Omit<PhaseOptions, 'wrapPrefetch'>,
): Plan {
  return planResidency({
    blocks: stageBlockSpecs(prefix, phase),
    budgetBytes,
    policy: opts.policy ?? 'paper',
    prefetch: opts.prefetch ?? true,
    passes: opts.passes,
  });
}

/**
 * Opens a stage: starts its memory meter (resetting the probe's peak when `ctx.onMemory` wants a report), works out
 * its working memory and hashed blocks, and resolves its budget against the stage's total block bytes.
 */
export async function openStage<E extends BlockEntry>(
  ctx: StageContext,
  spec: StageSpec<E>,
): Promise<OpenedStage<E>> {
  const { blockSet } = ctx;
  const { stage, prefix, entries } = spec;
  const meter = await startStageMemory(ctx.probe, ctx.onMemory !== undefined);
  const totalBytes = entries.reduce((s, b) => s + b.bytes, 0);
  const verify = spec.verify ?? 'first-load';
  const checked = entries.map((e) => ({ id: e.id, bytes: e.bytes, verified: blockSet.isVerified(e) }));
  const work = stageWorkOf(
    spec.sessions,
    entries.map((e) => e.id),
    verifyCopyBytes(checked, verify),
  );
  const extras = hashedBlocks(prefix, checked, verify);
  const budgetBytes = await resolveBudget(spec.budget, {
    totalBlockBytes: totalBytes,
    probe: ctx.probe,
    workBytes: work.totalBytes,
    baseBytes: meter.baseBytes ?? undefined,
  });
  return {
    meter,
    work,
    extras,
    verify,
    budgetBytes,
    schedule(phase: readonly E[], opts: PhaseOptions): ScheduledPhase {
      const blocks = stageBlockSpecs(prefix, phase);
      const plan = planPhase(prefix, phase, budgetBytes, opts);
      if (!plan.fits)
        throw new BudgetError(
          stage,
          budgetShortfall(spec.budget, plan, work, meter.baseBytes, meter.growthBytes),
        );
      const byId = new Map<string, BlockEntry>(phase.map((b) => [`${prefix}${b.id}`, b]));
      const scheduler = new BlockScheduler<WeightMap>({
        blocks,
        plan,
        clock: ctx.clock,
        emit: ctx.emit,
        stage,
        ...(opts.wrapPrefetch !== undefined ? { wrapPrefetch: opts.wrapPrefetch } : {}),
        load: async (id) => {
          const entry = byId.get(id);
          if (!entry) throw new Error(`unknown block ${id}`);
          return blockSet.loadBlock(entry, { verify, memory: ctx.memory });
        },
      });
      ctx.memory?.setCap(plan.predictedPeakBytes);
      return { blocks, plan, scheduler };
    },
  };
}
