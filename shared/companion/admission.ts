/**
 * Admission control: before a run is accepted, whether the job can run on this device at all. The engine's memory
 * model (pipeline/memory-preflight.ts: each stage's activations, widened weights and hash copy from the job's
 * shapes, plus its largest block) is planned against what the device can give the engine process; a job whose
 * smallest possible schedule does not fit is refused up front (`job-too-large`, with the numbers) instead of
 * growing until the OS kills the process. CI-DL can shrink a stage's blocks down to its largest one, never its
 * activations: 1,024 frames at 4096×4096 need terabytes whatever the budget.
 */
import type { BlockSet } from '../engine/blockset/load';
import { formatBytes } from '../format';
import { preflightJobMemory } from '../engine/pipeline/memory-preflight';
import type { ResolvedGenerateParams } from '../engine/pipeline/generate-params';
import type { MemoryProbe } from '../engine/ports';
import type { RunVerdict } from './server-ports';

/** What the device can give the engine, as the host knows it. */
export interface EngineMemory {
  /** The most the engine process may hold: a phone's per-app limit, `--memory-limit`, or what the machine has. */
  readonly capacityBytes: number;
  /** What the engine process holds before the job (runtime, open block set, cached sessions). */
  readonly baseBytes: number;
  /** The capacity in words, for the refusal ("the iPhone 15 Pro's per-app limit"). */
  readonly what: string;
}

/** Whether a resolved job fits `memory` (see the module comment). */
export async function admitJob(
  blockSet: BlockSet,
  params: ResolvedGenerateParams,
  memory: EngineMemory,
): Promise<RunVerdict> {
  const fixed: MemoryProbe = {
    availableBytes: async () => Math.max(0, memory.capacityBytes - memory.baseBytes),
    footprintBytes: async () => memory.baseBytes,
  };
  const pre = await preflightJobMemory(
    blockSet,
    { ...params, cidl: { ...params.cidl, budget: { kind: 'process', limitBytes: memory.capacityBytes } } },
    fixed,
  );
  const bad = pre.stages.find((s) => !s.fits);
  if (bad === undefined) return { ok: true };
  const w = bad.work;
  const need = memory.baseBytes + w.totalBytes + bad.largestBlockBytes;
  return {
    ok: false,
    code: 'job-too-large',
    field: '',
    message:
      `this job needs at least ${formatBytes(need, 'exact')} in its ${bad.stage} stage (the engine's ` +
      `${formatBytes(memory.baseBytes, 'exact')} + ${formatBytes(w.activationBytes, 'exact')} activations + ` +
      `${formatBytes(w.widenBytes, 'exact')} widened weights + ${formatBytes(w.verifyBytes, 'exact')} hash copy + its largest block ` +
      `${formatBytes(bad.largestBlockBytes, 'exact')}), more than ${memory.what} (${formatBytes(memory.capacityBytes, 'exact')}): ` +
      `short by ${formatBytes(need - memory.capacityBytes, 'exact')}; ask for fewer frames or a smaller size`,
  };
}
