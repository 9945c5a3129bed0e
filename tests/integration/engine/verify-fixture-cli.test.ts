// `odsora verify-fixture` end to end: the BUILT command line (out/cli/odsora.cjs) on the authors' opensora-tiny
// fixture and on opensora-odd (same format, another config: odd T = 7, latent 9×11 that needs padding, depth 3,
// 6 heads, CFG 4.5, 8 steps; made by tools/reference/make_fixture.py from our independent PyTorch reference).
// Also: a perturbed golden must fail exactly its row, and unusable directories must fail with a clear message.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, type NamedTensor } from '../../../shared/engine/safetensors/writer';
import { ensureCliBuilt, REPO_ROOT, runOdsora, type OdsoraResult } from '../../helpers/odsora-cli';
import { readSafetensorsLite } from '../../helpers/safetensors-lite';

const fixtures = join(REPO_ROOT, 'tests', 'fixtures');
const temps: string[] = [];

interface Row {
  name: string;
  pass: boolean;
  maxAbs: number;
  problem?: string;
}
interface Report {
  fixture: string;
  kind: string;
  pass: boolean;
  rows: Row[];
  skipped: { name: string; why: string }[];
}

function verify(dir: string): OdsoraResult {
  return runOdsora(['verify-fixture', dir, '--json']);
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'odsora-verify-fixture-'));
  temps.push(d);
  return d;
}

/** The rows every STDiT3 fixture with forward + sampling goldens must produce, from its manifest. */
function requiredRows(dir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    config: { model: { depth: number } };
  };
  const rows: string[] = [];
  for (const v of ['plain', 'tdtm']) {
    for (let i = 0; i < manifest.config.model.depth; i++) {
      rows.push(`forward ${v}.block.${i}.spatial`, `forward ${v}.block.${i}.temporal`);
    }
    rows.push(`forward ${v}.out`);
  }
  for (const v of ['plain', 'lpl_fixed', 'lpl_adaptive', 'tdtm']) rows.push(`sampling ${v}.z_final`);
  rows.push(
    'sampling lpl_fixed.leap_step',
    'sampling lpl_adaptive.leap_step',
    'sampling lpl_adaptive.cos_mean',
  );
  rows.push(
    'sampling timesteps',
    'forward ref.t',
    'forward ref.t_mlp',
    'forward ref.y_proj',
    'forward ref.pos_emb',
  );
  return rows;
}

beforeAll(() => ensureCliBuilt(), 180_000);

afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('odsora verify-fixture (built CLI)', () => {
  for (const name of ['opensora-tiny', 'opensora-odd']) {
    it(`${name}: exit 0, every row within tolerance`, () => {
      const dir = join(fixtures, name);
      const r = verify(dir);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.kind).toBe('stdit3');
      expect(report.pass).toBe(true);
      const names = report.rows.map((row) => row.name);
      for (const want of requiredRows(dir)) expect(names, want).toContain(want);
      const bad = report.rows.filter((row) => !row.pass);
      expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
      const forward = Math.max(
        ...report.rows.filter((x) => x.name.startsWith('forward ')).map((x) => x.maxAbs),
      );
      const zFinal = Math.max(...report.rows.filter((x) => x.name.endsWith('.z_final')).map((x) => x.maxAbs));
      console.log(
        `${name}: ${report.rows.length} rows, max abs forward ${forward.toExponential(2)}, z_final ${zFinal.toExponential(2)}`,
      );
    }, 240_000);
  }

  it('a golden perturbed by +1e-2 (plain.out) fails exactly that row, exit 1', () => {
    const dir = tempDir();
    cpSync(join(fixtures, 'opensora-tiny'), dir, { recursive: true });
    const path = join(dir, 'forward.safetensors');
    const tensors = readSafetensorsLite(path);
    const out = tensors.get('plain.out');
    if (out?.type !== 'float32')
      throw new Error('opensora-tiny forward.safetensors has no float32 plain.out');
    const data = out.data;
    data[17] = (data[17] ?? 0) + 1e-2;
    const named: NamedTensor[] = [...tensors].map(([n, tensor]) => ({ name: n, tensor }));
    writeFileSync(path, encodeSafetensors(named));

    const r = verify(dir);
    expect(r.status, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.pass).toBe(false);
    const failed = report.rows.filter((row) => !row.pass).map((row) => row.name);
    expect(failed).toEqual(['forward plain.out']);
    const row = report.rows.find((x) => x.name === 'forward plain.out');
    expect(row?.maxAbs).toBeGreaterThan(9e-3);
    expect(row?.maxAbs).toBeLessThan(1.1e-2);
    expect(report.rows.length).toBeGreaterThan(30);
  }, 240_000);

  it('a directory without manifest.json: non-zero exit naming the path', () => {
    const dir = tempDir();
    const r = verify(dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(join(dir, 'manifest.json'));
    expect(r.stderr).toMatch(/not found/);
  }, 60_000);

  it('a VAE fixture (vae-tiny): exit 0, every decoded case within tolerance', () => {
    const r = verify(join(fixtures, 'vae-tiny'));
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.kind).toBe('vae');
    expect(report.rows.every((row) => row.pass)).toBe(true);
    const names = report.rows.map((row) => row.name).join('\n');
    for (const want of ['video.x', 'image.x', 'spatial_only.x']) expect(names).toContain(want);
  }, 180_000);

  it('a T5 fixture (t5-tiny): exit 0, every block output and the text stage within tolerance', () => {
    const r = verify(join(fixtures, 't5-tiny'));
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.kind).toBe('t5');
    expect(report.rows.every((row) => row.pass)).toBe(true);
    const names = report.rows.map((row) => row.name);
    for (const want of ['t5 block.0.out', 't5 block.1.out', 't5 out.last_hidden_state'])
      expect(names).toContain(want);
  }, 120_000);
});
