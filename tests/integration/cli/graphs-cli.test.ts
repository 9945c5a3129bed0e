// `odsora check-graphs --target coreml` and `odsora export-graphs`, the BUILT command line (out/cli/odsora.cjs), on
// the fixture model directory (temporal VAE) and on the depth-cut full-size preset's configs.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModel } from '../../../shared/engine/onnx/proto-reader';
import { ensureCliBuilt, runOdsora, type OdsoraResult } from '../../helpers/odsora-cli';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';

let modelDir: string;
let work: string;

function odsora(args: string[]): OdsoraResult {
  return runOdsora(args, { ODSORA_CACHE: join(work, 'cache') });
}

beforeAll(() => {
  ensureCliBuilt();
  modelDir = fixtureModelDir();
  work = mkdtempSync(join(tmpdir(), 'odsora-graphs-cli-'));
});

afterAll(() => {
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

interface CheckJson {
  placeable: boolean;
  graphs: {
    id: string;
    report: {
      refused: { opType: string; reasons: { kind: string }[] }[];
      partitions: number;
      coremlShare: number;
    };
    ortOptimized?: { refused: { opType: string }[] };
  }[];
}

describe('odsora check-graphs --target coreml', () => {
  it('places every graph of the job whole on Core ML, also as ORT runs it (exit 0)', () => {
    const r = odsora([
      'check-graphs',
      '--target',
      'coreml',
      '--model',
      modelDir,
      '--json',
      '--ort-optimized',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as CheckJson;
    expect(j.placeable).toBe(true);
    expect(j.graphs.map((g) => g.id)).toContain('vae.temporal.in.B1-T5-8x8');
    for (const g of j.graphs) {
      expect(g.report.refused, g.id).toEqual([]);
      expect(g.report.partitions, g.id).toBe(1);
      expect(g.ortOptimized?.refused, `${g.id} as ORT optimizes it`).toEqual([]);
    }
  });

  it('reports what Core ML refuses of the CPU graphs (--graphs cpu) and exits 1', () => {
    const r = odsora([
      'check-graphs',
      '--target',
      'coreml',
      '--graphs',
      'cpu',
      '--model',
      modelDir,
      '--json',
      '--ort-optimized',
    ]);
    expect(r.status, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as CheckJson;
    expect(j.placeable).toBe(false);
    const ids = j.graphs.map((g) => g.id);
    expect(ids.slice(0, 6)).toEqual([
      't5.block.B1-L8',
      't5.final.B1-L8',
      'stdit3.part1.B2-T5-8x8-L8',
      'stdit3.pair.B2-T5-8x8-L8',
      'stdit3.pair-tdtm.B2-T5-8x8-L8',
      'stdit3.part2.B2-T5-8x8-L8',
    ]);
    expect(ids).toContain('vae.temporal.in.B1-T5-8x8');
    const t5 = j.graphs[0]?.report;
    expect(t5?.refused.some((n) => n.opType === 'Gemm' && n.reasons[0]?.kind === 'not-constant')).toBe(true);
    expect(t5?.partitions).toBeGreaterThan(1);
    // The Conv3d of the temporal VAE is refused for its rank.
    const tin = j.graphs.find((g) => g.id === 'vae.temporal.in.B1-T5-8x8')?.report;
    expect(tin?.refused.some((n) => n.reasons.some((x) => x.kind === 'conv-not-1d-2d'))).toBe(true);
    // The graph ORT runs was checked too.
    expect(j.graphs.every((g) => g.ortOptimized !== undefined)).toBe(true);
  });

  it('builds the depth-cut full-size preset from its configs and prints a table', () => {
    const r = odsora([
      'check-graphs',
      '--graphs',
      'cpu',
      '--preset',
      'opensora-v1.2-depth1',
      '--frames',
      '17',
      '--height',
      '64',
      '--width',
      '64',
    ]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/job: 17 frames, latent 5×8×8, caption 300 tokens, TDTM/);
    expect(r.stdout).toMatch(/t5\.block\.B1-L300 .*NOT PLACEABLE/);
    expect(r.stdout).toMatch(/graphs not fully placeable/);
  });

  it('refuses --model together with --preset', () => {
    const r = odsora(['check-graphs', '--preset', 'opensora-v1.2-depth1', '--model', modelDir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/give --model or --preset, not both/);
  });
});

describe('odsora export-graphs', () => {
  it('writes each distinct graph as a readable .onnx file named by family, block and shape', () => {
    const out = join(work, 'graphs');
    const r = odsora(['export-graphs', '--model', modelDir, '--out', out, '--no-tdtm', '--frames', '24']);
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toContain('stdit3.pair.B2-T7-8x8-L8.onnx');
    expect(files.some((f) => f.includes('pair-tdtm'))).toBe(false);
    // 24 frames: temporal chunks of 5 and 2 latents.
    expect(files).toContain('vae.temporal.in.B1-T5-8x8.onnx');
    expect(files).toContain('vae.temporal.in.B1-T2-8x8.onnx');
    for (const f of files)
      expect(readModel(new Uint8Array(readFileSync(join(out, f)))).graph.nodes.length).toBeGreaterThan(0);
  });
});
