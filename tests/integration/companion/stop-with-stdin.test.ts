// A companion started as a child (the studio's built-in device, a sweep's) must not outlive its parent: with
// --stop-with-stdin it stops when its stdin pipe closes, which the OS does even when the parent is SIGKILLed. Real
// processes: a parent that starts `odsora companion --stop-with-stdin` the way builtin-device.ts does, then is killed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../../helpers/fixture-model-dir';
import { waitUntil } from '../../helpers/companion-process';
import { CLI_PATH, ensureCliBuilt, REPO_ROOT } from '../../helpers/odsora-cli';

const work = mkdtempSync(join(tmpdir(), 'odsora-stop-with-stdin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts a parent process that starts the companion with a stdin pipe; resolves with both pids once it listens. */
async function parentWithCompanion(extra: string[]): Promise<{ parent: number; companion: number }> {
  ensureCliBuilt();
  const args = [
    CLI_PATH,
    'companion',
    '--json',
    '--port',
    '0',
    '--loopback',
    '--no-advertise',
    '--models',
    fixtureModelDir(),
    '--data',
    mkdtempSync(join(work, 'data-')),
    ...extra,
  ];
  const script = `
    const { spawn } = require('node:child_process');
    const child = spawn(process.execPath, ${JSON.stringify(args)}, { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdout.once('data', () => process.stdout.write(JSON.stringify({ companion: child.pid }) + '\\n'));
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ODSORA_CACHE: join(work, 'cache') },
  });
  const companion = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the companion did not start within 60 s')), 60_000);
    parent.stdout.setEncoding('utf8');
    parent.stdout.once('data', (line: string) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { companion: number }).companion);
    });
  });
  return { parent: parent.pid!, companion };
}

describe('odsora companion --stop-with-stdin', () => {
  it('stops when the process that started it is killed with SIGKILL', async () => {
    const { parent, companion } = await parentWithCompanion(['--stop-with-stdin']);
    expect(alive(companion)).toBe(true);
    process.kill(parent, 'SIGKILL');
    await waitUntil(() => !alive(companion), 15_000, 'the companion to stop after its parent was killed');
  }, 90_000);

  it('without the flag, a killed parent leaves the companion running (what the flag is for)', async () => {
    const { parent, companion } = await parentWithCompanion([]);
    process.kill(parent, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    expect(alive(companion)).toBe(true);
    process.kill(companion, 'SIGKILL');
  }, 90_000);
});
