// The studio's sweeps through the contract dispatcher, against a real `odsora companion` child on loopback (the
// fixture model, 3 steps, 64×64): a 2 × 2 grid with a warm-up and a baseline runs into the studio's history
// (run.json names the sweep); the studio closed mid-sweep and opened again on the same data folder resumes it on
// its own, never running a finished run twice; pause, resume and cancel, followed through `sweep.updated` deltas
// (consecutive revisions, only changed runs, and applied to the first `sweeps.get` they give the last one's
// journal); a bad spec and an unpaired device are refused naming what is wrong; the estimate uses the runs history
// holds.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  StudioArgs,
  StudioCommand,
  StudioEvent,
  StudioResult,
} from '../../../shared/protocol/studio-contract';
import { applySweepDelta } from '../../../shared/sweep/delta';
import type { SweepSpec } from '../../../shared/sweep/spec';
import { createStudioServices, type StudioServices } from '../../../src-main/studio/services/index';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { until } from '../companion/run-helpers';

let companion: CompanionProcess | undefined;
let dataDir: string;
let services: StudioServices | undefined;
const pushed: StudioEvent[] = [];

async function open(): Promise<StudioServices> {
  const s = await createStudioServices({
    appVersion: '0.0.0-test',
    platform: 'web',
    dataDir,
    discovery: false,
    builtinDevice: false,
    retryDelayMs: { initial: 100, max: 500 },
  });
  s.onEvent((e) => pushed.push(e));
  return s;
}

async function call<C extends StudioCommand>(command: C, args: StudioArgs<C>): Promise<StudioResult<C>> {
  const reply = await services!.dispatch(command, args);
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as StudioResult<C>;
}

async function callError(command: StudioCommand, args: unknown): Promise<{ code: string; message: string }> {
  const reply = await services!.dispatch(command, args);
  if (reply.ok) throw new Error(`${command} succeeded`);
  return reply.error;
}

function spec(over: Partial<SweepSpec> = {}): SweepSpec {
  return {
    format: 'odsora-sweep',
    version: 1,
    name: 'studio-grid',
    base: { steps: 3, numFrames: 17, heightPx: 64, widthPx: 64 },
    axes: { 'lpl.leapStep': [1, 2], 'tdtm.mergeSteps': [0, 2] },
    prompts: ['a red ball'],
    seeds: [7],
    devices: [{ id: 'desk', role: 'target', address: `127.0.0.1:${companion!.port}` }],
    repeats: 1,
    warmup: 1,
    order: 'grid',
    baseline: true,
    ...over,
  };
}

/** The jobs the companion was given (its store keeps `<data>/runs/<id>.log` per job). */
const companionJobs = (): number =>
  existsSync(join(companion!.dataDir, 'runs'))
    ? readdirSync(join(companion!.dataDir, 'runs')).filter((f) => f.endsWith('.log')).length
    : 0;

const runJson = (runId: string): { sweep?: { sweepId: string; planRunId: string } } =>
  JSON.parse(readFileSync(join(dataDir, 'runs', runId, 'run.json'), 'utf8')) as {
    sweep?: { sweepId: string; planRunId: string };
  };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-studio-sweeps-'));
  companion = await startCompanion({ name: 'sweep desk', profile: 'desktop' });
  services = await open();
  const { device } = await call('devices.addManual', { host: '127.0.0.1', port: companion.port });
  await until(() => services!.hub.get(device.id).status === 'connected', 30_000, 'the companion connected');
  await call('devices.pair', { deviceId: device.id, code: companion.ready.pairingCode! });
}, 120_000);

