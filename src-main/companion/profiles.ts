/**
 * Device profiles of the Node companion: what it says it is, and the memory limit it applies to CI-DL budgets.
 *
 * `iphone-15-pro` (simulated): the iPhone 15 Pro gives an app about 3.3 GB before jetsam. With the full-size Open-Sora
 * v1.2 (STDiT3-XL's depth and width: {@link isFullSizeModel}) that is what the companion process gets: a whole-process
 * limit (`process` budgets, cidl/memory-limit.ts), no scaling. The real stack holds about
 * {@link REAL_OPENSORA_BLOCK_BYTES} bytes of blocks (T5-XXL encoder 4.76 B parameters, STDiT3-XL/2 1.12 B, the VAE
 * 0.38 B, float32: 6.26 B × 4 ≈ 25.0 GB). A small model would never feel 3.3 GB, so for it the limit is a block
 * budget scaled to the model in use:
 *
 *     limitBytes = floor(modelBlockBytes × IPHONE_15_PRO_APP_LIMIT_BYTES / REAL_OPENSORA_BLOCK_BYTES)
 *
 * (but at least the model's largest block, so a schedule exists), i.e. the same fraction (≈ 13.2 %) of the model's blocks as 3.3 GB is of the real Open-Sora's, so the nano model
 * streams its blocks under CI-DL exactly as the full model would on the phone. Runs that ask for no budget, an
 * unlimited one or `auto` get `{ kind: 'bytes', bytes: limitBytes }`; an explicit byte budget is capped at it.
 *
 * `desktop`: this machine as is (no limit; a target device). `gpu`: the baseline reference (role `baseline`) on this
 * machine's accelerator: ONNX Runtime's CUDA provider (Core ML on macOS) unless `--ep` says otherwise; the device's
 * model names the provider (`gpu-baseline-cuda`, `gpu-baseline-cpu`), so a baseline is what it says.
 */
import type { BudgetSpec, RequestBudgetSpec } from '../../shared/engine/cidl/budget';
import type { ExecutionProviderName } from '../../shared/engine/execution-provider';
import type { RunParams } from '../../shared/protocol/run';

/** Per-app memory limit of an iPhone 15 Pro (8 GB RAM), bytes. */
const IPHONE_15_PRO_APP_LIMIT_BYTES = 3_300_000_000;
/** Block bytes of the real Open-Sora v1.2 stack (float32), bytes. */
const REAL_OPENSORA_BLOCK_BYTES = 25_040_000_000;

/** Profile names. */
export const PROFILE_NAMES = ['iphone-15-pro', 'desktop', 'gpu'] as const;
/** A profile name. */
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** What a profile makes the device say and do. */
export interface DeviceProfile {
  name: ProfileName;
  model: string;
  role: 'target' | 'baseline';
  simulated: boolean;
  /** The per-app limit applied to budgets (null: none). */
  limitBytes: number | null;
  /** `process`: the limit is on the whole process (full-size model); `blocks`: on each stage's block bytes. */
  limitKind: 'process' | 'blocks';
}

/** Whether a denoiser config is the full-size STDiT3-XL/2 (28 pairs of width 1152), as the paper runs it. */
export function isFullSizeModel(denoiserConfig: Record<string, unknown> | undefined): boolean {
  const depth = denoiserConfig?.['depth'];
  const width = denoiserConfig?.['hidden_size'];
  return typeof depth === 'number' && typeof width === 'number' && depth >= 28 && width >= 1152;
}

/** The parameters a run is given once a profile's limit is applied (`process` budgets are host-side only). */
export type EffectiveRunParams = Omit<RunParams, 'cidl'> & {
  cidl?: Omit<NonNullable<RunParams['cidl']>, 'budget'> & { budget: BudgetSpec };
};

/**
 * The iPhone limit scaled to a model with `modelBlockBytes` of blocks (see the module comment), but never below
 * `largestBlockBytes`: every real Open-Sora block fits in 3.3 GB, so a scaled model must keep a schedule too.
 */
export function scaledIphoneLimit(modelBlockBytes: number, largestBlockBytes = 0): number {
  const scaled = Math.floor((modelBlockBytes * IPHONE_15_PRO_APP_LIMIT_BYTES) / REAL_OPENSORA_BLOCK_BYTES);
  return Math.max(1, scaled, Math.ceil(largestBlockBytes));
}

/** The execution provider a profile runs on when `--ep` is not given: the `gpu` profile's is the accelerator. */
export function defaultExecutionProvider(
  name: ProfileName,
  platform: string = process.platform,
): ExecutionProviderName {
  if (name !== 'gpu') return 'cpu';
  return platform === 'darwin' ? 'coreml' : 'cuda';
}

