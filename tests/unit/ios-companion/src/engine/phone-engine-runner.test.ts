// The phone's EngineRunner before a run is accepted: its parameters resolved against the installed block set, then
// admission control against what iOS lets the app hold (footprint + os_proc_available_memory, read through the
// probe port — here a stand-in for the native module, with the real Open-Sora Nano block set).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhoneEngineRunner } from '../../../../../ios-companion/src/engine/phone-engine-runner';
import type { MemoryProbe } from '../../../../../shared/engine/ports';
import { NodeFileSystem, nodeSha256 } from '../../../../../src-main/adapters/node-fs';
import { nodeClock } from '../../../../../src-main/adapters/node-memory-probe';
import { ensureBundledBlockSet } from '../../../../../src-main/models/bundled';

const cache = mkdtempSync(join(tmpdir(), 'odsora-phone-runner-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const phoneProbe = (footprint: number, available: number): MemoryProbe => ({
  footprintBytes: async () => footprint,
  availableBytes: async () => available,
});

function runner(probe?: MemoryProbe): PhoneEngineRunner {
  return new PhoneEngineRunner({
    backend: () => {
      throw new Error('validate never needs the backend');
    },
    clock: nodeClock,
    ...(probe ? { probe } : {}),
    defaultBudget: () => null,
  });
}

let phone: PhoneEngineRunner;
beforeAll(async () => {
  const { blockSet } = await ensureBundledBlockSet(
    { fs: new NodeFileSystem(), sha256: nodeSha256 },
    { cacheRoot: cache },
  );
  phone = runner(phoneProbe(200e6, 2.5e9));
  await phone.useBlockSet(blockSet);
});

describe('PhoneEngineRunner.validate', () => {
  it('refuses a job the app cannot hold, naming the stage and what iOS allows', async () => {
    const v = await phone.validate({
      prompt: 'a red circle',
      seed: 1,
      numFrames: 1024,
      heightPx: 4096,
      widthPx: 4096,
    });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.code).toBe('job-too-large');
    expect(v.message).toMatch(
      /needs at least .* in its \w+ stage .* more than what iOS lets this app hold .*\(2\.5 GiB/,
    );
  });

  it('accepts the model defaults, and names a bad parameter as invalid-params', async () => {
    expect(await phone.validate({ prompt: 'a red circle', seed: 1 })).toEqual({ ok: true });
    const bad = await phone.validate({ prompt: 'a red circle', seed: 1, heightPx: 30 });
    expect(bad).toMatchObject({ ok: false, field: 'heightPx' });
    expect(bad.ok === false && bad.code).not.toBe('job-too-large');
  });

  it('refuses every run while no model is installed', async () => {
    expect(await runner().validate({ prompt: 'a', seed: 1 })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no model is installed/),
    });
  });
});
