// The composition root with the built-in device: `odsora companion --profile iphone-15-pro` started by the studio
// on loopback (fixture model instead of the bundled one), paired automatically with the code it printed, and
// reachable through the contract dispatcher, as `npm start` would have it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudioDevice, StudioEvent } from '../../../shared/protocol/studio-contract';
import { createStudioServices, type StudioServices } from '../../../src-main/studio/services/index';
import { CLI_PATH, ensureCliBuilt } from '../../helpers/odsora-cli';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';
import { until } from '../companion/run-helpers';
import { PROTOCOL_VERSION } from '../../../shared/protocol/limits';

let dataDir: string;
let modelDir: string;
let services: StudioServices;
const pushed: StudioEvent[] = [];

beforeAll(async () => {
  ensureCliBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'odsora-studio-builtin-'));
  modelDir = fixtureModelDir();
  services = await createStudioServices({
    appVersion: '0.0.0-test',
    platform: 'web',
    dataDir,
    discovery: false,
    builtinDevice: { modelDir, cliPath: CLI_PATH, env: { ODSORA_CACHE: join(dataDir, 'cache') } },
  });
  services.onEvent((e) => pushed.push(e));
});

afterAll(async () => {
  await services?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
});

describe('built-in device', () => {
  it('starts, pairs by itself and is listed through the contract', async () => {
    const list = async (): Promise<StudioDevice[]> => {
      const reply = await services.dispatch('devices.list', {});
      if (!reply.ok) throw new Error(reply.error.message);
      return (reply.result as { devices: StudioDevice[] }).devices;
    };
    let devices: StudioDevice[] = [];
    await until(
      () => {
        void list().then((d) => (devices = d));
        return devices[0]?.status === 'paired' || devices[0]?.status === 'error';
      },
      90_000,
      'the built-in device paired',
    );
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({
      id: 'builtin',
      model: 'iphone-15-pro',
      role: 'target',
      simulated: true,
      host: '127.0.0.1',
      status: 'paired',
      sources: { builtin: true, manual: false },
      diagnostics: { portReachable: true, paired: true, protocolVersion: PROTOCOL_VERSION, lastError: null },
    });
    expect(devices[0]!.deviceId).toMatch(/^dev-/);
    expect(pushed.some((e) => e.type === 'devices.changed')).toBe(true);
    const pair = await services.dispatch('devices.pair', { deviceId: 'builtin', code: '123456' });
    expect(pair).toMatchObject({ ok: true, result: { device: { status: 'paired' } } }); // already paired: a no-op
  });
});
