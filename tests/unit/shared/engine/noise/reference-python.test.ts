// Cross-checks gaussianNoise against tools/reference/portable_noise.py (independent Python implementation), bit for
// bit. Needs /usr/bin/python3 with NumPy; skipped (with the reason) otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianNoise } from '../../../../../shared/engine/noise/gaussian';

const python = '/usr/bin/python3';
const script = join(__dirname, '../../../../../tools/reference/portable_noise.py');

function skipReason(): string | null {
  if (!existsSync(python)) return `${python} not found`;
  const probe = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return `NumPy is not importable by ${python} (${(probe.stderr || '').trim().split('\n').pop()})`;
  return null;
}

const reason = skipReason();
if (reason) console.warn(`skipping the Python noise cross-check: ${reason}`);

describe.skipIf(reason !== null)('gaussianNoise vs tools/reference/portable_noise.py', () => {
  it.each<[number, number[]]>([
    [0, [3, 7]],
    [42, [1, 4, 5, 8, 8]],
    [1024, [1, 4, 4, 8, 8]],
    [2 ** 32 + 5, [101]],
    [2 ** 53 - 1, [2, 2, 9]],
  ])('seed %d, dims %j: identical float32 bits', (seed, dims) => {
    const buf = execFileSync(python, [script, String(seed), ...dims.map(String)]);
    const ref = new Uint32Array(new Uint8Array(buf).buffer);
    const ours = gaussianNoise(seed, dims).data;
    expect(ref.length).toBe(ours.length);
    expect(Array.from(new Uint32Array(ours.buffer))).toEqual(Array.from(ref));
  });
});
