// Independent PyTorch reference STDiT3 (tools/reference/stdit3.py, written from the spec) against the opensora-tiny
// golden fixture. Needs Debian's python3-torch under /usr/bin/python3 (CI installs it via .ci/run).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env, encoding: 'utf8', timeout: 60_000 });
const torchAvailable = probe.status === 0;
const skipReason = torchAvailable
  ? ''
  : `${PYTHON} cannot import torch/numpy (apt-get install python3-torch python3-numpy): ${(probe.stderr ?? String(probe.error ?? '')).trim().split('\n').pop() ?? ''}`;

interface TensorResult {
  kind: 'forward' | 'sampling' | 'structure';
  ok: boolean;
  max_abs_err?: number;
  max_excess?: number;
  error?: string;
}
interface Report {
  ok: boolean;
  error?: string;
  results: Record<string, TensorResult>;
}

const REQUIRED = [
  'plain.block.0.spatial',
  'plain.block.0.temporal',
  'plain.block.1.spatial',
  'plain.block.1.temporal',
  'tdtm.block.0.spatial',
  'tdtm.block.0.temporal',
  'tdtm.block.1.spatial',
  'tdtm.block.1.temporal',
  'plain.out',
  'tdtm.out',
  'plain.z_final',
  'lpl_fixed.z_final',
  'tdtm.z_final',
];

describe('PyTorch reference STDiT3 vs opensora-tiny fixture', () => {
  if (!torchAvailable) console.warn(`skipping PyTorch reference test: ${skipReason}`);

  it.skipIf(!torchAvailable)(
    'check_fixture.py exits 0 with every tensor within the manifest tolerance',
    () => {
      const run = spawnSync(PYTHON, ['tools/reference/check_fixture.py'], {
        cwd: repoRoot,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.error, String(run.error)).toBeUndefined();
      const report = JSON.parse(run.stdout) as Report;
      expect(report.error, report.error).toBeUndefined();
      for (const name of REQUIRED) expect(Object.keys(report.results)).toContain(name);
      const bad = Object.entries(report.results).filter(([, r]) => !r.ok);
      expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
      for (const [name, r] of Object.entries(report.results)) {
        if (r.kind === 'structure') continue;
        expect(r.max_excess, name).toBeLessThanOrEqual(0);
        expect(Number.isFinite(r.max_abs_err), name).toBe(true);
      }
      expect(report.ok).toBe(true);
      expect(run.status, run.stderr).toBe(0);
    },
    60_000,
  );
});
