// The studio contract's history, compare, preflight and report commands: bad arguments are refused naming the
// field, results are checked, and the read-only mirror may call only what changes nothing.
import { describe, expect, it } from 'vitest';
import {
  isReadOnlyCommand,
  parseStudioArgs,
  parseStudioResult,
  studioCommands,
  studioContract,
  studioReadOnlyCommands,
  type StudioCommand,
} from '../../../../shared/protocol/studio-contract';

const params = { prompt: 'a red ball', seed: 3, steps: 4 };

describe('studio contract: history, compare, preflight, reports', () => {
  it('refuses bad arguments with bad-args naming the bad field', () => {
    const cases: [StudioCommand, unknown, RegExp][] = [
      ['runs.get', {}, /^runs\.get: runId: /],
      ['runs.get', { runId: '../etc' }, /runId: must be 1-128 of/],
      ['runs.events', { runId: 'r1', afterSeq: -1, limit: 10 }, /afterSeq: /],
      ['runs.events', { runId: 'r1', afterSeq: 0, limit: 0 }, /limit: /],
      ['runs.events', { runId: 'r1', afterSeq: 0, limit: 5001 }, /limit: /],
      ['runs.events', { runId: 'r1', afterSeq: 1.5, limit: 10 }, /afterSeq: /],
      ['runs.frames', { runId: 'r1', which: 'last', from: 0, limit: 1 }, /which: /],
      ['runs.frames', { runId: 'r1', which: 'final', from: 0, limit: 257 }, /limit: /],
      ['runs.delete', { runId: 'r1', force: true }, /force: unrecognized key/],
      ['runs.startBaseline', { run: 'r1' }, /runId: .*run: unrecognized key|run: unrecognized key/],
      ['runs.compare', { runA: 'r1' }, /runB: /],
      ['devices.preflight', { deviceId: 'builtin', params: { prompt: 'x', seed: -1 } }, /params\.seed: /],
      [
        'devices.preflight',
        { deviceId: 'builtin', params: { ...params, cidl: { budget: { kind: 'fraction', of: 2 } } } },
        /params\.cidl\.budget\.of: /,
      ],
      ['reports.export', { runIds: [], formats: ['html'] }, /runIds: /],
      ['reports.export', { runIds: ['a', 'b', 'c'], formats: ['html'] }, /runIds: /],
      ['reports.export', { runIds: ['a'], formats: [] }, /formats: /],
      ['reports.export', { runIds: ['a'], formats: ['html', 'html'] }, /formats: must not repeat a format/],
      ['reports.export', { runIds: ['a'], formats: ['mp4'] }, /formats\.0: /],
    ];
    for (const [command, args, message] of cases) {
      const r = parseStudioArgs(command, args);
      expect(r.ok, `${command} ${JSON.stringify(args)}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('bad-args');
        expect(r.error.message, `${command} ${JSON.stringify(args)}`).toMatch(message);
      }
    }
  });

  it('accepts the arguments the renderer sends', () => {
    const good: [StudioCommand, unknown][] = [
      ['runs.get', { runId: '20261126T120000-0a1b2c3d' }],
      ['runs.events', { runId: 'r1', afterSeq: 0, limit: 5000 }],
      ['runs.frames', { runId: 'r1', which: 'preview', from: 3, limit: 256 }],
      ['runs.compare', { runA: 'r1', runB: 'r2' }],
      ['devices.preflight', { deviceId: 'builtin', params }],
      ['reports.export', { runIds: ['r1', 'r2'], formats: ['html', 'json', 'csv', 'gif', 'pdf', 'trace'] }],
    ];
    for (const [command, args] of good) expect(parseStudioArgs(command, args).ok, command).toBe(true);
  });

  it('checks results: app.info needs gitCommit (hex or null), compare keeps frame-0 flicker null', () => {
    const info = { appVersion: '1', engineVersion: '1', platform: 'web' };
    expect(parseStudioResult('app.info', { ...info, gitCommit: null }).ok).toBe(true);
    expect(parseStudioResult('app.info', { ...info, gitCommit: 'a'.repeat(40) }).ok).toBe(true);
    const missing = parseStudioResult('app.info', info);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toMatch(/gitCommit/);
    const bad = parseStudioResult('app.info', { ...info, gitCommit: 'main' });
    if (!bad.ok) expect(bad.error.message).toMatch(/gitCommit: must be a hex commit id/);
    expect(bad.ok).toBe(false);

    const compare = {
      frames: 1,
      width: 2,
      height: 2,
      perFrame: [{ index: 0, psnr: 99, ssim: 1, flickerA: null, flickerB: null }],
      clip: { psnr: 99, ssim: 1, flickerA: 1, flickerB: 1 },
      timing: { wallMsA: 10, wallMsB: 20, speedup: 2 },
      memory: { peakA: 1, peakB: 2, ratio: 0.5 },
    };
    expect(parseStudioResult('runs.compare', compare).ok).toBe(true);
    const noClip = parseStudioResult('runs.compare', { ...compare, clip: undefined });
    expect(noClip.ok).toBe(false);
  });

  it('lets a mirror read history, comparisons and sweeps but not delete, start, preflight, export or steer a sweep', () => {
    for (const c of ['runs.get', 'runs.events', 'runs.frames', 'runs.compare', 'sweeps.list', 'sweeps.get'])
      expect(isReadOnlyCommand(c), c).toBe(true);
    for (const c of [
      'runs.delete',
      'runs.startBaseline',
      'devices.preflight',
      'reports.export',
      'sweeps.start',
      'sweeps.pause',
      'sweeps.resume',
      'sweeps.cancel',
      'sweeps.exportReport',
    ])
      expect(isReadOnlyCommand(c), c).toBe(false);
    expect([...studioReadOnlyCommands].sort()).toEqual(
      [
        'app.info',
        'devices.list',
        // A mirror page follows the runs it shows like any page: it changes what reaches that page only.
        'events.follow',
        'runs.compare',
        'runs.events',
        'runs.frames',
        'runs.get',
        'runs.list',
        'sweeps.estimate',
        'sweeps.get',
        'sweeps.list',
      ].sort(),
    );
  });

  it('gives every new command its agreed API method', () => {
    const methodOf = Object.fromEntries(studioCommands.map((c) => [c, studioContract[c].method]));
    expect(methodOf).toMatchObject({
      'runs.get': 'getRun',
      'runs.events': 'getRunEvents',
      'runs.frames': 'getRunFrames',
      'runs.delete': 'deleteRun',
      'runs.startBaseline': 'startBaseline',
      'runs.compare': 'compareRuns',
      'devices.preflight': 'preflightRun',
      'reports.export': 'exportReport',
      'sweeps.exportReport': 'exportSweepReport',
    });
  });
});

describe('studio contract: the run notebook (runs.annotate)', () => {
  it('refuses a bad name, tag or notes naming the field and the limit', () => {
    const cases: [unknown, RegExp][] = [
      [{ runId: 'r1', label: '   ' }, /^runs\.annotate: label: /],
      [{ runId: 'r1', label: 'x'.repeat(257) }, /label: .*256/],
      [{ runId: 'r1', tags: ['has space'] }, /tags\.0: must be 1-64 of \[A-Za-z0-9:._-\]/],
      [{ runId: 'r1', tags: ['-lead'] }, /tags\.0: must be 1-64/],
      [{ runId: 'r1', tags: ['a,b'] }, /tags\.0: /],
      [{ runId: 'r1', tags: ['x'.repeat(65)] }, /tags\.0: /],
      [{ runId: 'r1', tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }, /tags: .*16/],
      [{ runId: 'r1', tags: ['LPL', 'lpl'] }, /tags: must not repeat a tag/],
      [{ runId: 'r1', notes: 'n'.repeat(4001) }, /notes: .*4000/],
      [{ runId: 'r1', name: 'x' }, /name: unrecognized key|unrecognized key.*name/],
    ];
    for (const [args, message] of cases) {
      const r = parseStudioArgs('runs.annotate', args);
      expect(r.ok, JSON.stringify(args).slice(0, 80)).toBe(false);
      if (!r.ok) expect(r.error.message, JSON.stringify(args).slice(0, 80)).toMatch(message);
    }
  });

  it('accepts a name (trimmed), a sweep tag, notes, and null to clear the name', () => {
    const r = parseStudioArgs('runs.annotate', {
      runId: 'r1',
      label: '  LPL 12/30 ',
      tags: ['sweep:20261207-ab', 'lpl', 'v1.2_b'],
      notes: 'line one\nline two',
    });
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.args).toMatchObject({ label: 'LPL 12/30', tags: ['sweep:20261207-ab', 'lpl', 'v1.2_b'] });
    expect(parseStudioArgs('runs.annotate', { runId: 'r1', label: null }).ok).toBe(true);
    expect(parseStudioArgs('runs.annotate', { runId: 'r1' }).ok).toBe(true);
    expect(isReadOnlyCommand('runs.annotate')).toBe(false);
    expect(studioContract['runs.annotate'].method).toBe('annotateRun');
  });
});
