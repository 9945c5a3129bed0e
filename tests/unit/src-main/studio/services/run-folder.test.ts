// Run folders that are damaged or out of the contract's range, read through the studio's dispatcher as the UI and
// scripts call it: one bad folder never takes history down, it is listed as unreadable with why (and logged), and a
// damaged line of a run's events.jsonl costs that line only, named in `runs.get` and, checked once when the folder
// was opened, in the run's summary (`runs.list` reads no event log).
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as FsPromises from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StudioArgs, StudioCommand, StudioResult } from '../../../../../shared/protocol/studio-contract';
import { createStudioServices, type StudioServices } from '../../../../../src-main/studio/services/index';
import { sampleLog } from '../../../shared/report/fixtures';
import { writeRunFolder } from './run-folders';

// Counts the reads of events.jsonl files (the run folder code reads them with node:fs/promises' readFile).
const logReads = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const readFile = ((path: Parameters<typeof fs.readFile>[0], ...rest: [never]) => {
    if (String(path).endsWith('events.jsonl')) logReads.count += 1;
    return fs.readFile(path, ...rest);
  }) as typeof fs.readFile;
  return { ...fs, readFile, default: { ...fs, readFile } };
});

let dataDir: string;
let services: StudioServices;
const logged: string[] = [];

async function call<C extends StudioCommand>(command: C, args: StudioArgs<C>): Promise<StudioResult<C>> {
  const reply = await services.dispatch(command, args);
  if (!reply.ok) throw new Error(`${command}: ${reply.error.code}: ${reply.error.message}`);
  return reply.result as StudioResult<C>;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-run-folders-'));
  await writeRunFolder(dataDir, 'r-good', [], [4, 4], sampleLog(), { createdAtEpochMs: 3 });
  // Passes a loose reading of run.json, but the contract allows labels of 256 characters.
  await writeRunFolder(dataDir, 'r-long-label', [], [4, 4], sampleLog(), { label: 'x'.repeat(300) });
  // Cut short (a disk that filled, a copy that stopped).
  await writeRunFolder(dataDir, 'r-truncated', [], [4, 4]);
  const truncated = join(dataDir, 'runs', 'r-truncated', 'run.json');
  writeFileSync(truncated, readFileSync(truncated, 'utf8').slice(0, 120));
  // Written by a newer studio; and a folder with no run.json at all.
  await writeRunFolder(dataDir, 'r-future', [], [4, 4]);
  const future = join(dataDir, 'runs', 'r-future', 'run.json');
  writeFileSync(future, JSON.stringify({ ...JSON.parse(readFileSync(future, 'utf8')), version: 9 }));
  mkdirSync(join(dataDir, 'runs', 'r-empty'));
  // A run whose events.jsonl has a damaged line in the middle and a torn last line.
  await writeRunFolder(dataDir, 'r-damaged-log', [], [4, 4], sampleLog(), { createdAtEpochMs: 2 });
  const events = join(dataDir, 'runs', 'r-damaged-log', 'events.jsonl');
  const lines = readFileSync(events, 'utf8').split('\n');
  lines[4] = lines[4]!.slice(0, 20);
  writeFileSync(events, lines.join('\n'));
  appendFileSync(events, '{"seq":999,"ev');
  services = await createStudioServices({
    appVersion: '0.0.0-test',
    platform: 'web',
    dataDir,
    discovery: false,
    builtinDevice: false,
    log: (line) => logged.push(line),
  });
});

afterAll(async () => {
  await services?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('run folders history cannot read', () => {
  it('lists the readable runs and each unreadable folder with its reason', async () => {
    const { runs, unreadable } = await call('runs.list', {});
    expect(runs.map((r) => r.runId)).toEqual(['r-good', 'r-damaged-log']);
    const reasons = Object.fromEntries(unreadable.map((u) => [u.folder, u.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['r-empty', 'r-future', 'r-long-label', 'r-truncated']);
    expect(reasons['r-long-label']).toMatch(/^run\.json: label: .*256/);
    expect(reasons['r-truncated']).toMatch(/^run\.json is not valid JSON \(cut short\?\)/);
    expect(reasons['r-future']).toMatch(/version 9; this studio reads up to version 3/);
    expect(reasons['r-empty']).toBe('run.json is missing');
    for (const folder of Object.keys(reasons))
      expect(logged.some((l) => l.startsWith(`run folder ${folder} is not listed: `))).toBe(true);
    // Nothing was changed on disk.
    expect(
      JSON.parse(readFileSync(join(dataDir, 'runs', 'r-long-label', 'run.json'), 'utf8')).label,
    ).toHaveLength(300);
  });

  it('keeps every readable event after a damaged events.jsonl line, and says which line was skipped', async () => {
    const all = sampleLog();
    const page = await call('runs.events', { runId: 'r-damaged-log', afterSeq: 0, limit: 5000 });
    expect(page.events.map((e) => e.seq)).toEqual(all.filter((_, i) => i !== 4).map((e) => e.seq));
    expect(page.lastSeq).toBe(all.at(-1)!.seq);
    const detail = await call('runs.get', { runId: 'r-damaged-log' });
    expect(detail.eventLogProblem).toMatch(/events\.jsonl: 1 unreadable line skipped \(line 5\)/);
    expect(detail.eventLogProblem).toMatch(/the last line was cut short/);
    expect((await call('runs.get', { runId: 'r-good' })).eventLogProblem).toBeNull();
    expect(logged.filter((l) => l.startsWith('run r-damaged-log: events.jsonl'))).toHaveLength(1);
  });

  it('lists each run with what its events.jsonl skipped, checked once when the folder was opened', async () => {
    const before = logReads.count;
    expect(before, 'opening the studio read each unchecked log once').toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const { runs } = await call('runs.list', {});
      expect(Object.fromEntries(runs.map((r) => [r.runId, r.eventLogProblem]))).toEqual({
        'r-good': null,
        'r-damaged-log': expect.stringMatching(/^events\.jsonl: 1 unreadable line skipped \(line 5\)/),
      });
    }
    // Listing runs read no event log; the check is kept in run.json, so the next studio does not read it again.
    expect(logReads.count).toBe(before);
    const kept = (runId: string): unknown =>
      JSON.parse(readFileSync(join(dataDir, 'runs', runId, 'run.json'), 'utf8')).eventLogProblem;
    expect(kept('r-damaged-log')).toMatch(/line 5/);
    expect(kept('r-good')).toBeNull();
  });
});
