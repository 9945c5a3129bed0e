import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCmdline, processLabel, startPhaseCpu } from '../../../../src-main/bench/studio-bench-cpu';

describe('parseCmdline', () => {
  it('splits NUL-separated arguments, and the one space-joined string Chromium leaves for its children', () => {
    expect(parseCmdline('/usr/bin/node\0/repo/out/cli/odsora.cjs\0studio\0')).toEqual([
      '/usr/bin/node',
      '/repo/out/cli/odsora.cjs',
      'studio',
    ]);
    expect(parseCmdline('/usr/lib/chromium/chromium --type=renderer --lang=en-US\0')).toEqual([
      '/usr/lib/chromium/chromium',
      '--type=renderer',
      '--lang=en-US',
    ]);
  });
});

describe('processLabel', () => {
  it('names Chromium processes by their type, and the network service by its name', () => {
    expect(processLabel(['/usr/lib/chromium/chromium', '--headless', '--no-sandbox'])).toBe(
      'chromium browser',
    );
    expect(processLabel(['/usr/lib/chromium/chromium', '--type=renderer', '--lang=en-US'])).toBe(
      'chromium renderer',
    );
    expect(processLabel(['/usr/lib/chromium/chromium', '--type=gpu-process'])).toBe('chromium gpu-process');
    expect(
      processLabel([
        '/usr/lib/chromium/chromium',
        '--type=utility',
        '--utility-sub-type=network.mojom.NetworkService',
      ]),
    ).toBe('chromium utility (network)');
  });

  it('names odsora processes by their command, other programs by executable and script', () => {
    expect(processLabel(['/usr/bin/node', '/repo/out/cli/odsora.cjs', 'studio', '--web'])).toBe(
      'odsora studio',
    );
    expect(
      processLabel(['/usr/bin/node', '--max-old-space-size=4096', '/repo/out/cli/odsora.cjs', 'companion']),
    ).toBe('odsora companion');
    expect(processLabel(['/usr/bin/node', '/repo/out/engine-worker.cjs'])).toBe('node engine-worker.cjs');
    expect(processLabel(['/bin/sleep', '5'])).toBe('sleep 5');
  });
});

describe('startPhaseCpu', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it.runIf(existsSync('/proc/self/stat'))(
    'gives a busy child its CPU time over the phase, by pid',
    async () => {
      const end = startPhaseCpu();
      // A child that spins one core for about 400 ms, then idles until killed.
      const busy = spawn(process.execPath, [
        '-e',
        'const t = Date.now(); while (Date.now() - t < 400); setInterval(() => undefined, 1000);',
      ]);
      children.push(busy);
      await new Promise((r) => setTimeout(r, 900));
      const phase = end();
      expect(phase).not.toBeNull();
      const child = phase!.processes.find((p) => p.pid === busy.pid);
      expect(child, 'the spinning child is in the tree').toBeDefined();
      expect(child!.label).toBe('node -e');
      expect(child!.cpuMs).toBeGreaterThanOrEqual(250);
      expect(child!.cores).toBeGreaterThan(0.2);
      expect(child!.cores).toBeLessThanOrEqual(1.2);
      expect(phase!.wallMs).toBeGreaterThanOrEqual(850);
      // Its main thread's wait for a CPU, where the kernel reports it: a duration, never more than the phase.
      if (existsSync('/proc/self/schedstat')) {
        expect(child!.runQueueWaitMs).toBeGreaterThanOrEqual(0);
        expect(child!.runQueueWaitMs).toBeLessThanOrEqual(phase!.wallMs);
      }
    },
  );
});
