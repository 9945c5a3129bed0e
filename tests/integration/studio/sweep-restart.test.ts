// A studio killed mid-sweep: `odsora studio --web` (a real child process, with its built-in device on the bundled
// Nano model) starts a 2 × 2 sweep with 2 repeats over its HTTP API; once runs finished and another is in flight,
// the studio and its built-in device are killed (SIGKILL: a crash, nothing saved on the way out). A new studio on
// the same data folder resumes the sweep on its own: it finishes, the runs that had finished keep their folders
// untouched, and no planned run is in two finished folders.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SweepJournal } from '../../../shared/sweep/journal';
import { builtinStatus, startStudioProcess, type StudioProcess } from '../../helpers/studio-process';
import { until } from '../companion/run-helpers';

const data = mkdtempSync(join(tmpdir(), 'odsora-sweep-restart-'));
const studios: StudioProcess[] = [];

afterAll(async () => {
  for (const s of studios) await s.stop();
  rmSync(data, { recursive: true, force: true });
});

async function startStudio(): Promise<StudioProcess> {
  const s = await startStudioProcess({
    env: { ODSORA_STUDIO_DATA: join(data, 'studio'), ODSORA_CACHE: join(data, 'cache') },
  });
  studios.push(s);
  return s;
}

async function builtinPaired(s: StudioProcess): Promise<boolean> {
  return (await builtinStatus(s)) === 'paired';
}

function journal(id: string): SweepJournal | null {
  try {
    return JSON.parse(readFileSync(join(data, 'studio', 'sweeps', id, 'sweep.json'), 'utf8')) as SweepJournal;
  } catch {
    return null; // not written yet, or being renamed
  }
}

/** The process ids of `pid`'s children (the built-in device). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

describe('a sweep survives a studio crash', () => {
  it('resumes after SIGKILL without running a finished run again', async () => {
    const first = await startStudio();
    for (let t = Date.now(); !(await builtinPaired(first));) {
      if (Date.now() - t > 180_000) throw new Error(`the built-in device never paired\n${first.stderr()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const started = await first.api('sweeps.start', {
      spec: {
        format: 'odsora-sweep',
        version: 1,
        name: 'crash',
        base: { steps: 6 },
        axes: { 'lpl.leapStep': [3, 4], 'tdtm.mergeSteps': [0, 2] },
        prompts: ['a red circle moving right on a black background'],
        seeds: [5],
        devices: [{ id: 'phone', builtin: true }],
        repeats: 2,
        warmup: 1,
      },
    });
    expect(started.status).toBe(200);
    const id = (started.body as { result: { sweep: { sweepId: string; total: number } } }).result.sweep
      .sweepId;
    await until(
      () => {
        const j = journal(id);
        return (
          j !== null &&
          j.runs.filter((r) => r.status === 'finished').length >= 2 &&
          j.runs.some((r) => r.status === 'running' && r.runFolder !== null)
        );
      },
      120_000,
      'two runs finished and another in flight',
    );
    const pid = first.child.pid!;
    const device = childrenOf(pid);
    first.child.kill('SIGKILL');
    for (const p of device) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => first.child.once('exit', r));
    const before = journal(id)!;
    expect(before.state).toBe('running');
    const finished = new Map(
      before.runs.filter((r) => r.status === 'finished').map((r) => [r.id, r.runFolder!]),
    );
    const runsDir = join(data, 'studio', 'runs');
    const logs = new Map(
      [...finished.values()].map((f) => [f, readFileSync(join(runsDir, f, 'events.jsonl'))]),
    );

    const second = await startStudio();
    await until(() => journal(id)?.state === 'finished', 300_000, 'the resumed sweep finished');
    const after = journal(id)!;
    expect(after.runs).toHaveLength(10); // 8 measured, 1 baseline, 1 warm-up
    expect(after.runs.every((r) => r.status === 'finished')).toBe(true);
    for (const [runId, folder] of finished) {
      expect(after.runs.find((r) => r.id === runId)!.runFolder).toBe(folder);
      expect(readFileSync(join(runsDir, folder, 'events.jsonl')).equals(logs.get(folder)!)).toBe(true);
    }
    // Each planned run is in exactly one finished run folder (the one in flight at the crash was deleted).
    const finishedFolders = readdirSync(runsDir)
      .filter((f) => existsSync(join(runsDir, f, 'run.json')))
      .map(
        (f) =>
          JSON.parse(readFileSync(join(runsDir, f, 'run.json'), 'utf8')) as {
            state: string;
            sweep?: { planRunId: string };
          },
      )
      .filter((r) => r.state === 'finished' && r.sweep !== undefined);
    expect(finishedFolders).toHaveLength(10);
    expect(new Set(finishedFolders.map((r) => r.sweep!.planRunId)).size).toBe(10);
    const listed = await second.api('sweeps.get', { sweepId: id });
    expect((listed.body as { result: { sweep: { activity: string } } }).result.sweep.activity).toBe('idle');
  }, 600_000);
});
