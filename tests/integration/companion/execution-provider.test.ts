// `odsora companion --ep` as a user meets it (the built command line, real onnxruntime-node): a provider that is
// missing stops the companion at start-up with how to get it; the provider used is in device info.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { startCompanion, stopCompanion } from '../../helpers/companion-process';
import { CLI_PATH, ensureCliBuilt, REPO_ROOT } from '../../helpers/odsora-cli';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `odsora companion <args>` to its end (it should not start) and returns its exit code and stderr. */
function companionRefusal(args: string[]): { status: number | null; stderr: string } {
  ensureCliBuilt();
  const data = mkdtempSync(join(tmpdir(), 'odsora-ep-'));
  dirs.push(data);
  const r = spawnSync(
    process.execPath,
    [
      CLI_PATH,
      'companion',
      '--json',
      '--port',
      '0',
      '--no-advertise',
      '--models',
      fixtureModelDir(),
      '--data',
      data,
      ...args,
    ],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, ODSORA_CACHE: join(data, 'cache') },
    },
  );
  return { status: r.status, stderr: r.stderr };
}

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

describe('odsora companion --ep', () => {
  it.skipIf(!onLinuxX64)(
    '--ep cuda without the CUDA provider stops at start-up with the install command',
    () => {
      const r = companionRefusal(['--ep', 'cuda']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('--ep cuda: ONNX Runtime cannot load its CUDA provider');
      expect(r.stderr).toContain(
        'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --ignore-scripts=false',
      );
    },
  );

  it.skipIf(!onLinuxX64)('the gpu profile asks for CUDA by default and says so when it is missing', () => {
    const r = companionRefusal(['--profile', 'gpu']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--profile gpu runs on --ep cuda by default');
    expect(r.stderr).toContain('or use --ep cpu');
  });

  it.skipIf(process.platform === 'darwin')('--ep coreml off macOS is refused, naming the platform', () => {
    const r = companionRefusal(['--ep', 'coreml']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `Core ML is only available on macOS (this machine is ${process.platform}-${process.arch})`,
    );
  });

  it.skipIf(process.platform === 'darwin')(
    'odsora generate --ep coreml off macOS is refused the same way',
    () => {
      const out = mkdtempSync(join(tmpdir(), 'odsora-ep-gen-'));
      dirs.push(out);
      const r = spawnSync(
        process.execPath,
        [
          CLI_PATH,
          'generate',
          '--prompt',
          'a red circle',
          '--seed',
          '1',
          '--steps',
          '2',
          '--ep',
          'coreml',
          '--out',
          out,
        ],
        { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('Core ML is only available on macOS');
    },
  );

  it('an unknown provider is refused by the option parser', () => {
    const r = companionRefusal(['--ep', 'tpu']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--ep.*'tpu'.*cpu, coreml, cuda/s);
  });

  it('a gpu-profile baseline on --ep cpu says it is a CPU baseline in its device info', async () => {
    const proc = await startCompanion({ profile: 'gpu', extraArgs: ['--ep', 'cpu'] });
    const client = new CompanionClient({ keyStore: new MemoryKeyStore() });
    try {
      await client.connect('127.0.0.1', proc.port);
      const info = client.device!;
      expect(info.role).toBe('baseline');
      expect(info.model).toBe('gpu-baseline-cpu');
      expect(info.backends).toHaveLength(1);
      expect(info.backends[0]).toMatch(/^onnxruntime-node \S+ \(cpu, \d+ threads\)$/);
    } finally {
      await client.close();
      await stopCompanion(proc);
    }
  });
});
