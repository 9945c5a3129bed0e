// `odsora trace` end to end: the BUILT command line (out/cli/odsora.cjs) runs `odsora generate` on the bundled
// Open-Sora Nano (a few steps with LPL, TDTM and a CI-DL budget) and then `odsora trace` on its folder, and on a
// studio run folder made from the same events; the trace must read as Trace Event Format with the counts the
// run's own events give. Missing and torn files fail naming the file.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../shared/engine/telemetry';
import { ensureCliBuilt, runOdsora, type OdsoraResult } from '../../helpers/odsora-cli';
import { checkChromeTrace, expectedTraceCounts } from '../../helpers/trace-check';

let work: string;
let gen: string;
let events: EngineEvent[];

function odsora(args: string[]): OdsoraResult {
  return runOdsora(args, { ODSORA_CACHE: join(work, 'cache') });
}

beforeAll(() => {
  ensureCliBuilt();
  work = mkdtempSync(join(tmpdir(), 'odsora-trace-cli-'));
  gen = join(work, 'gen');
  const r = odsora([
    'generate',
    '--prompt',
    'a red circle moving right on a black background',
    '--seed',
    '1',
    '--steps',
    '6',
    '--lpl',
    'fixed:4',
    '--tdtm',
    '2',
    '--cidl-budget',
    '50%',
    '--out',
    gen,
  ]);
  expect(r.status, r.stderr).toBe(0);
  // odsora generate writes a studio run folder: its engine events are in events.jsonl.
  events = readFileSync(join(gen, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { event: EngineEvent }).event);
}, 240_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The studio's run folder for the same events (run.json v2 + events.jsonl, src-main/studio/services/run-folder.ts). */
function studioFolder(name: string, lines: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const runJson = {
    format: 'odsora-studio-run',
    version: 2,
    runId: 'r-trace-1',
    deviceRunId: 'd1',
    device: {
      id: 'builtin',
      deviceId: 'dev-1',
      name: 'Built-in iPhone 15 Pro (simulated)',
      model: 'iPhone16,1',
      role: 'target',
      simulated: true,
      engineVersion: '0.1.0',
    },
    params: { prompt: 'a red circle moving right on a black background', seed: 1, steps: 6 },
    preview: null,
    label: null,
    createdAtEpochMs: 1_765_000_000_000,
    state: 'finished',
    lastSeq: lines.length,
    endedAtEpochMs: null,
    interruption: null,
    baselineOf: null,
    baselineRunId: null,
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(runJson));
  writeFileSync(join(dir, 'events.jsonl'), lines.join(''));
  return dir;
}

const storedLines = (): string[] => [
  `${JSON.stringify({ seq: 1, event: { type: 'run.queued', atMs: 0, position: 0 } })}\n`,
  ...events.map((event, i) => `${JSON.stringify({ seq: i + 2, event })}\n`),
];

/** Checks a written trace against the events it came from. */
function expectTraceOf(file: string): ReturnType<typeof checkChromeTrace> {
  const read = checkChromeTrace(JSON.parse(readFileSync(file, 'utf8')));
  const want = expectedTraceCounts(events);
  expect(read.complete).toEqual({
    stage: want.stages,
    step: want.steps,
    compute: want.computes,
    load: want.loads,
  });
  expect(read.instants['release']).toBe(want.releases);
  expect(read.counters['resident']).toBe(want.resident);
  expect(read.events.filter((e) => e.name === 'LPL leap')).toHaveLength(1);
  expect(read.events.filter((e) => e.cat === 'tdtm').map((e) => e.name)).toEqual([
    'TDTM merge',
    'TDTM unmerge',
  ]);
  expect([...read.threads.values()]).toEqual(['stages', 'engine compute', 'loader']);
  return read;
}

describe('odsora trace', () => {
  it('turns an `odsora generate --out` folder into a trace with one event per stage, step, compute and load', () => {
    expect(expectedTraceCounts(events)).toMatchObject({ stages: 4, steps: 4 }); // LPL 4/6: the 4th step leaps
    const out = join(work, 'traces', 'gen.trace.json');
    const r = odsora(['trace', gen, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/4 stages, 4 steps, \d+ block computes/);
    expect(r.stdout).toContain('ui.perfetto.dev');
    const read = expectTraceOf(out);
    expect(read.processName).toMatch(/^odsora generate · /);
    expect(read.metadata).toMatchObject({ source: 'odsora generate', params: { seed: 1, steps: 6 } });
    // Written atomically: no temporary file left beside it.
    expect(readdirSync(join(work, 'traces'))).toEqual(['gen.trace.json']);
  });

  it('turns a studio run folder (run.json + events.jsonl) into the same trace', () => {
    const dir = studioFolder('studio-run', storedLines());
    const out = join(work, 'studio.trace.json');
    const r = odsora(['trace', dir, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const read = expectTraceOf(out);
    expect(read.processName).toBe('r-trace-1 · Built-in iPhone 15 Pro (simulated) (iPhone16,1)');
    expect(read.metadata).toMatchObject({ source: 'odsora studio', runId: 'r-trace-1', state: 'finished' });
  });

  it('fails naming the file when run.json or events.jsonl is missing or torn', () => {
    const out = join(work, 'never.trace.json');
    const fails = (dir: string, message: RegExp): void => {
      const r = odsora(['trace', dir, '--out', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
    };
    fails(join(work, 'nowhere'), /odsora trace: .*nowhere\/run\.json is missing/);
    const torn = join(work, 'torn');
    mkdirSync(torn);
    writeFileSync(join(torn, 'run.json'), readFileSync(join(gen, 'run.json'), 'utf8').slice(0, 200));
    fails(torn, /torn\/run\.json is not valid JSON \(cut short\?\)/);
    writeFileSync(
      join(torn, 'run.json'),
      JSON.stringify({ format: 'odsora-run', version: 1, params: {}, events: [{ type: 'step.end' }] }),
    );
    fails(
      torn,
      /torn\/run\.json is not a studio run folder \("odsora-studio-run"\): its format is "odsora-run"/,
    );
    const noLog = studioFolder('no-log', []);
    rmSync(join(noLog, 'events.jsonl'));
    fails(noLog, /no-log\/events\.jsonl is missing/);
    const lines = storedLines();
    lines[lines.length - 1] = lines[lines.length - 1]!.slice(0, 20); // the studio stopped while writing it
    fails(studioFolder('torn-log', lines), /torn-log\/events\.jsonl: the last line was cut short/);
    expect(readdirSync(work)).not.toContain('never.trace.json');
  });
});
