// `odsora sweep` against a real `odsora companion` child on loopback (the fixture model, 3 steps, 64×64): a small
// grid leaves one studio run folder per run, sweep.json and the two CSVs; a sweep killed midway (SIGKILL) and run
// again never re-runs what finished and ends with every run present; a folder of another sweep is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepJournal } from '../../../shared/sweep/journal';
import {
  startCompanion,
  stopCompanion,
  waitUntil,
  type CompanionProcess,
} from '../../helpers/companion-process';
import { CLI_PATH, ensureCliBuilt, REPO_ROOT, runOdsora } from '../../helpers/odsora-cli';

let companion: CompanionProcess | undefined;
let work: string;

function spec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'odsora-sweep',
    version: 1,
    name: 'test-grid',
    base: { steps: 3, numFrames: 17, heightPx: 64, widthPx: 64 },
    axes: { 'lpl.leapStep': [1, 2], 'tdtm.mergeSteps': [0, 2], 'cidl.budget': ['all'] },
    prompts: ['a red ball'],
    seeds: [7],
    devices: [{ id: 'desk', address: `127.0.0.1:${companion!.port}` }],
    repeats: 1,
    warmup: 1,
    ...over,
  };
}

function writeSpec(name: string, s: Record<string, unknown>): string {
  const path = join(work, name);
  writeFileSync(path, JSON.stringify(s));
  return path;
}

const journalOf = (out: string): SweepJournal =>
  JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepJournal;

/** The jobs the companion was given, by its own store (an event log `<data>/runs/<id>.log` per run). */
const companionJobs = (): number =>
  existsSync(join(companion!.dataDir, 'runs'))
    ? readdirSync(join(companion!.dataDir, 'runs')).filter((f) => f.endsWith('.log')).length
    : 0;

/** run.json + events.jsonl of each run folder, to see that nothing touched them. */
function folderContents(out: string, folders: readonly string[]): Map<string, string> {
  return new Map(
    folders.map((f) => [
      f,
      readFileSync(join(out, 'runs', f, 'run.json'), 'utf8') +
        readFileSync(join(out, 'runs', f, 'events.jsonl'), 'utf8'),
    ]),
  );
}

/**
 * A new companion in place of the current one (killed: a SIGTERM'd companion takes seconds to stop): its first
 * pairing code is unused, and its store holds the jobs of one test only.
 */
async function freshCompanion(): Promise<CompanionProcess> {
  if (companion !== undefined) {
    await companion.kill('SIGKILL');
    rmSync(companion.dataDir, { recursive: true, force: true });
    rmSync(companion.modelDir, { recursive: true, force: true });
  }
  return startCompanion({ name: 'sweep desk', profile: 'desktop' });
}

/** `odsora sweep ARGS` as a child process. */
function startSweep(args: readonly string[]): {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [CLI_PATH, 'sweep', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, stderr: () => stderr };
}

/** True once `n` runs finished and another is in flight (read from sweep.json). */
function inFlightAfter(out: string, n: number): boolean {
  try {
    const j = journalOf(out);
    return (
      j.runs.filter((x) => x.status === 'finished').length >= n &&
      j.runs.some((x) => x.runFolder !== null && x.status === 'running')
    );
  } catch {
    return false; // not written yet
  }
}

/** `--pair desk=<code>`: the current companion's first pairing code. */
const pairDesk = (): string[] => ['--pair', `desk=${companion!.ready.pairingCode}`];

/**
 * A fresh companion, then `odsora sweep` as a child on `spec(over)` (written to `<name>.json`) into `<work>/<name>`,
 * paired with the companion; resolves once `finished` runs finished and another is in flight.
 */
async function sweepInFlight(
  name: string,
  over: Record<string, unknown>,
  finished: number,
  extraArgs: readonly string[] = [],
): Promise<{ out: string; specPath: string; sweep: ReturnType<typeof startSweep>; jobsBefore: number }> {
  companion = await freshCompanion();
  const out = join(work, name);
  const specPath = writeSpec(`${name}.json`, spec(over));
  const jobsBefore = companionJobs();
  const sweep = startSweep(['--spec', specPath, '--out', out, ...pairDesk(), ...extraArgs]);
  await waitUntil(
    () => inFlightAfter(out, finished) || sweep.child.exitCode !== null,
    150_000,
    `${finished} finished runs and one in flight`,
  );
  return { out, specPath, sweep, jobsBefore };
}

