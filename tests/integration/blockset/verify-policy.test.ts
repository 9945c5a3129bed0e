import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlockSet } from '../../../shared/engine/blockset/load';
import type { Sha256 } from '../../../shared/engine/ports';
import { NodeFileSystem, nodeSha256 } from '../../../src-main/adapters/node-fs';
import { syntheticBlockSet, SMALL_CONFIG } from '../../helpers/synthetic-blockset';

const fs = new NodeFileSystem();
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const made = await syntheticBlockSet(fs, nodeSha256, { ...SMALL_CONFIG, depth: 2 });
  dir = `${made.dir}/blockset`;
  cleanup = made.cleanup;
});
afterAll(() => cleanup());

describe('block hash verification policy', () => {
  it("hashes each block file once per opened block set with 'first-load', every time with 'every-load'", async () => {
    let hashed = 0;
    const counting: Sha256 = (bytes) => {
      hashed += 1;
      return nodeSha256(bytes);
    };
    const set = await openBlockSet(fs, counting, dir);
    const entry = set.block('pair.0');
    await set.loadBlock(entry, { verify: 'first-load' });
    await set.loadBlock(entry, { verify: 'first-load' });
    expect(hashed).toBe(1);
    await set.loadBlock(entry, { verify: 'every-load' });
    expect(hashed).toBe(2);
    await set.loadBlock(entry, { verify: 'off' });
    expect(hashed).toBe(2);
  });
});
