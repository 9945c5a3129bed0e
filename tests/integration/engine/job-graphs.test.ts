// jobGraphs (shared/engine/pipeline/job-graphs.ts) lists exactly the graphs a real generation compiles: the fixture
// model (temporal VAE) at 24 frames (latent chunks of 5 and 2 frames, SD-VAE micro-batches of 4) with
// TDTM, every session's bytes recorded through the backend and compared with the enumerated graphs' bytes.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockSet } from '../../../shared/engine/blockset/load';
import { generateVideo } from '../../../shared/engine/pipeline/generate';
import { resolveGenerateParams, type GenerateParams } from '../../../shared/engine/pipeline/generate-params';
import { jobGraphs, jobGraphShapeOf, jobModelsOf } from '../../../shared/engine/pipeline/job-graphs';
import type { InferenceBackend } from '../../../shared/engine/ports';
import { createNodeEngineHost, type NodeEngineHost } from '../../../src-main/engine-host/node-engine';
import { ensureModelBlockSet } from '../../../src-main/models/bundled';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';

let host: NodeEngineHost;
let blockSet: BlockSet;
let modelDir: string;
let cacheRoot: string;

beforeAll(async () => {
  host = await createNodeEngineHost({ placement: 'inline', threads: 1 });
  modelDir = fixtureModelDir();
  cacheRoot = mkdtempSync(join(tmpdir(), 'odsora-cache-'));
  blockSet = (await ensureModelBlockSet(host, modelDir, { cacheRoot })).blockSet;
});

afterAll(async () => {
  await host.close();
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(cacheRoot, { recursive: true, force: true });
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('jobGraphs', () => {
  it('lists every graph a generation compiles, and no other', async () => {
    const params: GenerateParams = {
      prompt: 'a red ball',
      seed: 3,
      steps: 2,
      numFrames: 24,
      tdtm: { mergeSteps: 1 },
    };
    const compiled = new Map<string, string>();
    const backend: InferenceBackend = {
      name: host.backend.name,
      createSession: (bytes, label) => {
        compiled.set(sha(bytes), label);
        return host.backend.createSession(bytes, label);
      },
    };
    await generateVideo({ blockSet, backend, clock: host.clock, emit: () => undefined }, params);
    const listed = jobGraphs(jobModelsOf(blockSet), jobGraphShapeOf(resolveGenerateParams(blockSet, params)));
    const ids = listed.map((g) => g.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Two temporal chunk lengths (5 and 2 latents); 24 frames are 6 micro-batches of 4.
    expect(ids.filter((id) => id.startsWith('vae.temporal.in.'))).toHaveLength(2);
    expect(ids).toContain('stdit3.pair-tdtm.B2-T7-8x8-L8');
    expect(new Set(listed.map((g) => sha(g.build())))).toEqual(new Set(compiled.keys()));
  });
});
