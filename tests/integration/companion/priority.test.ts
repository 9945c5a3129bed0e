// `odsora companion --nice N` as the studio starts its built-in device: the companion, every thread it has, and the
// engine process and threads it starts for a run all run at nice N (Linux /proc), so real inference on the same
// machine yields the CPU to the studio's UI. A bad value is refused naming it. And the studio's own built-in device
// (startBuiltinDevice) runs, engine included, under SCHED_IDLE at nice 10 where Linux has chrt.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_DEVICE_NICE } from '../../../src-main/companion/priority';
import { CompanionClient, MemoryKeyStore } from '../../../src-main/devices/companion-client';
import { startBuiltinDevice, type BuiltinDevice } from '../../../src-main/studio/services/builtin-device';
import { startCompanion, stopCompanion, type CompanionProcess } from '../../helpers/companion-process';
import { CLI_PATH, REPO_ROOT } from '../../helpers/odsora-cli';
import { orDeath, record } from './run-helpers';

const onLinux = process.platform === 'linux';
const NICE = 7;

/** Field n (1-based) of /proc/<pid>/task/<tid>/stat, counted after the parenthesised command name. */
function statField(path: string, n: number): number {
  const text = readFileSync(path, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(rest[n - 3]);
}

/** Field `n` of every thread of `pid` (threads that end while being read are skipped). */
function threadFields(pid: number, n: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(statField(`/proc/${pid}/task/${tid}/stat`, n));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** Nice values of every thread of `pid`. */
const threadNices = (pid: number): number[] => threadFields(pid, 19);

/** Scheduling policies of every thread of `pid` (field 41; 5 is SCHED_IDLE, 0 SCHED_OTHER). */
const threadPolicies = (pid: number): number[] => threadFields(pid, 41);
const SCHED_IDLE = 5;

/** `pid` and every process below it. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = statField(`/proc/${name}/stat`, 4);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // ended meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

describe.skipIf(!onLinux)('odsora companion --nice', () => {
  let proc: CompanionProcess;
  let client: CompanionClient;

  beforeAll(async () => {
    proc = await startCompanion({
      modelDir: join(REPO_ROOT, 'models', 'opensora-nano'),
      name: 'nice test',
      extraArgs: ['--nice', String(NICE)],
    });
    client = new CompanionClient({
      keyStore: new MemoryKeyStore(),
      clientName: 'vitest',
      requestTimeoutMs: 30_000,
    });
    await client.connect('127.0.0.1', proc.port);
    await client.pair((proc.ready.pairingCode ?? proc.latestPairingCode()) as string);
  }, 120_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await stopCompanion(proc, { keepModels: true });
  });

  it('runs every thread of the companion at the nice value', () => {
    const nices = threadNices(proc.child.pid!);
    expect(nices.length).toBeGreaterThan(1);
    expect(new Set(nices)).toEqual(new Set([NICE]));
  });

  it('runs the engine it starts for a run at the same nice value, every process and thread', async () => {
    const { runId } = await client.startRun({ prompt: 'a red circle', seed: 1, steps: 12 });
    let seen: number[] = [];
    const rec = await record(client, runId, 1, (e) => {
      // While the denoiser computes, the engine process and its ONNX Runtime threads exist.
      if (e.event.type === 'block.compute.start' && seen.length === 0) {
        const tree = processTree(proc.child.pid!);
        seen = tree.flatMap(threadNices);
        if (tree.length < 2) seen = [];
      }
    });
    const done = await orDeath(rec.sub.done, proc);
    expect(done.event.type).toBe('run.finished');
    expect(seen.length).toBeGreaterThan(2);
    expect(new Set(seen)).toEqual(new Set([NICE]));
  });

  it('refuses a value out of range, naming it', () => {
    const r = spawnSync(
      process.execPath,
      [CLI_PATH, 'companion', '--nice', '25', '--port', '0', '--no-advertise'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("--nice must be an integer from 0 to 19, got '25'");
  });
});

describe.skipIf(!onLinux || !existsSync('/usr/bin/chrt'))('the studio’s built-in device', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'odsora-builtin-idle-'));
  let device: BuiltinDevice;
  let client: CompanionClient;
  let pid = 0;

  beforeAll(async () => {
    device = startBuiltinDevice({
      dataDir,
      modelDir: join(REPO_ROOT, 'models', 'opensora-nano'),
      env: { ODSORA_CACHE: join(dataDir, 'cache') },
    });
    for (let waited = 0; device.state.status === 'starting' && waited < 110_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    const state = device.state;
    if (state.status !== 'ready')
      throw new Error(`the built-in device did not start: ${JSON.stringify(state)}`);
    client = new CompanionClient({
      keyStore: new MemoryKeyStore(),
      clientName: 'vitest',
      requestTimeoutMs: 30_000,
    });
    await client.connect(state.host, state.port);
    await client.pair((await device.nextPairingCode(10_000)) as string);
    pid = processTree(process.pid).find((p) => p !== process.pid && /companion/.test(cmdline(p))) ?? 0;
  }, 120_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await device?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs every thread of the companion under SCHED_IDLE, at nice 10', () => {
    expect(pid, 'the companion process').toBeGreaterThan(0);
    expect(new Set(threadPolicies(pid))).toEqual(new Set([SCHED_IDLE]));
    expect(new Set(threadNices(pid))).toEqual(new Set([BUILTIN_DEVICE_NICE]));
  });

  it('runs the engine it starts for a run under SCHED_IDLE too, every process and thread', async () => {
    const { runId } = await client.startRun({ prompt: 'a red circle', seed: 1, steps: 12 });
    let policies: number[] = [];
    let processes = 0;
    const rec = await record(client, runId, 1, (e) => {
      if (e.event.type === 'block.compute.start' && policies.length === 0) {
        const tree = processTree(pid);
        processes = tree.length;
        policies = tree.flatMap(threadPolicies);
      }
    });
    const done = await rec.sub.done;
    expect(done.event.type).toBe('run.finished');
    expect(processes, 'the companion and its engine process').toBeGreaterThanOrEqual(2);
    expect(new Set(policies)).toEqual(new Set([SCHED_IDLE]));
  }, 120_000);
});

/** A process's command line, spaces between the arguments ('' once it ended). */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}
