/**
 * The Node companion's thermal probe (shared/companion/server-ports.ts `ThermalProbe`): the state iOS would name,
 * read from a file a test or demo writes (`odsora companion --thermal-file`), else from the OS where there is an
 * honest mapping (Linux: /sys/class/thermal trip points; macOS: `pmset -g therm`), else null ("unknown").
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ThermalProbe } from '../../shared/companion/server-ports';
import { THERMAL_STATES, thermalStateSchema, type ThermalState } from '../../shared/protocol/thermal';

/** Where Linux lists its thermal zones. */
export const LINUX_THERMAL_ROOT = '/sys/class/thermal';

/** How far below a passive trip point a zone counts as `fair` (millidegrees Celsius). */
export const FAIR_MARGIN_MILLI_C = 10_000;

/**
 * A probe that reads the state from `path`: one of `nominal`, `fair`, `serious`, `critical` or `unknown` (surrounding
 * white space ignored), read afresh each time. A missing file reads as unknown; anything else is an error naming the
 * file and what it held.
 */
export function fileThermalProbe(path: string): ThermalProbe {
  return async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const word = text.trim();
    if (word === 'unknown') return null;
    const parsed = thermalStateSchema.safeParse(word);
    if (!parsed.success) {
      throw new Error(
        `thermal file ${path}: expected nominal, fair, serious, critical or unknown, got '${word.slice(0, 40)}'`,
      );
    }
    return parsed.data;
  };
}

/**
 * Linux: each thermal zone's `temp` against its own trip points (all millidegrees Celsius), the hottest zone
 * wins. At or above a `critical` or `hot` trip → `critical` (the kernel is about to shut down or warn); at or above
 * a `passive` trip → `serious` (the kernel is throttling the CPU: iOS's "performance reduced"); within
 * {@link FAIR_MARGIN_MILLI_C} below a passive trip, or at or above an `active` trip (fans on) → `fair`; else
 * `nominal`. Zones whose mode is `disabled`, or without a readable temperature or any trip point, are skipped; null
 * when no zone is left (no honest mapping: many VMs and containers).
 */
export async function linuxThermalState(root = LINUX_THERMAL_ROOT): Promise<ThermalState | null> {
  let zones: string[];
  try {
    zones = (await readdir(root)).filter((n) => n.startsWith('thermal_zone')).sort();
  } catch {
    return null;
  }
  let hottest: ThermalState | null = null;
  for (const zone of zones) {
    const state = await zoneState(join(root, zone));
    if (
      state !== null &&
      (hottest === null || THERMAL_STATES.indexOf(state) > THERMAL_STATES.indexOf(hottest))
    )
      hottest = state;
  }
  return hottest;
}

async function zoneState(dir: string): Promise<ThermalState | null> {
  const mode = await readText(join(dir, 'mode'));
  if (mode === 'disabled') return null;
  const temp = toInt(await readText(join(dir, 'temp')));
  if (temp === null) return null;
  const trips: { type: string; temp: number }[] = [];
  for (let i = 0; i < 64; i++) {
    const type = await readText(join(dir, `trip_point_${i}_type`));
    if (type === null) break;
    const at = toInt(await readText(join(dir, `trip_point_${i}_temp`)));
    if (at !== null && at > 0) trips.push({ type, temp: at });
  }
  if (trips.length === 0) return null;
  const reached = (types: readonly string[]): boolean =>
    trips.some((t) => types.includes(t.type) && temp >= t.temp);
  if (reached(['critical', 'hot'])) return 'critical';
  if (reached(['passive'])) return 'serious';
  const nearPassive = trips.some((t) => t.type === 'passive' && temp >= t.temp - FAIR_MARGIN_MILLI_C);
  if (nearPassive || reached(['active'])) return 'fair';
  return 'nominal';
}

/**
 * macOS: `pmset -g therm`'s `CPU_Speed_Limit` (percent of full speed the system allows): 100 → `nominal` (`fair`
 * when a thermal warning level is recorded), 50–99 → `serious` (throttled), below 50 → `critical`; null without
 * that line (Apple silicon Macs often print none).
 */
export function thermalFromPmset(text: string): ThermalState | null {
  const limit = /CPU_Speed_Limit\s*=\s*(\d+)/.exec(text);
  if (limit === null) return null;
  const percent = Number(limit[1]);
  if (percent < 50) return 'critical';
  if (percent < 100) return 'serious';
  const warned = /thermal warning level set to\s*(\d+)/i.exec(text);
  return warned !== null && Number(warned[1]) > 0 ? 'fair' : 'nominal';
}

async function pmsetThermalState(): Promise<ThermalState | null> {
  const text = await new Promise<string | null>((done) => {
    execFile('pmset', ['-g', 'therm'], { timeout: 2000 }, (error, stdout) => done(error ? null : stdout));
  });
  return text === null ? null : thermalFromPmset(text);
}

/** The probe `odsora companion` uses: `--thermal-file` when given, else this OS's, else always null. */
export function nodeThermalProbe(options: { file?: string; platform?: NodeJS.Platform } = {}): ThermalProbe {
  if (options.file !== undefined) return fileThermalProbe(options.file);
  switch (options.platform ?? process.platform) {
    case 'linux':
      return () => linuxThermalState();
    case 'darwin':
      return pmsetThermalState;
    default:
      return () => Promise.resolve(null);
  }
}

/** A Node companion's thermal reading: what both hosts (`host.ts`, `replay-host.ts`) wire into their server. */
export interface CompanionThermal {
  /** The probe the run queue reads at each run's start and end (it logs a failure itself). */
  readonly probe: ThermalProbe;
  /** The state now for device info: a failing probe is logged and reads as null (unknown). */
  now(): Promise<ThermalState | null>;
}

/** The thermal reading of `odsora companion` and `odsora companion --replay`: {@link nodeThermalProbe}, logged. */
export function companionThermal(options: { file?: string; log: (line: string) => void }): CompanionThermal {
  const probe = nodeThermalProbe(options.file === undefined ? {} : { file: options.file });
  return {
    probe,
    now: async () => {
      try {
        return await probe();
      } catch (e) {
        options.log(`thermal probe: ${(e as Error).message}`);
        return null;
      }
    },
  };
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

function toInt(text: string | null): number | null {
  if (text === null || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}
