// Two studios on one machine, each with its built-in device (real `odsora companion` child processes, fixture
// model), browsing real mDNS on loopback beside a companion that has the built-in device's name: each studio lists
// its own built-in device once, never the other studio's (it could not pair with it: only its own studio reads
// the code), and still finds the companion that is announced.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudioDevice } from '../../../shared/protocol/studio-contract';
import { createStudioServices, type StudioServices } from '../../../src-main/studio/services/index';
import { CLI_PATH, ensureCliBuilt } from '../../helpers/odsora-cli';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';
import { until } from '../companion/run-helpers';

const LOOPBACK_MDNS = { interface: '127.0.0.1', bind: '0.0.0.0' };
const BUILTIN_NAME = 'Built-in iPhone 15 Pro (simulated)';

const dirs: string[] = [];
const studios: StudioServices[] = [];
let modelDir: string;
let namesake: CompanionProcess | undefined;

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function startStudio(): Promise<StudioServices> {
  const dataDir = tempDir('odsora-two-studios-');
  const services = await createStudioServices({
    appVersion: '0.0.0-test',
    platform: 'web',
    dataDir,
    discovery: { mdns: LOOPBACK_MDNS },
    builtinDevice: { modelDir, cliPath: CLI_PATH, env: { ODSORA_CACHE: join(dataDir, 'cache') } },
    retryDelayMs: { initial: 200, max: 1000 },
  });
  studios.push(services);
  return services;
}

/** The built-in entry once it paired (fails fast if it errored). */
async function pairedBuiltin(studio: StudioServices): Promise<StudioDevice> {
  const builtin = (): StudioDevice | undefined => studio.hub.list().find((d) => d.sources.builtin);
  await until(
    () => builtin()?.status === 'paired' || builtin()?.status === 'error',
    90_000,
    'the built-in device paired',
  );
  expect(builtin()?.diagnostics.lastError ?? null).toBeNull();
  return builtin()!;
}

beforeAll(async () => {
  ensureCliBuilt();
  modelDir = fixtureModelDir();
}, 180_000);

afterAll(async () => {
  for (const s of studios) await s.close();
  await stopCompanion(namesake);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
});

describe('two studios on one machine', () => {
  it("each lists its own built-in device and not the other's", async () => {
    const first = await startStudio();
    const firstBuiltin = await pairedBuiltin(first);
    // An announced companion with the very same name: discovery works, and it is told apart by its id.
    namesake = await startCompanion({ name: BUILTIN_NAME, modelDir: fixtureModelDir() });
    dirs.push(namesake.modelDir);
    const second = await startStudio();
    const secondBuiltin = await pairedBuiltin(second);
    expect(secondBuiltin.deviceId).not.toBe(firstBuiltin.deviceId);

    for (const studio of [first, second]) {
      await until(
        () => studio.hub.list().some((d) => d.deviceId === namesake!.ready.id && d.status === 'connected'),
        30_000,
        'the announced namesake companion listed and connected',
      );
    }
    // Announcements repeat 1 s and 3 s after start: give a leaked one time to arrive.
    await new Promise((r) => setTimeout(r, 4000));
    for (const [studio, own, other] of [
      [first, firstBuiltin, secondBuiltin],
      [second, secondBuiltin, firstBuiltin],
    ] as const) {
      const devices = studio.hub.list();
      expect(devices.filter((d) => d.sources.builtin).map((d) => d.deviceId)).toEqual([own.deviceId]);
      expect(devices.filter((d) => d.deviceId === other.deviceId)).toEqual([]);
      // Two entries share the name here (the built-in device and the namesake), each with its own device id.
      const named = devices.filter((d) => d.name === BUILTIN_NAME);
      expect(named.map((d) => d.deviceId).sort()).toEqual([own.deviceId, namesake!.ready.id].sort());
    }
  });
});
