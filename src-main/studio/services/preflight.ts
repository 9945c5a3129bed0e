/**
 * `devices.preflight`: the CI-DL plan a run's parameters get on a device, before it is sent. It runs the engine's
 * own `resolveBudget` and `planPhase` (shared/engine/cidl) over the denoiser blocks, as the denoise stage does on the
 * device, with the budget the device will actually apply (a device with a per-app memory limit caps every budget at
 * it, as `applyProfileBudget` does in the companion).
 *
 * Block sizes: the wire protocol's device info carries each block set's total bytes and the sha256 of the model
 * it was made from, not the per-block sizes. When a block set converted from that model is in a local cache
 * (always the case for the built-in device), its manifest gives the exact sizes; otherwise the device's total is
 * split into equal blocks in the STDiT3 layout, and `notes` says so.
 *
 * The prompt: checked against the vocabulary of the same local copy (prompt-check.ts), so the composer can warn
 * about words the model does not know before the run.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../../../shared/format';
import { resolveBudget, type BudgetSpec } from '../../../shared/engine/cidl/budget';
import { planPhase, type PlannedEntry } from '../../../shared/engine/cidl/stage-scheduler';
import { parseManifest } from '../../../shared/engine/blockset/manifest';
import type { DeviceInfo } from '../../../shared/protocol/device';
import type { RunParams } from '../../../shared/protocol/run';
import type { PreflightResult } from '../../../shared/protocol/studio-contract';
import { applyProfileBudget } from '../../companion/profiles';
import { defaultCacheRoot } from '../../models/bundled';
import { checkPromptOnDevice } from './prompt-check';

/** Blocks assumed when no manifest is at hand: STDiT3's part1, 28 spatial-temporal pairs and part2. */
export const ASSUMED_DENOISER_BLOCKS = 30;

/** The denoiser blocks of a cached block set converted from the model with `sourceSha256`, or null. */
async function cachedDenoiserBlocks(
  cacheRoots: readonly string[],
  sourceSha256: string,
): Promise<{ blocks: PlannedEntry[]; manifestPath: string } | null> {
  if (!/^[0-9a-f]{64}$/.test(sourceSha256)) return null;
  for (const root of cacheRoots) {
    const manifestPath = join(root, 'blocksets', sourceSha256, 'manifest.json');
    if (!existsSync(manifestPath)) continue;
    try {
      const manifest = parseManifest(JSON.parse(await readFile(manifestPath, 'utf8')), manifestPath);
      const entries = manifest.stages.denoiser?.blocks ?? [];
      if (entries.length === 0) continue;
      return { blocks: entries, manifestPath };
    } catch {
      continue;
    }
  }
  return null;
}

/** Options of {@link preflight}. */
export interface PreflightOptions {
  /** Cache roots searched for the device's block set (default: `$ODSORA_CACHE` or ~/.cache/odsora). */
  cacheRoots?: readonly string[];
}

/** The CI-DL plan of `params` on the device that sent `info`. */
export async function preflight(
  info: DeviceInfo,
  params: RunParams,
  opts: PreflightOptions = {},
): Promise<PreflightResult> {
  const notes: string[] = [];
  const set = info.blockSets.find((b) => b.complete) ?? info.blockSets[0];
  if (set === undefined) {
    return {
      budgetBytes: null,
      predictedPeakBytes: 0,
      totalBlockBytes: 0,
      availableBytes: info.memory.availableBytes,
      fits: false,
      blocks: 0,
      notes: ['the device reports no installed block set: it cannot run a job'],
    };
  }
  const cached = await cachedDenoiserBlocks(opts.cacheRoots ?? [defaultCacheRoot()], set.manifestSha256);
  let blocks: PlannedEntry[];
  if (cached) {
    blocks = cached.blocks;
    notes.push(`block sizes from the local block set of ${set.model} (${cached.manifestPath})`);
  } else {
    const each = Math.floor(set.bytes / ASSUMED_DENOISER_BLOCKS);
    blocks = Array.from({ length: ASSUMED_DENOISER_BLOCKS }, (_, i) => ({ id: String(i), bytes: each }));
    notes.push(
      `the device reports only its block set's total size (${formatBytes(set.bytes, 'exact')}), not block sizes, and no ` +
        `local copy of ${set.model} matches its hash: assumed ${ASSUMED_DENOISER_BLOCKS} equal denoiser blocks ` +
        `(STDiT3: part1, 28 pairs, part2) sharing that total (text encoder and VAE bytes included)`,
    );
  }
  const totalBlockBytes = blocks.reduce((s, b) => s + b.bytes, 0);

  // The budget the device will apply: its per-app limit caps whatever was asked (CI-DL off included).
  const asked: BudgetSpec = params.cidl?.budget ?? { kind: 'unlimited' };
  const limit = info.memory.limitBytes;
  const applied = applyProfileBudget(params, limit).cidl?.budget ?? asked;
  if (limit !== null && JSON.stringify(applied) !== JSON.stringify(asked)) {
    notes.push(`the device caps block memory at its per-app limit of ${formatBytes(limit, 'exact')}`);
  }
  const available = info.memory.availableBytes;
  let budgetBytes: number | null;
  try {
    budgetBytes = await resolveBudget(applied, {
      totalBlockBytes,
      // The device's own report stands in for the probe its engine consults; footprint is not used by budgets.
      ...(available !== null
        ? { probe: { availableBytes: async () => available, footprintBytes: async () => 0 } }
        : {}),
    });
  } catch (err) {
    budgetBytes = null;
    notes.push(
      `budget ${applied.kind} cannot be resolved here (${(err as Error).message}): planned as unlimited`,
    );
  }
  if (applied.kind === 'auto' && available !== null)
    notes.push("auto budget: the device's available memory minus the reserve");

  const plan = planPhase('denoiser/', blocks, budgetBytes, {
    policy: params.cidl?.policy,
    prefetch: params.cidl?.prefetch,
    passes: params.steps ?? 30,
  });
  if (params.steps === undefined)
    notes.push('steps not set: planned for 30 passes (the model default may differ)');
  notes.push(
    `denoiser plan: ${plan.mode}, ${plan.retained.length} of ${blocks.length} blocks kept resident ` +
      `(${formatBytes(plan.retainedBytes, 'exact')}), ${formatBytes(plan.loadBytesPerPass, 'exact')} loaded per step`,
  );
  if (plan.reason) notes.push(plan.reason);
  let fits = plan.fits;
  if (fits && available !== null && plan.predictedPeakBytes > available) {
    // A simulated device measures its host process against a limit scaled to the model, so its free memory says
    // nothing about the blocks; a real device's does (past it the OS kills the app).
    const free = `the predicted peak ${formatBytes(plan.predictedPeakBytes, 'exact')} exceeds the ${formatBytes(available, 'exact')} the device reports free`;
    if (info.simulated)
      notes.push(
        `${free} (simulated device: its free memory is its host process against the scaled limit; not counted)`,
      );
    else {
      fits = false;
      notes.push(free);
    }
  }
  notes.push('block weights only: activations and the runtime come on top');
  const prompt = await checkPromptOnDevice(info, params, opts.cacheRoots ?? [defaultCacheRoot()]);
  if (prompt === null)
    notes.push(`prompt not checked against ${set.model}'s vocabulary: no local copy of the model`);
  return {
    budgetBytes,
    predictedPeakBytes: plan.predictedPeakBytes,
    totalBlockBytes,
    availableBytes: available,
    fits,
    blocks: blocks.length,
    notes,
    ...(prompt !== null ? { prompt } : {}),
  };
}
