// src-main/companion/thermal.ts: the Node companion's thermal probe (file, Linux /sys/class/thermal, macOS pmset).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  companionThermal,
  fileThermalProbe,
  linuxThermalState,
  nodeThermalProbe,
  thermalFromPmset,
} from '../../../../src-main/companion/thermal';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'odsora-thermal-'));
  dirs.push(d);
  return d;
}

/** A fake /sys/class/thermal: one zone per entry, temperatures in °C (written as millidegrees like the kernel). */
async function sysTree(zones: { temp: number | string; trips: [string, number][]; mode?: string }[]) {
  const root = await tempDir();
  await mkdir(join(root, 'cooling_device0'));
  for (const [i, z] of zones.entries()) {
    const dir = join(root, `thermal_zone${i}`);
    await mkdir(dir);
    await writeFile(join(dir, 'temp'), typeof z.temp === 'number' ? `${z.temp * 1000}\n` : z.temp);
    if (z.mode !== undefined) await writeFile(join(dir, 'mode'), `${z.mode}\n`);
    for (const [j, [type, c]] of z.trips.entries()) {
      await writeFile(join(dir, `trip_point_${j}_type`), `${type}\n`);
      await writeFile(join(dir, `trip_point_${j}_temp`), `${c * 1000}\n`);
    }
  }
  return root;
}

const laptop: [string, number][] = [
  ['active', 60],
  ['passive', 85],
  ['hot', 95],
  ['critical', 105],
];

describe('linuxThermalState', () => {
  it('maps a zone against its own trip points', async () => {
    const cases: [number, string][] = [
      [40, 'nominal'],
      [62, 'fair'], // a fan's active trip reached
      [80, 'fair'], // within 10 °C of the passive trip
      [86, 'serious'], // the kernel throttles
      [96, 'critical'],
    ];
    for (const [temp, want] of cases) {
      expect(await linuxThermalState(await sysTree([{ temp, trips: laptop }])), `${temp} °C`).toBe(want);
    }
  });

  it('takes the hottest zone and skips disabled zones and zones without trip points', async () => {
    const root = await sysTree([
      { temp: 40, trips: laptop },
      { temp: 99, trips: [] },
      { temp: 120, trips: laptop, mode: 'disabled' },
      { temp: 88, trips: [['passive', 85]] },
    ]);
    expect(await linuxThermalState(root)).toBe('serious');
  });

  it('is unknown (null) with no zone to map: no tree, no trip points, unreadable temperatures', async () => {
    expect(await linuxThermalState(join(await tempDir(), 'missing'))).toBeNull();
    expect(await linuxThermalState(await sysTree([{ temp: 50, trips: [] }]))).toBeNull();
    expect(await linuxThermalState(await sysTree([{ temp: 'garbage', trips: laptop }]))).toBeNull();
  });
});

describe('thermalFromPmset', () => {
  it('maps the CPU speed limit; no limit line is unknown', () => {
    expect(
      thermalFromPmset('Note: No thermal warning level has been recorded\nCPU_Speed_Limit \t= 100\n'),
    ).toBe('nominal');
    expect(thermalFromPmset('Thermal warning level set to 1.\nCPU_Speed_Limit = 100\n')).toBe('fair');
    expect(thermalFromPmset('CPU_Speed_Limit = 70\n')).toBe('serious');
    expect(thermalFromPmset('CPU_Speed_Limit = 30\n')).toBe('critical');
    expect(thermalFromPmset('Note: No thermal warning level has been recorded\n')).toBeNull();
  });
});

describe('fileThermalProbe', () => {
  it('reads the file afresh each time; missing or "unknown" is null; anything else names the file', async () => {
    const file = join(await tempDir(), 'thermal');
    const probe = nodeThermalProbe({ file });
    expect(await probe()).toBeNull();
    await writeFile(file, 'serious\n');
    expect(await probe()).toBe('serious');
    await writeFile(file, 'nominal');
    expect(await probe()).toBe('nominal');
    await writeFile(file, 'unknown');
    expect(await probe()).toBeNull();
    await writeFile(file, 'toasty');
    await expect(fileThermalProbe(file)()).rejects.toThrow(`thermal file ${file}: expected nominal`);
  });

  it('is always unknown on a platform without a reader', async () => {
    expect(await nodeThermalProbe({ platform: 'win32' })()).toBeNull();
  });
});

describe('companionThermal (what both Node companions wire in)', () => {
  it('device info reads a bad file as unknown and logs why; the run queue gets the raw probe', async () => {
    const file = join(await tempDir(), 'thermal');
    const lines: string[] = [];
    const thermal = companionThermal({ file, log: (l) => lines.push(l) });
    await writeFile(file, 'fair');
    expect(await thermal.now()).toBe('fair');
    await writeFile(file, 'toasty');
    expect(await thermal.now()).toBeNull();
    expect(lines).toEqual([expect.stringMatching(/^thermal probe: thermal file .* got 'toasty'$/)]);
    await expect(thermal.probe()).rejects.toThrow('toasty');
  });
});
