// Memory preflight: the engine's own CI-DL plan over a converted block set's real block sizes, with the budget the
// device will apply, and honest notes when the sizes have to be assumed.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planResidency } from '../../../../../shared/engine/cidl/plan';
import { formatBytes } from '../../../../../shared/format';
import type { BlockSet } from '../../../../../shared/engine/blockset/load';
import type { DeviceInfo } from '../../../../../shared/protocol/device';
import { NodeFileSystem, nodeSha256 } from '../../../../../src-main/adapters/node-fs';
import { ASSUMED_DENOISER_BLOCKS, preflight } from '../../../../../src-main/studio/services/preflight';
import { syntheticBlockSet } from '../../../../helpers/synthetic-blockset';

const SHA = 'ab'.repeat(32);
let cacheRoot: string;
let blockSet: BlockSet;
let cleanup: () => Promise<void>;

function device(over: Partial<DeviceInfo> = {}, memory: Partial<DeviceInfo['memory']> = {}): DeviceInfo {
  return {
    id: 'dev-1',
    name: 'Phone',
    model: 'iphone-15-pro',
    role: 'target',
    simulated: false,
    platform: 'ios',
    engineVersion: '0.3.0',
    protocol: { min: 1, max: 1 },
    memory: { limitBytes: null, availableBytes: null, ...memory },
    thermalState: null,
    backends: ['cpu'],
    blockSets: [
      { name: 'synthetic', model: 'synthetic', bytes: 123_456_789, manifestSha256: SHA, complete: true },
    ],
    ...over,
  };
}

beforeAll(async () => {
  ({ blockSet, cleanup } = await syntheticBlockSet(new NodeFileSystem(), nodeSha256));
  cacheRoot = mkdtempSync(join(tmpdir(), 'odsora-preflight-cache-'));
  mkdirSync(join(cacheRoot, 'blocksets', SHA), { recursive: true });
  copyFileSync(blockSet.path('manifest.json'), join(cacheRoot, 'blocksets', SHA, 'manifest.json'));
});

afterAll(async () => {
  await cleanup?.();
  rmSync(cacheRoot, { recursive: true, force: true });
});

const params = { prompt: 'a ball', seed: 1, steps: 10 };

describe('preflight', () => {
  it('plans the real blocks of the device’s model under a fraction budget, as the engine would', async () => {
    const blocks = blockSet.denoiserBlocks().map((b) => ({ id: `denoiser/${b.id}`, bytes: b.bytes }));
    const total = blocks.reduce((s, b) => s + b.bytes, 0);
    const r = await preflight(
      device(),
      { ...params, cidl: { budget: { kind: 'fraction', of: 0.5 } } },
      {
        cacheRoots: [cacheRoot],
      },
    );
    const expected = planResidency({ blocks, budgetBytes: Math.floor(total * 0.5), passes: 10 });
    expect(r).toMatchObject({
      blocks: blocks.length,
      totalBlockBytes: total,
      budgetBytes: Math.floor(total * 0.5),
      predictedPeakBytes: expected.predictedPeakBytes,
      fits: true,
      availableBytes: null,
    });
    expect(r.notes[0]).toMatch(/block sizes from the local block set of synthetic/);
  });

  it('applies the device’s per-app limit even with CI-DL off, and says so', async () => {
    const largest = Math.max(...blockSet.denoiserBlocks().map((b) => b.bytes));
    const limit = largest * 3;
    const r = await preflight(device({}, { limitBytes: limit }), params, { cacheRoots: [cacheRoot] });
    expect(r.budgetBytes).toBe(limit);
    expect(r.predictedPeakBytes).toBeLessThanOrEqual(limit);
    expect(r.notes.join('\n')).toMatch(/caps block memory at its per-app limit/);
  });

  it('does not fit a budget below the largest block, or a real device without the free memory', async () => {
    const tiny = await preflight(
      device(),
      { ...params, cidl: { budget: { kind: 'bytes', bytes: 10 } } },
      {
        cacheRoots: [cacheRoot],
      },
    );
    expect(tiny.fits).toBe(false);
    expect(tiny.notes.join('\n')).toMatch(/no schedule fits/);
    const full = await preflight(device({}, { availableBytes: 1 }), params, { cacheRoots: [cacheRoot] });
    expect(full.fits).toBe(false);
    expect(full.notes.join('\n')).toMatch(/exceeds the 1 B the device reports free/);
    const simulated = await preflight(device({ simulated: true }, { availableBytes: 1 }), params, {
      cacheRoots: [cacheRoot],
    });
    expect(simulated.fits).toBe(true);
  });

  it('resolves auto from the device’s free memory', async () => {
    const r = await preflight(
      device({}, { availableBytes: 10_000_000 }),
      { ...params, cidl: { budget: { kind: 'auto', reserveBytes: 1_000_000 } } },
      { cacheRoots: [cacheRoot] },
    );
    expect(r.budgetBytes).toBe(9_000_000);
  });

  it('plans with the run’s policy, prefetch and steps, and says the plan in a note', async () => {
    const blocks = blockSet.denoiserBlocks().map((b) => ({ id: `denoiser/${b.id}`, bytes: b.bytes }));
    const largest = Math.max(...blocks.map((b) => b.bytes));
    const budget = { kind: 'bytes', bytes: largest * 2 } as const;
    const cidl = { budget, policy: 'largest-first', prefetch: false } as const;
    const r = await preflight(device(), { ...params, steps: 7, cidl }, { cacheRoots: [cacheRoot] });
    const expected = planResidency({
      blocks,
      budgetBytes: largest * 2,
      policy: 'largest-first',
      prefetch: false,
      passes: 7,
    });
    expect(expected.mode).toBe('sequential');
    expect(r.predictedPeakBytes).toBe(expected.predictedPeakBytes);
    expect(r.notes).toContain(
      `denoiser plan: sequential, ${expected.retained.length} of ${blocks.length} blocks kept resident ` +
        `(${formatBytes(expected.retainedBytes, 'exact')}), ${formatBytes(expected.loadBytesPerPass, 'exact')} loaded per step`,
    );
    expect(expected.retained.length).toBeGreaterThan(0);
  });

  it('assumes equal STDiT3 blocks when no local block set matches, and says so', async () => {
    const r = await preflight(device(), params, { cacheRoots: [join(cacheRoot, 'nowhere')] });
    expect(r.blocks).toBe(ASSUMED_DENOISER_BLOCKS);
    expect(r.totalBlockBytes).toBe(
      Math.floor(123_456_789 / ASSUMED_DENOISER_BLOCKS) * ASSUMED_DENOISER_BLOCKS,
    );
    expect(r.notes[0]).toMatch(/reports only its block set's total size .* assumed 30 equal denoiser blocks/);
    const none = await preflight(device({ blockSets: [] }), params);
    expect(none).toMatchObject({ fits: false, blocks: 0 });
    expect(none.notes[0]).toMatch(/no installed block set/);
  });
});
