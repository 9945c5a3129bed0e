/**
 * CI-DL preflight: which blocks stay resident across passes, whether the next block can be loaded while one
 * computes, and the peak block memory that results (exact: the scheduler's own decisions, replayed).
 */
import type { EngineEvent, Stage } from '../telemetry';
import { formatBytes } from '../../format';
import { simulateResidency, type BlockSpec } from './residency';

/**
 * Which blocks to keep across passes. `paper`: the first d blocks in pass order (On-device Sora). `none`: nothing.
 * `largest-first`: the largest blocks first, then smaller ones that still fit; never fewer retained bytes than
 * `paper`, so never more load bytes per pass (measured: fewer in ~96% of random layouts, see the tests).
 */
export type RetentionPolicy = 'paper' | 'none' | 'largest-first';

/** How the scheduler will run: everything resident, load-next-while-computing, or one block at a time. */
export type PlanMode = 'all-resident' | 'prefetch' | 'sequential' | 'does-not-fit';

/** What {@link planResidency} decides. */
export interface Plan {
  /** False when the largest block alone exceeds the budget; `reason` names it. */
  readonly fits: boolean;
  /** Why the plan does not fit, or why prefetch or retention was turned off. */
  readonly reason?: string;
  readonly mode: PlanMode;
  readonly policy: RetentionPolicy;
  /** Blocks kept resident across passes, in pass order. */
  readonly retained: readonly string[];
  readonly retainedBytes: number;
  /** Effective: whether the next block's load starts before the current block's compute is awaited. */
  readonly prefetch: boolean;
  /** The peak of loaded+loading block bytes the scheduler reaches (exact for runs of at least two passes). */
  readonly predictedPeakBytes: number;
  /** Bytes loaded per pass once retained blocks are in (every pass after the first). */
  readonly loadBytesPerPass: number;
  readonly totalBytes: number;
  readonly budgetBytes: number | null;
}

/** Inputs to {@link planResidency}. */
export interface PlanInput {
  /** The blocks in pass order. */
  readonly blocks: readonly BlockSpec[];
  /** Null: unlimited (everything stays resident). */
  readonly budgetBytes: number | null;
  /** Default `paper`. */
  readonly policy?: RetentionPolicy;
  /** Whether to load the next block while one computes. Default true. */
  readonly prefetch?: boolean;
  /** Passes the stage will run, if known. One pass retains nothing (nothing is reused). */
  readonly passes?: number;
  /** Matches the scheduler's `wrapPrefetch` option (default true). */
  readonly wrapPrefetch?: boolean;
}

function sum(blocks: readonly BlockSpec[]): number {
  let total = 0;
  for (const b of blocks) total += b.bytes;
  return total;
}

function maxBytes(blocks: readonly BlockSpec[]): number {
  let max = 0;
  for (const b of blocks) if (b.bytes > max) max = b.bytes;
  return max;
}

/** Whether retaining `set` leaves room for `factor` of the largest non-retained block within the budget. */
function retentionFits(
  blocks: readonly BlockSpec[],
  set: ReadonlySet<string>,
  factor: number,
  budget: number,
): boolean {
  const kept = blocks.filter((b) => set.has(b.id));
  const rest = blocks.filter((b) => !set.has(b.id));
  return sum(kept) + factor * maxBytes(rest) <= budget;
}

/** Paper: the largest d such that the first d blocks + factor x the largest other block fit. */
function choosePaper(blocks: readonly BlockSpec[], factor: number, budget: number): Set<string> | null {
  for (let d = blocks.length; d >= 0; d--) {
    const set = new Set(blocks.slice(0, d).map((b) => b.id));
    if (retentionFits(blocks, set, factor, budget)) return set;
  }
  return null;
}

/** Largest-first: the most of the largest blocks that fit, then any smaller block that still fits, largest first. */
function chooseLargestFirst(
  blocks: readonly BlockSpec[],
  factor: number,
  budget: number,
): Set<string> | null {
  // Stable sort: equal sizes keep pass order, so uniform blocks retain exactly what `paper` retains.
  const bySize = blocks.map((b, i) => ({ b, i })).sort((x, y) => y.b.bytes - x.b.bytes || x.i - y.i);
  for (let k = bySize.length; k >= 0; k--) {
    const set = new Set(bySize.slice(0, k).map((x) => x.b.id));
    if (!retentionFits(blocks, set, factor, budget)) continue;
    for (const { b } of bySize.slice(k)) {
      set.add(b.id);
      if (!retentionFits(blocks, set, factor, budget)) set.delete(b.id);
    }
    return set;
  }
  return null;
}

function chooseRetained(
  policy: RetentionPolicy,
  blocks: readonly BlockSpec[],
  factor: number,
  budget: number,
): Set<string> | null {
  switch (policy) {
    case 'none':
      return retentionFits(blocks, new Set(), factor, budget) ? new Set() : null;
    case 'paper':
      return choosePaper(blocks, factor, budget);
    case 'largest-first': {
      // The greedy is better than the prefix in almost every layout, but not all (about 0.1% of random ones):
      // keep whichever retains more bytes, so this policy never loads more per pass than `paper`.
      const greedy = chooseLargestFirst(blocks, factor, budget);
      const prefix = choosePaper(blocks, factor, budget);
      if (greedy === null || prefix === null) return greedy ?? prefix;
      const bytesOf = (set: ReadonlySet<string>): number => sum(blocks.filter((b) => set.has(b.id)));
      return bytesOf(prefix) > bytesOf(greedy) ? prefix : greedy;
    }
  }
}

