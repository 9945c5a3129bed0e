// `odsora generate` end to end: the BUILT command line (out/cli/odsora.cjs) on the fixture model directory
// (tests/helpers/fixture-model-dir.ts), converted into a temp cache ($ODSORA_CACHE). Checks the written files
// (PNG frames, APNG, GIF, the studio run folder's run.json and events.jsonl, listed by the studio's history) and that
// bad flags fail naming the flag.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import UPNG from 'upng-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runOdsora, type OdsoraResult } from '../../helpers/odsora-cli';
import { FIXTURE_SAMPLING, fixtureModelDir } from '../../helpers/fixture-model-dir';
import { loadRunFile, readEventLog } from '../../../src-main/studio/services/run-folder';
import { RunHistory } from '../../../src-main/studio/services/run-history';
import { RunService } from '../../../src-main/studio/services/run-service';

let modelDir: string;
let work: string;

function odsora(args: string[]): OdsoraResult {
  return runOdsora(args, { ODSORA_CACHE: join(work, 'cache') });
}

beforeAll(() => {
  ensureCliBuilt();
  modelDir = fixtureModelDir();
  work = mkdtempSync(join(tmpdir(), 'odsora-generate-cli-'));
});

afterAll(() => {
  rmSync(modelDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('odsora generate', () => {
  it('writes PNG frames, an APNG, a GIF and a studio run folder that history lists', async () => {
    // Under a studio data directory's runs/, as `odsora generate --out <data>/runs/<name>` puts it.
    const out = join(work, 'studio-data', 'runs', 'run1');
    const r = odsora([
      'generate',
      '--model',
      modelDir,
      '--prompt',
      'a red ball',
      '--seed',
      '1',
      '--steps',
      '3',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    // Progress on stderr: phases and a step counter.
    expect(r.stderr).toMatch(/denoise: done in \d+ ms/);
    expect(r.stderr).toMatch(/step 3\/3/);
    const { num_frames: F, height: H, width: W } = FIXTURE_SAMPLING;

    const frames = readdirSync(join(out, 'frames')).sort();
    expect(frames).toEqual(Array.from({ length: F }, (_, i) => `${String(i).padStart(4, '0')}.png`));
    const png = readFileSync(join(out, 'frames', '0000.png'));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const img = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength) as ArrayBuffer);
    expect([img.width, img.height]).toEqual([W, H]);

    const apng = readFileSync(join(out, 'video.png'));
    const anim = UPNG.decode(
      apng.buffer.slice(apng.byteOffset, apng.byteOffset + apng.byteLength) as ArrayBuffer,
    );
    expect(anim.frames).toHaveLength(F);
    expect(anim.tabs.acTL?.num_frames).toBe(F);

    const gif = readFileSync(join(out, 'video.gif'));
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    const gw = gif.readUInt16LE(6);
    const gh = gif.readUInt16LE(8);
    expect(Math.min(gw, gh)).toBeGreaterThanOrEqual(256);

    // run.json is a studio run folder's (odsora-studio-run v3), its CLI extras typed by the `generate` section, its
    // headline metrics computed from its events (history lists them without folding the log).
    const read = await loadRunFile(out);
    if (!read.ok) throw new Error(read.reason);
    const run = read.file;
    expect(run).toMatchObject({ format: 'odsora-studio-run', version: 3, runId: 'run1', state: 'finished' });
    expect(run.metrics).toMatchObject({ frames: F });
    expect(run.metrics?.wallMs).toBeGreaterThan(0);
    expect(run.metrics?.medianStepMs).toBeGreaterThan(0);
    expect(run.params).toMatchObject({
      prompt: 'a red ball',
      seed: 1,
      steps: 3,
      numFrames: F,
      heightPx: H,
      widthPx: W,
    });
    const cli = run.generate!;
    expect(cli.provenance.engineVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(cli.provenance).toHaveProperty('gitCommit');
    expect(cli.provenance.host.node).toBe(process.version);
    expect(cli.provenance.host.backend).toMatch(/onnxruntime/);
    const blocks = cli.provenance.model.blocks;
    expect(new Set(blocks.map((b) => b.stage))).toEqual(new Set(['denoiser', 'text', 'decode']));
    for (const b of blocks) expect(b.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((cli.outputs['gif'] as { scale: number }).scale).toBe(gw / W);
    expect(cli.timings.steps).toHaveLength(3);
    for (const k of ['loadMs', 'textMs', 'denoiseMs', 'decodeMs', 'totalMs'] as const)
      expect(cli.timings[k]).toBeGreaterThanOrEqual(0);
    const events = (await readEventLog(out)).events.map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['run.queued', 'run.started', 'step.end', 'run.finished']),
    );
    expect(events.flatMap((e) => (e.type === 'stage.end' ? [e.stage] : []))).toEqual(
      expect.arrayContaining(['text', 'denoise', 'decode']),
    );

    // The studio's history lists it and shows its detail, measures and frames.
    const runs = await RunService.open({
      dataDir: join(work, 'studio-data'),
      hub: {
        pairedClient: () => {
          throw new Error('history needs no device');
        },
      },
    });
    expect(runs.list().map((x) => [x.runId, x.state])).toEqual([['run1', 'finished']]);
    const history = new RunHistory(runs);
    const detail = await history.detail('run1');
    expect(detail.wallMs).toBeGreaterThan(0);
    expect(detail.eventLogProblem).toBeNull();
    expect((await history.measures('run1')).steps).toHaveLength(3);
    expect((await history.framePage('run1', 'final', 0, 100)).total).toBe(F);
  });

  it('runs LPL, TDTM and a CI-DL budget with --json (no progress on stderr)', () => {
    const out = join(work, 'run2');
    const r = odsora([
      'generate',
      '--model',
      modelDir,
      '--prompt',
      'a blue box',
      '--seed',
      '2',
      '--steps',
      '4',
      '--lpl',
      'fixed:3',
      '--tdtm',
      '2',
      '--cidl-budget',
      '50%',
      '--cidl-policy',
      'largest-first',
      '--no-prefetch',
      '--json',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/step \d/);
    const summary = JSON.parse(r.stdout) as { leapStep: number; lpl: string; frames: number };
    // fixed:3 is LPL 3/4: the third step leaps (the engine's 0-based leapStep 2).
    expect(summary.lpl).toBe('LPL 3/4');
    expect(summary.leapStep).toBe(2);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      params: Record<string, unknown>;
    };
    expect(run.params).toMatchObject({
      lpl: { mode: 'fixed', leapStep: 2 },
      tdtm: { mergeSteps: 2 },
      cidl: { budget: { kind: 'fraction', of: 0.5 }, policy: 'largest-first', prefetch: false },
    });
  });

  it('without --seed draws a seed, prints it, records it, and --seed with it repeats the run', () => {
    const out = join(work, 'random-seed');
    const r = odsora([
      'generate',
      '--model',
      modelDir,
      '--prompt',
      'a red ball',
      '--steps',
      '2',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const printed = /seed: (\d+) \(random; --seed (\d+) repeats this run\)/.exec(r.stderr);
    expect(printed, r.stderr).not.toBeNull();
    const seed = Number(printed![1]);
    expect(Number(printed![2])).toBe(seed);
    expect(r.stdout).toContain(`seed ${seed} (random)`);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      generate: { seedChosen: string };
      params: { seed: number };
    };
    expect(run).toMatchObject({ generate: { seedChosen: 'random' }, params: { seed } });

    const again = join(work, 'random-seed-again');
    const r2 = odsora([
      'generate',
      '--model',
      modelDir,
      '--prompt',
      'a red ball',
      '--steps',
      '2',
      '--seed',
      String(seed),
      '--out',
      again,
    ]);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stderr).not.toMatch(/random/);
    expect(JSON.parse(readFileSync(join(again, 'run.json'), 'utf8'))).toMatchObject({
      generate: { seedChosen: 'given' },
    });
    for (const frame of ['0000.png', '0007.png'])
      expect(
        readFileSync(join(again, 'frames', frame)).equals(readFileSync(join(out, 'frames', frame))),
      ).toBe(true);
  });

  it('--lpl fixed:N leaps at step N counted from 1, as "LPL N/steps" reads', () => {
    const out = join(work, 'lpl');
    const r = odsora([
      ...['generate', '--model', modelDir, '--prompt', 'a red ball', '--seed', '3', '--steps', '4'],
      ...['--lpl', 'fixed:3', '--out', out],
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/4 steps, LPL 3\/4/);
    expect(r.stderr).toMatch(/step 3\/4 .*leap → t=0/);
    expect(r.stderr).not.toMatch(/step 4\/4/);
    expect(r.stdout).toMatch(/LPL 3\/4: leapt at step 3/);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      generate: { timings: { steps: { step: number; leapt: boolean }[] } };
    };
    // Three steps ran the model; the third leapt.
    expect(run.generate.timings.steps.map((s) => s.leapt)).toEqual([false, false, true]);

    const base = ['generate', '--model', modelDir, '--prompt', 'x', '--seed', '1', '--steps', '4'];
    const zero = odsora([...base, '--lpl', 'fixed:0', '--out', join(work, 'lpl0')]);
    expect(zero.status).not.toBe(0);
    expect(zero.stderr).toMatch(/--lpl fixed:N needs the step that leaps, counted from 1/);
    const past = odsora([...base, '--lpl', 'fixed:5', '--out', join(work, 'lpl5')]);
    expect(past.status).not.toBe(0);
    expect(past.stderr).toMatch(/--lpl: .*LPL 5\/4 would leap past the last step/);
  });

  it('warns about words the model does not know before the run starts, listing the words it knows', () => {
    // The bundled Open-Sora Nano: a word-level vocabulary of 22 words.
    const out = join(work, 'unknown-words');
    const r = odsora([
      ...['generate', '--prompt', 'a purple elephant moving left on a black background', '--seed', '1'],
      ...['--steps', '2', '--out', out],
    ]);
    expect(r.status, r.stderr).toBe(0);
    const warning = r.stderr.indexOf("warning: the model's vocabulary lacks 'elephant'");
    expect(warning, r.stderr).toBeGreaterThanOrEqual(0);
    expect(r.stderr).toMatch(
      /Words it knows: a on background moving red green blue yellow purple white circle/,
    );
    // Before any stage ran.
    expect(warning).toBeLessThan(r.stderr.indexOf('text: …'));
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      generate: { tokens: { unknownWords: string[] } };
    };
    expect(run.generate.tokens.unknownWords).toEqual(['elephant']);

    const known = odsora([
      ...['generate', '--prompt', 'a purple circle moving left on a black background', '--seed', '1'],
      ...['--steps', '1', '--json', '--out', join(work, 'known-words')],
    ]);
    expect(known.status, known.stderr).toBe(0);
    expect(known.stderr).not.toMatch(/vocabulary lacks/);
    expect(JSON.parse(known.stdout)).toMatchObject({ unknownWords: [] });
  });

  it('rejects bad flags naming the flag', () => {
    const base = [
      'generate',
      '--model',
      modelDir,
      '--prompt',
      'x',
      '--seed',
      '1',
      '--out',
      join(work, 'bad'),
    ];
    const cases: [string[], RegExp][] = [
      [['--lpl', 'sometimes'], /--lpl must be off, fixed/],
      [['--steps', '0'], /--steps must be a positive integer/],
      [['--cidl-budget', 'lots'], /--cidl-budget: invalid budget 'lots'/],
      [['--cidl-policy', 'random'], /--cidl-policy/],
      [['--height', '30'], /--height: invalid generate params: heightPx 30 is not a multiple/],
    ];
    for (const [extra, msg] of cases) {
      const r = odsora([...base, ...extra]);
      expect(r.status, extra.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(msg);
    }
    expect(existsSync(join(work, 'bad', 'run.json'))).toBe(false);
    const noModel = odsora([...base.slice(0, 1), '--model', join(work, 'nope'), ...base.slice(3)]);
    expect(noModel.status).not.toBe(0);
    expect(noModel.stderr).toMatch(/--model .*nope: no such directory/);
  });

  it('refuses a job under a process limit smaller than the process before any stage runs, short by what the limit lacks', () => {
    const out = join(work, 'too-small');
    const r = odsora([
      'generate',
      '--model',
      modelDir,
      '--prompt',
      'a red ball',
      '--seed',
      '1',
      '--steps',
      '3',
      '--memory-limit',
      '40MB',
      '--out',
      out,
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).not.toMatch(/text: done/);
    const m =
      /under the .*\((\d+) B\) process limit the text stage has 0 B for blocks \(after .*\((\d+) B\) the process holds.*short by .*\((\d+) B\)/.exec(
        r.stderr,
      );
    expect(m, r.stderr).not.toBeNull();
    const [limit, held, short] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
    expect(limit).toBe(40_000_000);
    // Raising the limit by the shortfall is what it takes: the process alone is over it, not just the block.
    expect(short).toBeGreaterThan(held - limit);
    expect(existsSync(join(out, 'run.json'))).toBe(false);
  });
});
