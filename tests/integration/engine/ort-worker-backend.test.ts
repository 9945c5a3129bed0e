import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussianNoise } from '../../../shared/engine/noise/gaussian';
import { runDenoise } from '../../../shared/engine/stdit3/denoise-stage';
import type { DenoiseJob } from '../../../shared/engine/pipeline/denoise-job';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { workerPlacement } from '../../../src-main/engine-host/ort-worker-backend';
import { ensureCliBuilt } from '../../helpers/odsora-cli';
import { syntheticBlockSet, SMALL_CONFIG } from '../../helpers/synthetic-blockset';

let inline: NodeEngineHost;
let worker: NodeEngineHost;

beforeAll(async () => {
  // The worker placement loads out/cli/ort-worker.cjs.
  ensureCliBuilt();
  inline = await createNodeEngineHost({ placement: 'inline', threads: 1 });
  worker = await createNodeEngineHost({ placement: 'worker', threads: 1 });
});

afterAll(async () => {
  await inline?.close();
  await worker?.close();
});

describe('ONNX Runtime in a worker thread', () => {
  it('computes the same latent as ONNX Runtime on the engine thread', async () => {
    const { blockSet, cleanup } = await syntheticBlockSet(inline.fs, inline.sha256, {
      ...SMALL_CONFIG,
      depth: 2,
    });
    try {
      const job: DenoiseJob = {
        caption: { y: gaussianNoise(2, [1, 8, 32]), mask: new Int32Array([1, 1, 1, 0, 0, 0, 0, 0]) },
        latent: { frames: 2, height: 4, width: 4 },
        video: { heightPx: 32, widthPx: 32, numFrames: 17, fps: 24 },
        seed: 5,
        steps: 3,
        cfgScale: 7,
        lpl: { mode: 'off' },
        tdtm: { mergeSteps: 1 },
        cidl: { budget: { kind: 'unlimited' } },
      };
      const placements = new Map<NodeEngineHost, (string | undefined)[]>([
        [inline, []],
        [worker, []],
      ]);
      const run = (h: NodeEngineHost) =>
        runDenoise(
          {
            blockSet,
            backend: h.backend,
            clock: h.clock,
            emit: (e) => {
              if (e.type === 'block.compute.end') placements.get(h)?.push(e.placement);
            },
          },
          job,
        );
      const [a, b] = [await run(inline), await run(worker)];
      expect(Array.from(b.z.data)).toEqual(Array.from(a.z.data));
      // Both say where each block ran: the worker's sessions report theirs across the thread boundary.
      for (const ran of placements.values()) {
        expect(ran).toHaveLength(3 * 4);
        expect(new Set(ran)).toEqual(new Set(['cpu']));
      }
    } finally {
      await cleanup();
    }
  });

  it('refuses a session placement from the worker that is not an execution provider, naming it', () => {
    expect(workerPlacement('coreml', 'stdit3/pair')).toBe('coreml');
    expect(workerPlacement(undefined, 'stdit3/pair')).toBeUndefined();
    expect(() => workerPlacement('gpu', 'stdit3/pair')).toThrow(
      "stdit3/pair: the onnxruntime worker's session placement must be one of cpu, coreml, cuda, got 'gpu'",
    );
    expect(() => workerPlacement(3, 'stdit3/pair')).toThrow(/placement that is not a string/);
  });

  it('reports a crashed or closed worker as an error instead of hanging', async () => {
    const h = await createNodeEngineHost({ placement: 'worker', threads: 1 });
    await h.close();
    await expect(h.backend.createSession(new Uint8Array([1, 2, 3]), 'probe')).rejects.toThrow(
      /closed|exited/,
    );
  });
});
