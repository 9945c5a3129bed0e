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
import { formatBytes } from '../../format';
import type { VerifyPolicy } from '../blockset/load';
import type { MemoryProbe } from '../ports';
import type { BudgetSpec } from './budget';
import type { Plan } from './plan';
import { simulateResidency, type BlockSpec } from './residency';
import { storageOf, type Precision } from '../blockset/precision';

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
  /** The process footprint when the stage started, plus the growth still pending then ({@link processBase}). */
  readonly baseBytes: number | null;
  /** The part of `baseBytes` the process had yet to grow by on its own (runtime start-up, JS heap); 0 when warm. */
  readonly growthBytes: number;
  readonly work: StageWork;
  /** The stage's block budget (null: unlimited). */
  readonly budgetBytes: number | null;
  /** The CI-DL plan's peak of block bytes. */
  readonly blockPeakBytes: number;
  /** base + blocks and working memory at the stage's worst moment (replayStagePeak). */
  readonly predictedPeakBytes: number | null;
  /** The process's measured peak during the stage (Linux: VmHWM reset at the stage's start); null when unknown. */
  readonly measuredPeakBytes: number | null;
}

/** The start of a stage's memory measurement: its base footprint, and the report at its end. */
export interface StageMemoryMeter {
  /** The process footprint when the stage started plus its pending growth (null: no probe). */
  readonly baseBytes: number | null;
  /** The pending growth counted in `baseBytes`. */
  readonly growthBytes: number;
  /** The stage's report, with the measured peak since the start (when the probe can tell). */
  report(
    stage: StageMemoryReport['stage'],
    work: StageWork,
    plan: Pick<Plan, 'budgetBytes' | 'predictedPeakBytes'>,
    /** Blocks + working memory at the stage's worst moment (replayStagePeak); default: their sums. */
    replayedPeakBytes?: number,
  ): Promise<StageMemoryReport>;
}

/** What a process holds now and what it will still grow by on its own (`MemoryProbe.pendingGrowthBytes`). */
export interface ProcessBase {
  readonly heldBytes: number;
  readonly growthBytes: number;
}

/**
 * The base a process limit plans a stage from: the footprint now, and the growth the host expects before the process
 * is warm (a cold process creating its first runtime session grows by tens of MB that no stage's estimate covers).
 */
export async function processBase(probe: MemoryProbe): Promise<ProcessBase> {
  const heldBytes = await probe.footprintBytes();
  const growth = probe.pendingGrowthBytes?.() ?? 0;
  return { heldBytes, growthBytes: Number.isFinite(growth) && growth > 0 ? Math.ceil(growth) : 0 };
}

/**
 * Starts measuring a stage: reads the footprint and resets the probe's peak. With `measure` false (a preview decode
 * inside another stage, which must not disturb that stage's peak) the footprint is still read, nothing is reset.
 */
