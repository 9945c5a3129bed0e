// tools/nano/scorers.py (the training tool's evals) and shared/metrics (nanobench) name the same shape on real
// Open-Sora Nano clips: the 8 person-labelled clips of tests/fixtures/nano-labelled, decoded here and handed to
// Python as raw bytes (no PIL needed). Needs Debian's python3-torch under /usr/bin/python3; skipped otherwise.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { analyseClip } from '../../../shared/metrics';
import { readLabelSet } from '../../../src-main/bench/label-agreement';
import { readFinalVideo } from '../../../src-main/studio/services/run-frames';

const PYTHON = '/usr/bin/python3';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = join(repoRoot, 'tests/fixtures/nano-labelled');
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1' };
const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env, encoding: 'utf8', timeout: 60_000 });
const torchAvailable = probe.status === 0;

const tmp = mkdtempSync(join(tmpdir(), 'nano-scorers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SCRIPT = `
import json, sys
import numpy as np, torch
sys.path.insert(0, "tools/nano")
import scorers
n, t, h, w = (int(a) for a in sys.argv[2:6])
clips = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(n, t, h, w, 3)
out = []
for c in clips:
    video = torch.from_numpy(c.astype(np.float32)).permute(3, 0, 1, 2) / 127.5 - 1  # [3, T, H, W] in [-1, 1]
    out.append(scorers.analyse(video)["shape"])
print(json.dumps(out))
`;

describe('shape scorer parity: tools/nano/scorers.py vs shared/metrics', () => {
  if (!torchAvailable) console.warn(`skipping scorer parity test: ${PYTHON} cannot import torch/numpy`);
  it.skipIf(!torchAvailable)(
    'name the same shape on 8 real Nano clips (and the person agrees on 7)',
    async () => {
      const labels = await readLabelSet(join(fixture, 'labels.json'));
      const videos = await Promise.all(
        labels.clips.map((c) => readFinalVideo(join(fixture, c.setting, `p${c.promptIndex}-s${c.seed}`))),
      );
      const { width: w, height: h, frames } = videos[0]!;
      const bytes = Buffer.concat(videos.flatMap((v) => v!.frames.map((f) => Buffer.from(f))));
      writeFileSync(join(tmp, 'clips.u8'), bytes);
      const r = spawnSync(
        PYTHON,
        [
          '-c',
          SCRIPT,
          join(tmp, 'clips.u8'),
          String(videos.length),
          String(frames.length),
          String(h),
          String(w),
        ],
        { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const python = JSON.parse(r.stdout) as string[];
      const ts = videos.map((v) => analyseClip(v!).shape.predicted);
      expect(python).toEqual(ts);
      const person = labels.clips.map((c) => c.labels.shape);
      expect(ts.filter((s, i) => s === person[i])).toHaveLength(7);
    },
    60_000,
  );
});