beforeAll(async () => {
  ensureCliBuilt();
  work = mkdtempSync(join(tmpdir(), 'odsora-sweep-test-'));
  companion = await startCompanion({ name: 'sweep desk', profile: 'desktop' });
}, 120_000);

afterAll(async () => {
  await stopCompanion(companion);
  rmSync(work, { recursive: true, force: true });
});

describe('odsora sweep', () => {
  it('runs a 2 × 2 × 1 grid with a warm-up and a baseline: run folders, sweep.json, sweep.csv, sweep-points.csv', () => {
    const out = join(work, 'grid');
    const before = companionJobs();
    const r = runOdsora([
      'sweep',
      '--spec',
      // A prompt in the Open-Sora Nano vocabulary: its clips get nanobench's adherence.
      writeSpec('grid.json', spec({ prompts: ['a red circle moving right on a black background'] })),
      '--out',
      out,
      ...pairDesk(),
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('sweep finished: 6 finished, 0 failed, 0 pending (6 started now)');
    const j = journalOf(out);
    expect(j.state).toBe('finished');
    expect(j.runs.map((x) => x.kind).sort()).toEqual([
      'baseline',
      'measured',
      'measured',
      'measured',
      'measured',
      'warmup',
    ]);
    expect(j.runs.every((x) => x.status === 'finished' && x.result !== null && x.attempts === 1)).toBe(true);
    expect(companionJobs() - before).toBe(6);
    // One studio run folder per run, each finished, with the run's own parameters.
    const folders = readdirSync(join(out, 'runs'));
    expect(folders.sort()).toEqual(j.runs.map((x) => x.runFolder).sort());
    for (const run of j.runs) {
      const file = JSON.parse(readFileSync(join(out, 'runs', run.runFolder!, 'run.json'), 'utf8')) as {
        format: string;
        state: string;
        params: unknown;
      };
      expect(file).toMatchObject({ format: 'odsora-studio-run', state: 'finished', params: run.params });
    }
    const leap = j.runs.find((x) => x.point['lpl.leapStep'] === 1)!;
    expect(leap.params.lpl).toEqual({ mode: 'fixed', leapStep: 1 });
    expect(leap.result!.stepsRun).toBe(2);
    // Long-format CSV: one row per run × metric, every parameter a column.
    const csv = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    expect(header).toEqual(
      expect.arrayContaining([
        'run_id',
        'kind',
        'axis.lpl.leapStep',
        'axis.tdtm.mergeSteps',
        'param.steps',
        'param.prompt',
        'metric',
        'value',
        'unit',
      ]),
    );
    const rows = csv.slice(1).map((line) => line.split(','));
    const col = (name: string): number => header.indexOf(name);
    expect(new Set(rows.map((row) => row[col('run_id')])).size).toBe(6);
    const speedups = rows.filter((row) => row[col('metric')] === 'speedup_wall');
    expect(speedups).toHaveLength(4);
    for (const row of speedups) expect(Number(row[col('value')])).toBeGreaterThan(0);
    // Quality against the baseline's frames (PSNR capped at 99 dB; SSIM in [-1, 1]).
    for (const run of j.runs.filter((x) => x.kind === 'measured')) {
      expect(run.quality!.psnrDb).toBeGreaterThan(0);
      expect(run.quality!.psnrDb).toBeLessThanOrEqual(99);
      expect(Math.abs(run.quality!.ssim)).toBeLessThanOrEqual(1);
    }
    expect(rows.filter((row) => row[col('metric')] === 'ssim_vs_baseline')).toHaveLength(4);
    // Each finished run's own clip (baseline and warm-up too): flicker and adherence in [0, 1].
    for (const run of j.runs) {
      expect(run.clip!.flicker).toBeGreaterThanOrEqual(0);
      expect(run.clip!.flicker).toBeLessThanOrEqual(1);
      expect(run.clip!.adherence).toBeGreaterThanOrEqual(0);
      expect(run.clip!.adherence).toBeLessThanOrEqual(1);
    }
    const count = (metric: string) => rows.filter((row) => row[col('metric')] === metric).length;
    expect([count('flicker'), count('adherence'), count('flicker_vs_baseline')]).toEqual([6, 6, 4]);
    // Per point: medians and spreads over the measured runs only.
    const points = readFileSync(join(out, 'sweep-points.csv'), 'utf8').trim().split('\n');
    expect(points[0]).toBe(
      'device,role,point_id,axis.lpl.leapStep,axis.tdtm.mergeSteps,axis.cidl.budget,metric,unit,n,median,p25,p75,min,max',
    );
    const wall = points.filter((line) => line.includes(',wall,ms,'));
    expect(wall).toHaveLength(4);
    expect(j.points.filter((p) => p.metric === 'wall').every((p) => p.n === 1 && p.median > 0)).toBe(true);
  }, 180_000);

  it("two devices run in parallel, one job each at a time, sharing their role's baseline", async () => {
    const second = await startCompanion({ name: 'sweep desk 2', profile: 'desktop' });
    try {
      companion = await freshCompanion();
      const out = join(work, 'two');
      const s = spec({
        axes: { 'tdtm.mergeSteps': [0, 2] },
        repeats: 2,
        warmup: 0,
        devices: [
          { id: 'desk', address: `127.0.0.1:${companion.port}` },
          { id: 'desk-2', address: `127.0.0.1:${second.port}` },
        ],
      });
      const r = runOdsora([
        'sweep',
        '--spec',
        writeSpec('two.json', s),
        '--out',
        out,
        ...pairDesk(),
        '--pair',
        `desk-2=${second.ready.pairingCode}`,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const j = journalOf(out);
      expect(j.runs.filter((x) => x.kind === 'baseline').map((x) => x.device)).toEqual(['desk']);
      const spans = (device: string): [number, number][] =>
        j.runs
          .filter((x) => x.device === device)
          .map((x) => {
            const f = JSON.parse(readFileSync(join(out, 'runs', x.runFolder!, 'run.json'), 'utf8')) as {
              createdAtEpochMs: number;
              endedAtEpochMs: number;
            };
            return [f.createdAtEpochMs, f.endedAtEpochMs] as [number, number];
          })
          .sort((a, b) => a[0] - b[0]);
      const [a, b] = [spans('desk'), spans('desk-2')];
      expect([a.length, b.length]).toEqual([5, 4]);
      // One job at a time per device...
      for (const runs of [a, b])
        for (let i = 1; i < runs.length; i++) expect(runs[i]![0]).toBeGreaterThanOrEqual(runs[i - 1]![1]);
      // ...and the two devices at the same time.
      expect(a.some(([s1, e1]) => b.some(([s2, e2]) => s1 < e2 && s2 < e1))).toBe(true);
      // desk-2's runs are measured against desk's baseline (the same role).
      const metrics = readFileSync(join(out, 'sweep.csv'), 'utf8');
      expect(
        metrics.split('\n').filter((l) => l.includes(',desk-2,') && l.includes(',speedup_wall,')),
      ).toHaveLength(4);
      // 'a red ball' is not in the Nano vocabulary: flicker for every run, adherence for none (not 0).
      expect(j.runs.every((x) => x.clip !== null && x.clip.adherence === null)).toBe(true);
      expect(metrics.split('\n').filter((l) => l.includes(',flicker,'))).toHaveLength(9);
      expect(metrics).not.toContain(',adherence,');
    } finally {
      await second.kill('SIGKILL');
      rmSync(second.dataDir, { recursive: true, force: true });
      rmSync(second.modelDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('resumes after SIGKILL without re-running finished runs; refuses a folder of another sweep', async () => {
    const { out, specPath, sweep, jobsBefore } = await sweepInFlight(
      'resume',
      { repeats: 2, order: 'interleaved' },
      3,
    );
    expect(sweep.child.exitCode, sweep.stderr()).toBeNull();
    sweep.child.kill('SIGKILL');
    await sweep.exited;
    const stderr = sweep.stderr();
    const killed = journalOf(out);
    expect(killed.state).toBe('running');
    const done = killed.runs.filter((x) => x.status === 'finished');
    expect(done.length, stderr).toBeGreaterThanOrEqual(3);
    expect(done.length, stderr).toBeLessThan(killed.runs.length);
    const untouched = folderContents(
      out,
      done.map((x) => x.runFolder!),
    );

    const r = runOdsora(['sweep', '--spec', specPath, '--out', out]); // no --pair: the key is kept in the folder
    expect(r.status, r.stderr).toBe(0);
    const j = journalOf(out);
    expect(j.state).toBe('finished');
    expect(j.runs).toHaveLength(10);
    expect(j.runs.every((x) => x.status === 'finished')).toBe(true);
    const resumeLog = `first run:\n${stderr}\nresumed:\n${r.stderr}`;
    // Finished runs kept their folders, byte for byte, and were not started again.
    for (const d of done) expect(j.runs.find((x) => x.id === d.id)!.runFolder, resumeLog).toBe(d.runFolder);
    const folders = done.map((x) => x.runFolder!);
    expect(folderContents(out, folders), resumeLog).toEqual(untouched);
    const startedNow = Number(/\((\d+) started now\)/.exec(r.stderr)?.[1]);
    expect(startedNow, resumeLog).toBeLessThanOrEqual(10 - done.length);
    // One run folder per run; the companion got each run once, plus at most the one in flight when killed.
    expect(readdirSync(join(out, 'runs')).sort(), resumeLog).toEqual(j.runs.map((x) => x.runFolder).sort());
    const jobs = companionJobs() - jobsBefore;
    expect(jobs, resumeLog).toBeGreaterThanOrEqual(10);
    expect(jobs, resumeLog).toBeLessThanOrEqual(11);

    const other = runOdsora(['sweep', '--spec', writeSpec('other.json', spec({ seeds: [8] })), '--out', out]);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('holds another sweep (test-grid, 10 runs)');
    expect(other.stderr).toContain('written for a different spec');
    expect(existsSync(join(out, 'sweep.json'))).toBe(true);
    expect(journalOf(out).fingerprint).toBe(j.fingerprint);
  }, 300_000);

  it('SIGTERM cancels the run in flight, leaves it pending in a consistent journal, and the sweep resumes', async () => {
    const { out, specPath, sweep } = await sweepInFlight('stop', { repeats: 2 }, 2);
    sweep.child.kill('SIGTERM');
    expect(await sweep.exited, sweep.stderr()).toBe(143);
    const stderr = sweep.stderr();
    expect(stderr).toContain('stopping: cancelling');
    const j = journalOf(out);
    expect(j.state).toBe('stopped');
    expect(
      j.runs.every((x) => x.status === 'finished' || x.status === 'pending'),
      stderr,
    ).toBe(true);
    const finishedBefore = j.runs.filter((x) => x.status === 'finished').length;

    const r = runOdsora(['sweep', '--spec', specPath, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`(${10 - finishedBefore} started now)`);
    expect(readdirSync(join(out, 'runs'))).toHaveLength(10);
  }, 300_000);

  it('a device that restarts mid-sweep: its interrupted run runs again and the sweep finishes', async () => {
    const { out, sweep } = await sweepInFlight('restart', { repeats: 2 }, 2);
    const { dataDir, modelDir, port } = companion!;
    await companion!.kill('SIGKILL');
    companion = await startCompanion({
      dataDir,
      modelDir,
      name: 'sweep desk',
      profile: 'desktop',
      extraArgs: ['--port', String(port)],
    });
    expect(await sweep.exited, sweep.stderr()).toBe(0);
    const j = journalOf(out);
    expect(j.state).toBe('finished');
    expect(j.runs.every((x) => x.status === 'finished')).toBe(true);
    expect(readdirSync(join(out, 'runs'))).toHaveLength(10);
  }, 300_000);

  it('a device that does not come back: its remaining runs fail with the reason, and the sweep ends', async () => {
    const { out, sweep } = await sweepInFlight('gone', { repeats: 2 }, 2, ['--device-timeout', '2']);
    await companion!.kill('SIGKILL');
    expect(await sweep.exited, sweep.stderr()).toBe(1);
    const j = journalOf(out);
    expect(j.state).toBe('failed');
    const failed = j.runs.filter((x) => x.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.error).toMatch(/^device desk did not come back within 2000 ms/);
    expect(sweep.stderr()).toContain('its remaining runs are marked failed');
  }, 300_000);

  it('refuses a bad spec naming the axis and value', () => {
    const r = runOdsora([
      'sweep',
      '--spec',
      writeSpec('bad.json', spec({ axes: { 'tdtm.mergeSteps': [0, 9] } })),
      '--out',
      join(work, 'bad'),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('axes["tdtm.mergeSteps"][1]: 9: TDTM merge steps (9) exceed the step count 3');
    expect(existsSync(join(work, 'bad'))).toBe(false);
  });
});
