/**
 * Whole-process memory limits (a phone's per-app limit, `--memory-limit`): what a stage may spend on block weights
 * once everything else the process holds is counted, and the process peak that results.
 *
 *     predicted process peak of a stage = base + blocks + work
 *
 * - `base`: what the process holds when the stage starts (the host's footprint: runtime, compiled sessions, the JS
 *   heap, the previous stages' results);
 * - `blocks`: the CI-DL plan's peak of loaded + loading block bytes (exact: cidl/plan.ts; block buffers are pooled,
 *   so the process really holds that and no more: blockset/buffer-pool.ts);
 * - `work`: the stage's memory besides its blocks — the largest graph run's activations and scratch, the float32
 *   copies graphs make of f16/int8 weights while they run, and the copy WebCrypto takes of a block it hashes — each
 *   estimated by the model family (t5/memory.ts, stdit3/memory.ts, vae/memory.ts) from the job's shape.
 *
 * Under a limit L the stage's block budget is L − base − work (`process` budgets: cidl/budget.ts). A stage whose
 * largest block does not fit that is refused up front with the shortfall.
 */
import type { VerifyPolicy } from '../blockset/load';
import type { MemoryProbe } from '../ports';
import { formatBytes, type BudgetSpec } from './budget';
import type { Plan } from './plan';

/** A stage's memory besides its block weights, bytes, by cause. */
export interface StageWork {
  /** Activations and scratch of the stage's largest graph run, plus the tensors the stage keeps between runs. */
  readonly activationBytes: number;
  /** float32 copies of f16/int8 weights the graphs make while they run (0 for f32 weights). */
  readonly widenBytes: number;
  /** The copy of a block WebCrypto makes while hashing it (0 when nothing is verified). */
  readonly verifyBytes: number;
  /** The sum. */
  readonly totalBytes: number;
}

/** A StageWork from its parts. */
export function stageWork(activationBytes: number, widenBytes: number, verifyBytes: number): StageWork {
  const a = Math.ceil(activationBytes);
  const w = Math.ceil(widenBytes);
  const v = Math.ceil(verifyBytes);
  return { activationBytes: a, widenBytes: w, verifyBytes: v, totalBytes: a + w + v };
}

/**
 * The largest block a run will hash: with `first-load`, blocks not yet verified in this process; with `every-load`,
 * every block; none with `off`.
 */
export function verifyCopyBytes(
  blocks: readonly { readonly bytes: number; readonly verified: boolean }[],
  policy: VerifyPolicy,
): number {
  if (policy === 'off') return 0;
  let max = 0;
  for (const b of blocks) if ((policy === 'every-load' || !b.verified) && b.bytes > max) max = b.bytes;
  return max;
}

/** Bytes of a float32 tensor of `dims`. */
export function f32Bytes(...dims: number[]): number {
  return 4 * dims.reduce((a, b) => a * b, 1);
}

/** What one stage is predicted to hold at its peak, and what was measured. */
export interface StageMemoryReport {
  readonly stage: 'text' | 'denoise' | 'decode';
  /** The process footprint when the stage started. */
  readonly baseBytes: number | null;
  readonly work: StageWork;
  /** The stage's block budget (null: unlimited). */
  readonly budgetBytes: number | null;
  /** The CI-DL plan's peak of block bytes. */
  readonly blockPeakBytes: number;
  /** base + blocks + work. */
  readonly predictedPeakBytes: number | null;
  /** The process's measured peak during the stage (Linux: VmHWM reset at the stage's start); null when unknown. */
  readonly measuredPeakBytes: number | null;
}

/** The start of a stage's memory measurement: its base footprint, and the report at its end. */
export interface StageMemoryMeter {
  /** The process footprint when the stage started (null: no probe, or not measured). */
  readonly baseBytes: number | null;
  /** The stage's report, with the measured peak since the start (when the probe can tell). */
  report(
    stage: StageMemoryReport['stage'],
    work: StageWork,
    plan: Pick<Plan, 'budgetBytes' | 'predictedPeakBytes'>,
  ): Promise<StageMemoryReport>;
}

/**
 * Starts measuring a stage: reads the footprint and resets the probe's peak. With `measure` false (a preview decode
 * inside another stage, which must not disturb that stage's peak) the footprint is still read, nothing is reset.
 */
export async function startStageMemory(
  probe: MemoryProbe | undefined,
  measure: boolean,
): Promise<StageMemoryMeter> {
  const baseBytes = probe ? await probe.footprintBytes() : null;
  if (measure) probe?.resetPeak?.();
  return {
    baseBytes,
    report: async (stage, work, plan) => {
      const measured = measure ? ((await probe?.peakBytes?.()) ?? null) : null;
      return {
        stage,
        baseBytes,
        work,
        budgetBytes: plan.budgetBytes,
        blockPeakBytes: plan.predictedPeakBytes,
        predictedPeakBytes: baseBytes === null ? null : baseBytes + plan.predictedPeakBytes + work.totalBytes,
        measuredPeakBytes: measured,
      };
    },
  };
}

/**
 * Why a plan does not fit, with the arithmetic of a `process` limit when that is the budget: what the process holds,
 * the stage's working memory, what is left for blocks and how far short the largest block falls.
 */
export function budgetShortfall(
  spec: BudgetSpec,
  plan: Pick<Plan, 'reason' | 'budgetBytes'>,
  work: StageWork,
  baseBytes: number | null,
): string {
  const reason = plan.reason ?? 'a block exceeds the budget';
  if (spec.kind !== 'process' || plan.budgetBytes === null) return reason;
  const held = baseBytes === null ? '' : `${formatBytes(baseBytes)} already held, `;
  return (
    `under the ${formatBytes(spec.limitBytes)} process limit (${held}${formatBytes(work.totalBytes)} working memory: ` +
    `${formatBytes(work.activationBytes)} activations, ${formatBytes(work.widenBytes)} widened weights, ` +
    `${formatBytes(work.verifyBytes)} hash copy) ${formatBytes(plan.budgetBytes)} is left for blocks: ${reason}`
  );
}