/** The model a profile is made for. */
export interface ProfileModel {
  /** Bytes of every block of every stage. */
  blockBytes: number;
  largestBlockBytes?: number;
  /** Full-size Open-Sora v1.2 ({@link isFullSizeModel}): the phone's limit applies to the process unscaled. */
  fullSize?: boolean;
}

/**
 * Builds a profile for the model in use. `memoryBudgetBytes` (`--memory-budget` as bytes) overrides the block limit;
 * `memoryLimitBytes` (`--memory-limit`) sets a whole-process limit on any profile.
 */
export function makeProfile(
  name: ProfileName,
  model: ProfileModel,
  memoryBudgetBytes: number | null = null,
  memoryLimitBytes: number | null = null,
  ep: ExecutionProviderName = defaultExecutionProvider(name),
): DeviceProfile {
  const blocks = (limit: number | null): Pick<DeviceProfile, 'limitBytes' | 'limitKind'> =>
    memoryLimitBytes !== null
      ? { limitBytes: memoryLimitBytes, limitKind: 'process' }
      : { limitBytes: limit, limitKind: 'blocks' };
  switch (name) {
    case 'iphone-15-pro':
      return {
        name,
        model: 'iphone-15-pro',
        role: 'target',
        simulated: true,
        ...(memoryBudgetBytes === null && memoryLimitBytes === null && model.fullSize
          ? { limitBytes: IPHONE_15_PRO_APP_LIMIT_BYTES, limitKind: 'process' as const }
          : blocks(memoryBudgetBytes ?? scaledIphoneLimit(model.blockBytes, model.largestBlockBytes ?? 0))),
      };
    case 'desktop':
      return {
        name,
        model: `desktop-${process.platform}-${process.arch}`,
        role: 'target',
        simulated: false,
        ...blocks(memoryBudgetBytes),
      };
    case 'gpu':
      return {
        name,
        model: `gpu-baseline-${ep}`,
        role: 'baseline',
        simulated: false,
        ...blocks(memoryBudgetBytes),
      };
  }
}

/**
 * Applies a profile's limit (and a default budget spec) to a run's parameters. A `process` limit turns the budget
 * into a `process` spec capped by what the run asked (an unlimited or `auto` request is not a cap); a block limit
 * caps the block budget, as below.
 */
export function applyProfileLimit(
  params: RunParams,
  limit: { bytes: number | null; kind: DeviceProfile['limitKind'] },
  defaultBudget: RequestBudgetSpec | null = null,
): EffectiveRunParams {
  if (limit.kind === 'blocks' || limit.bytes === null)
    return applyProfileBudget(params, limit.bytes, defaultBudget);
  const requested = params.cidl?.budget ?? defaultBudget ?? { kind: 'unlimited' as const };
  const cap = requested.kind === 'unlimited' || requested.kind === 'auto' ? {} : { cap: requested };
  return {
    ...params,
    cidl: { ...(params.cidl ?? {}), budget: { kind: 'process', limitBytes: limit.bytes, ...cap } },
  };
}

/** Applies a block limit (and a default budget spec) to a run's parameters. */
export function applyProfileBudget(
  params: RunParams,
  limitBytes: number | null,
  defaultBudget: RequestBudgetSpec | null = null,
): RunParams {
  const requested = params.cidl?.budget ?? defaultBudget ?? { kind: 'unlimited' as const };
  if (limitBytes === null)
    return defaultBudget === null || params.cidl ? params : { ...params, cidl: { budget: requested } };
  let budget: RequestBudgetSpec = requested;
  if (requested.kind === 'unlimited' || requested.kind === 'auto')
    budget = { kind: 'bytes', bytes: limitBytes };
  else if (requested.kind === 'bytes')
    budget = { kind: 'bytes', bytes: Math.min(requested.bytes, limitBytes) };
  return { ...params, cidl: { ...(params.cidl ?? {}), budget } };
}

/**
 * What a profile's device can give its engine process, for admission control (shared/companion/admission.ts): a
 * whole-process limit as is; the simulated iPhone's per-app limit when its limit is a (scaled) block budget — a
 * job the phone could not hold is refused even on a small model; bytes null: the machine's available memory.
 */
export function engineCapacity(profile: DeviceProfile): { bytes: number | null; what: string } {
  if (profile.limitKind === 'process' && profile.limitBytes !== null)
    return {
      bytes: profile.limitBytes,
      what:
        profile.name === 'iphone-15-pro' && profile.limitBytes === IPHONE_15_PRO_APP_LIMIT_BYTES
          ? "the iPhone 15 Pro's per-app limit"
          : 'the memory limit',
    };
  if (profile.name === 'iphone-15-pro')
    return { bytes: IPHONE_15_PRO_APP_LIMIT_BYTES, what: "the iPhone 15 Pro's per-app limit" };
  return { bytes: null, what: "this machine's available memory" };
}
