import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseStudioArgs,
  studioCommands,
  studioContract,
} from '../../../../../shared/protocol/studio-contract';
import { createStudioServices, type StudioServices } from '../../../../../src-main/studio/services/index';

describe('studio contract validation', () => {
  it('rejects bad device and run arguments, naming the field', () => {
    const cases: [Parameters<typeof parseStudioArgs>[0], unknown, RegExp][] = [
      ['devices.addManual', { host: '127.0.0.1', port: 0 }, /^devices\.addManual: port: /],
      ['devices.addManual', { host: 'a b', port: 80 }, /host: must be a host name or IP address/],
      ['devices.pair', { deviceId: 'dev-1', code: '12' }, /code: must be 6 digits/],
      ['devices.forget', { deviceId: '' }, /deviceId: /],
      ['runs.start', { deviceId: 'dev-1', params: { prompt: 'x', seed: 1, steps: 0 } }, /params\.steps: /],
      [
        'runs.start',
        { deviceId: 'dev-1', params: { prompt: 'x', seed: 1, stepz: 3 } },
        /params\.stepz: unrecognized key/,
      ],
      ['runs.cancel', { runId: 'r1', force: true }, /force: unrecognized key/],
    ];
    for (const [command, args, message] of cases) {
      const r = parseStudioArgs(command, args);
      expect(r.ok, `${command} ${JSON.stringify(args)}`).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('bad-args');
        expect(r.error.message).toMatch(message);
      }
    }
    expect(
      parseStudioArgs('runs.start', { deviceId: 'builtin', params: { prompt: 'x', seed: 1, steps: 3 } }).ok,
    ).toBe(true);
  });

  it('maps every command to one API method', () => {
    const methods = studioCommands.map((c) => studioContract[c].method);
    expect(new Set(methods).size).toBe(studioCommands.length);
  });
});

describe('studio dispatcher with services (no devices)', () => {
  let dir: string;
  let services: StudioServices;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'odsora-studio-dispatch-'));
    services = await createStudioServices({
      appVersion: '1.2.3',
      platform: 'web',
      dataDir: dir,
      discovery: false,
      builtinDevice: false,
    });
  });
  afterAll(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers bad arguments with bad-args before any service runs', async () => {
    const reply = await services.dispatch('devices.pair', { deviceId: 'dev-1', code: 'abcdef', extra: 1 });
    expect(reply).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    if (!reply.ok) expect(reply.error.message).toMatch(/code: must be 6 digits.*extra: unrecognized key/);
  });

  it('answers an unknown device with a typed not-found error and an empty list', async () => {
    expect(await services.dispatch('devices.list', {})).toEqual({ ok: true, result: { devices: [] } });
    const reply = await services.dispatch('devices.setBaseline', { deviceId: 'nope' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'not-found', retryable: false } });
    const run = await services.dispatch('runs.start', { deviceId: 'nope', params: { prompt: 'x', seed: 1 } });
    expect(run).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(await services.dispatch('runs.cancel', { runId: 'r1' })).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    });
  });

  it('answers the history, compare, preflight and report commands about unknown things with not-found', async () => {
    const cases: [string, unknown][] = [
      ['runs.get', { runId: 'r1' }],
      ['runs.events', { runId: 'r1', afterSeq: 0, limit: 10 }],
      ['runs.frames', { runId: 'r1', which: 'final', from: 0, limit: 10 }],
      ['runs.startBaseline', { runId: 'r1' }],
      ['runs.compare', { runA: 'r1', runB: 'r2' }],
      ['devices.preflight', { deviceId: 'nope', params: { prompt: 'x', seed: 1 } }],
      ['reports.export', { runIds: ['r1'], formats: ['html'] }],
    ];
    for (const [command, args] of cases) {
      expect(await services.dispatch(command, args), command).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
    }
    expect(await services.dispatch('runs.delete', { runId: 'r1' })).toEqual({
      ok: true,
      result: { deleted: false },
    });
  });

  it('reports the git commit of this checkout in app.info (as git itself says)', async () => {
    const reply = await services.dispatch('app.info', {});
    expect(reply).toMatchObject({ ok: true, result: { appVersion: '1.2.3', platform: 'web' } });
    if (!reply.ok) return;
    const gitCommit = (reply.result as { gitCommit: string | null }).gitCommit;
    let expected: string;
    try {
      expected = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: __dirname, encoding: 'utf8' }).trim();
    } catch {
      // No git binary (or no checkout) to ask: the studio's answer must still be a commit id or null.
      expect(gitCommit === null || /^[0-9a-f]{40}$/.test(gitCommit)).toBe(true);
      return;
    }
    expect(gitCommit).toBe(expected);
  });
});