function validate(input: PlanInput): void {
  const seen = new Set<string>();
  for (const b of input.blocks) {
    if (seen.has(b.id)) throw new Error(`CI-DL plan: block ${b.id} appears twice`);
    seen.add(b.id);
    if (!Number.isFinite(b.bytes) || b.bytes < 0)
      throw new Error(`CI-DL plan: block ${b.id} has ${b.bytes} bytes`);
  }
  const budget = input.budgetBytes;
  if (budget !== null && (!Number.isFinite(budget) || budget < 0)) {
    throw new Error(`CI-DL plan: invalid budget ${budget}`);
  }
  if (input.passes !== undefined && !(Number.isInteger(input.passes) && input.passes >= 1)) {
    throw new Error(`CI-DL plan: invalid pass count ${input.passes}`);
  }
}

/**
 * Plans residency for one stage. Retention follows the paper's rule, keep while
 * `available - blockSize > needed + 2 * blockSize`, with exact block bytes instead of the app's fixed 170 MB estimate
 * and activations left to the budget's reserve: retained bytes + (prefetch ? 2 : 1) x the largest non-retained block
 * must fit the budget. If no retention leaves room for two blocks, prefetch is turned off (sequential).
 */
export function planResidency(input: PlanInput): Plan {
  validate(input);
  const { blocks, budgetBytes } = input;
  const policy = input.policy ?? 'paper';
  const wantPrefetch = input.prefetch ?? true;
  const passes = input.passes;
  const totalBytes = sum(blocks);
  const largest = blocks.reduce<BlockSpec | undefined>(
    (m, b) => (m === undefined || b.bytes > m.bytes ? b : m),
    undefined,
  );
  const reasons: string[] = [];

  let retained: Set<string>;
  let prefetch = wantPrefetch;
  if (budgetBytes === null) {
    retained = new Set(blocks.map((b) => b.id));
  } else {
    if (largest !== undefined && largest.bytes > budgetBytes) {
      return {
        fits: false,
        reason:
          `block ${largest.id} needs ${formatBytes(largest.bytes, 'exact')} but the budget is ${formatBytes(budgetBytes, 'exact')}: ` +
          `no schedule fits (raise the budget to at least ${formatBytes(largest.bytes, 'exact')})`,
        mode: 'does-not-fit',
        policy,
        retained: [],
        retainedBytes: 0,
        prefetch: false,
        predictedPeakBytes: largest.bytes,
        loadBytesPerPass: totalBytes,
        totalBytes,
        budgetBytes,
      };
    }
    let chosen = wantPrefetch ? chooseRetained(policy, blocks, 2, budgetBytes) : null;
    if (wantPrefetch && chosen === null) {
      prefetch = false;
      reasons.push(
        `prefetch off (sequential load, compute, release): even the smallest retention leaves no room for two ` +
          `blocks, e.g. ${largest?.id} twice is ${formatBytes(2 * (largest?.bytes ?? 0), 'exact')} > budget ` +
          `${formatBytes(budgetBytes, 'exact')}`,
      );
    }
    // With factor 1 the empty set always fits (the largest block fits), so this is never null.
    chosen ??= chooseRetained(policy, blocks, 1, budgetBytes) ?? new Set<string>();
    retained = chosen;
  }
  if (passes === 1 && retained.size > 0) {
    retained = new Set();
    reasons.push('one pass only: nothing is reused, so nothing is retained');
  }

  const retainedIds = blocks.filter((b) => retained.has(b.id)).map((b) => b.id);
  const retainedBytes = sum(blocks.filter((b) => retained.has(b.id)));
  // Two passes cover every state: the first loads the retained blocks, later passes repeat the second.
  const simulation = simulateResidency({
    blocks,
    retained,
    prefetch,
    budgetBytes,
    passes: Math.min(passes ?? 2, 2),
    wrapPrefetch: (input.wrapPrefetch ?? true) && (passes === undefined || passes > 1),
  });
  const mode: PlanMode =
    retained.size === blocks.length ? 'all-resident' : prefetch ? 'prefetch' : 'sequential';
  return {
    fits: true,
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    mode,
    policy,
    retained: retainedIds,
    retainedBytes,
    prefetch,
    predictedPeakBytes: simulation.peakBytes,
    loadBytesPerPass: totalBytes - retainedBytes,
    totalBytes,
    budgetBytes,
  };
}

/** The `plan` telemetry event for a plan. */
export function planEvent(plan: Plan, stage: Stage, atMs: number): EngineEvent {
  return {
    type: 'plan',
    atMs,
    stage,
    budgetBytes: plan.budgetBytes,
    totalBlockBytes: plan.totalBytes,
    predictedPeakBytes: plan.predictedPeakBytes,
    retained: plan.retained,
    prefetch: plan.prefetch,
    fits: plan.fits,
  };
}