export async function startStageMemory(
  probe: MemoryProbe | undefined,
  measure: boolean,
): Promise<StageMemoryMeter> {
  const base = probe ? await processBase(probe) : null;
  const baseBytes = base === null ? null : base.heldBytes + base.growthBytes;
  const growthBytes = base?.growthBytes ?? 0;
  if (measure) probe?.resetPeak?.();
  return {
    baseBytes,
    growthBytes,
    report: async (stage, work, plan, replayed) => {
      const measured = measure ? ((await probe?.peakBytes?.()) ?? null) : null;
      const above = replayed ?? plan.predictedPeakBytes + work.totalBytes;
      return {
        stage,
        baseBytes,
        growthBytes,
        work,
        budgetBytes: plan.budgetBytes,
        blockPeakBytes: plan.predictedPeakBytes,
        predictedPeakBytes: baseBytes === null ? null : baseBytes + above,
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
  growthBytes = 0,
): string {
  const reason = plan.reason ?? 'a block exceeds the budget';
  if (spec.kind !== 'process' || plan.budgetBytes === null) return reason;
  const pending =
    growthBytes > 0 ? ` (${formatBytes(growthBytes, 'exact')} of it start-up growth still to come)` : '';
  const held = baseBytes === null ? '' : `${formatBytes(baseBytes, 'exact')} already held${pending}, `;
  return (
    `under the ${formatBytes(spec.limitBytes, 'exact')} process limit (${held}${formatBytes(work.totalBytes, 'exact')} working memory: ` +
    `${formatBytes(work.activationBytes, 'exact')} activations, ${formatBytes(work.widenBytes, 'exact')} widened weights, ` +
    `${formatBytes(work.verifyBytes, 'exact')} hash copy) ${formatBytes(plan.budgetBytes, 'exact')} is left for blocks: ${reason}`
  );
}

/**
 * The float32 bytes a session holds for a block stored below float32: its largest widened (DequantizeLinear /
 * Cast) matrix, plus a third of the next — one widened matrix is live at a time and the runtime's arena keeps some
 * slack beside it. Measured on ONNX Runtime 1.30 (CPU) with int8 T5-XXL layers: 1.1–1.4 × the largest matrix.
 */
export function widenBytesOf(
  keys: readonly { readonly name: string; readonly shape: readonly number[] }[],
  precision: Precision,
): number {
  if (precision === 'f32') return 0;
  const sizes = keys
    .filter((k) => storageOf(precision, k.name, k.shape) !== 'f32')
    .map((k) => f32Bytes(...k.shape))
    .sort((a, b) => b - a);
  return (sizes[0] ?? 0) + (sizes[1] ?? 0) / 3;
}

/** The runtime session a block computes in, and the working set its arena keeps once it has run. */
export interface BlockSession {
  /** Blocks with the same key share one session (e.g. every T5 layer). */
  readonly key: string;
  /** Activations and scratch of its largest run. */
  readonly activationBytes: number;
  /** float32 copies of its f16/int8 weights made while it runs. */
  readonly widenBytes: number;
}

/**
 * A stage's working memory by where it lives: tensors the stage keeps throughout, and the session each block runs
 * in (ONNX Runtime gives every session an arena that keeps its largest run's working set for as long as the session
 * lives; a block computed in TypeScript has none).
 */
export interface StageSessions {
  readonly heldBytes: number;
  /** The session of a block by its local id (`block.3`, `pair.0`, `spatial.up.2`); null: no session. */
  readonly sessionOf: (id: string) => BlockSession | null;
}

/** The StageWork of a stage's sessions over its blocks (every session counted once), plus a hash copy. */
export function stageWorkOf(sessions: StageSessions, ids: readonly string[], verifyBytes: number): StageWork {
  const seen = new Map<string, BlockSession>();
  for (const id of ids) {
    const s = sessions.sessionOf(id);
    if (s) seen.set(s.key, s);
  }
  let act = sessions.heldBytes;
  let widen = 0;
  for (const s of seen.values()) {
    act += s.activationBytes;
    widen += s.widenBytes;
  }
  return stageWork(act, widen, verifyBytes);
}

/**
 * The stage's peak of block bytes plus working memory, by replaying the scheduler's decisions (cidl/residency.ts):
 * at every moment, the blocks counted then + the hash copy of the block being loaded (WebCrypto copies what it
 * hashes) + the held tensors + the arenas of the sessions that have run so far (a block's own session counts from
 * its first compute on) + `startBytes` (sessions an earlier phase left alive).
 */
export function replayStagePeak(
  blocks: readonly BlockSpec[],
  plan: Pick<Plan, 'retained' | 'prefetch' | 'budgetBytes' | 'predictedPeakBytes'>,
  passes: number,
  wrapPrefetch: boolean,
  hashed: (id: string) => boolean,
  sessions: StageSessions & { readonly localId: (id: string) => string },
  startBytes = 0,
): number {
  const live = new Map<string, number>();
  let arenas = 0;
  let peak = 0;
  simulateResidency(
    {
      blocks,
      retained: new Set(plan.retained),
      prefetch: plan.prefetch,
      budgetBytes: plan.budgetBytes,
      passes: Math.min(passes, 2),
      wrapPrefetch: wrapPrefetch && passes > 1,
    },
    (m) => {
      if (m.kind === 'compute') {
        const s = sessions.sessionOf(sessions.localId(m.block.id));
        if (s && !live.has(s.key)) {
          live.set(s.key, s.activationBytes + s.widenBytes);
          arenas += s.activationBytes + s.widenBytes;
        }
      }
      const copying = m.kind === 'load' ? m.block : m.loading;
      const copy = copying && hashed(copying.id) ? copying.bytes : 0;
      peak = Math.max(peak, m.residentBytes + copy + arenas);
    },
  );
  return Math.max(peak, plan.predictedPeakBytes) + sessions.heldBytes + startBytes;
}

/**
 * Which blocks of a stage a run will hash under `policy` (decided before the stage runs: `first-load` hashes the
 * blocks this process has not checked yet); ids may carry the stage prefix (`text/block.3`).
 */
export function hashedBlocks(
  stagePrefix: string,
  entries: readonly { readonly id: string; readonly verified: boolean }[],
  policy: VerifyPolicy,
): (id: string) => boolean {
  const hashed = new Set(
    entries
      .filter((e) => policy === 'every-load' || (policy === 'first-load' && !e.verified))
      .map((e) => e.id),
  );
  return (id) => hashed.has(id.startsWith(stagePrefix) ? id.slice(stagePrefix.length) : id);
}

/** Strips a stage prefix from a scheduler block id (`text/block.3` → `block.3`). */
export function stageLocal(stagePrefix: string): (id: string) => string {
  return (id) => (id.startsWith(stagePrefix) ? id.slice(stagePrefix.length) : id);
}