afterAll(async () => {
  await services?.close();
  await stopCompanion(companion);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('studio sweeps', () => {
  it('refuses a bad spec naming the field, and a device that is not among the studio devices', async () => {
    const bad = await callError('sweeps.start', { spec: spec({ axes: { 'tdtm.mergeSteps': [0, -1] } }) });
    expect(bad.code).toBe('bad-request');
    expect(bad.message).toContain('axes["tdtm.mergeSteps"][1]');
    const away = await callError('sweeps.start', {
      spec: spec({ devices: [{ id: 'far', role: 'target', address: '127.0.0.1:9' }] }),
    });
    expect(away.code).toBe('conflict');
    expect(away.message).toContain("device far is not among the studio's devices");
  });

  it('resumes a sweep after the studio closed mid-sweep: finished runs are not run again', async () => {
    const jobsBefore = companionJobs();
    const { sweep } = await call('sweeps.start', { spec: spec() });
    expect(sweep.activity).toBe('running');
    const id = sweep.sweepId;
    const journal = () => services!.sweeps.get(id).journal;
    await until(
      () =>
        journal().runs.filter((r) => r.status === 'finished').length >= 2 &&
        journal().runs.some((r) => r.status === 'running' && r.runFolder !== null),
      120_000,
      'two runs finished and a third in flight',
    );
    expect(
      pushed.some((e) => e.type === 'sweep.updated' && e.sweep.sweepId === id && e.sweep.finished >= 2),
    ).toBe(true);
    await services!.close();
    services = undefined;
    const after = JSON.parse(readFileSync(join(dataDir, 'sweeps', id, 'sweep.json'), 'utf8')) as {
      state: string;
      runs: { id: string; status: string; runFolder: string | null }[];
    };
    expect(after.state).toBe('running'); // left to resume, not paused
    const finishedBefore = new Map(
      after.runs.filter((r) => r.status === 'finished').map((r) => [r.id, r.runFolder!]),
    );
    expect(finishedBefore.size).toBeGreaterThanOrEqual(2);
    const contents = new Map(
      [...finishedBefore.values()].map((f) => [
        f,
        readFileSync(join(dataDir, 'runs', f, 'events.jsonl'), 'utf8'),
      ]),
    );

    services = await open(); // the pairing key is in dataDir: the companion pairs again on its own
    await until(
      () =>
        services!.sweeps.get(id).sweep.state === 'finished' &&
        services!.sweeps.get(id).sweep.activity === 'idle',
      180_000,
      'the resumed sweep finished and its runner ended',
    );
    const done = services.sweeps.get(id);
    expect(done.sweep.finished).toBe(6);
    expect(done.sweep.activity).toBe('idle');
    for (const [runId, folder] of finishedBefore) {
      expect(done.journal.runs.find((r) => r.id === runId)!.runFolder).toBe(folder);
      expect(readFileSync(join(dataDir, 'runs', folder, 'events.jsonl'), 'utf8')).toBe(contents.get(folder));
    }
    // Six planned runs; at most the one in flight at the close ran twice.
    expect(companionJobs() - jobsBefore).toBeLessThanOrEqual(7);
    // Every run is in the studio's history, tagged with its sweep, and its run.json names the sweep and the planned run.
    const listed = new Map((await call('runs.list', {})).runs.map((r) => [r.runId, r]));
    for (const r of done.journal.runs) {
      expect(listed.get(r.runFolder!)?.tags).toEqual([`sweep:${id}`]);
      expect(runJson(r.runFolder!).sweep).toMatchObject({ sweepId: id, planRunId: r.id });
    }
    expect(done.journal.points.some((p) => p.metric === 'speedup_wall')).toBe(true);
    expect(existsSync(join(dataDir, 'sweeps', id, 'sweep-points.csv'))).toBe(true);

    const estimate = await call('sweeps.estimate', { spec: spec() });
    expect(estimate.runs.total).toBe(6);
    expect(estimate.devices[0]!.basis).toMatch(/^median of \d+ past run\(s\) with these steps and size$/);
    expect(estimate.etaMs).toBeCloseTo(6 * estimate.devices[0]!.perRunMs!, 3);
  }, 400_000);

  it('pauses, resumes and cancels a sweep', async () => {
    const { sweep } = await call('sweeps.start', { spec: spec({ name: 'pause-me', seeds: [8] }) });
    const id = sweep.sweepId;
    await until(
      () => services!.sweeps.get(id).journal.runs.some((r) => r.status === 'running' && r.runFolder !== null),
      60_000,
      'a run in flight',
    );
    const first = await call('sweeps.get', { sweepId: id });
    const paused = await call('sweeps.pause', { sweepId: id });
    expect(paused.sweep).toMatchObject({ state: 'stopped', activity: 'idle' });
    expect(paused.sweep.devices[0]!.current).toBeNull();
    expect((await callError('sweeps.pause', { sweepId: id })).message).toContain('is not running');
    const resumed = await call('sweeps.resume', { sweepId: id });
    expect(resumed.sweep.activity).not.toBe('idle');
    const cancelled = await call('sweeps.cancel', { sweepId: id });
    expect(cancelled.sweep).toMatchObject({ state: 'cancelled', activity: 'idle' });
    const last = await call('sweeps.get', { sweepId: id });
    const updates = pushed.flatMap((e) =>
      e.type === 'sweep.updated' && e.sweep.sweepId === id && e.revision > first.revision ? [e] : [],
    );
    expect(updates.map((e) => e.revision)).toStrictEqual(
      Array.from({ length: last.revision - first.revision }, (_, i) => first.revision + 1 + i),
    );
    expect(updates.some((e) => (e.runs?.length ?? 0) > 0)).toBe(true);
    let detail: typeof first | null = first;
    for (const e of updates) {
      expect(e.epoch).toBe(first.epoch);
      for (const run of e.runs ?? [])
        expect(run).not.toStrictEqual(detail!.journal.runs.find((r) => r.id === run.id)); // only changed runs
      detail = applySweepDelta(detail!, e);
      expect(detail).not.toBeNull();
    }
    expect(detail!.journal).toStrictEqual(last.journal);
    expect(detail!.sweep).toStrictEqual(last.sweep);
    const listed = (await call('sweeps.list', {})).sweeps.find((s) => s.sweepId === id);
    expect(listed?.state).toBe('cancelled');
    expect((await callError('sweeps.get', { sweepId: 'nope' })).code).toBe('not-found');
  }, 120_000);
});
