/**
 * A device's thermal state: the names of iOS's `ProcessInfo.ThermalState`, coolest first. Wherever it crosses a
 * boundary, `null` means the device cannot tell ("unknown").
 */
import { z } from 'zod';

/** Thermal states, coolest first (iOS `ProcessInfo.ThermalState`). */
export const THERMAL_STATES = ['nominal', 'fair', 'serious', 'critical'] as const;

/** A thermal state. */
export const thermalStateSchema = z.enum(THERMAL_STATES);

/** A thermal state. */
export type ThermalState = z.infer<typeof thermalStateSchema>;

/** What a device reports: a state, or null when it cannot tell. */
export const reportedThermalSchema = thermalStateSchema.nullable();

/** The protocol version that added `thermal` to `run.started` and the terminal run events. */
export const RUN_THERMAL_SINCE_VERSION = 3;

/** True when `state` is known and no hotter than `max`. */
export function thermalAtMost(state: ThermalState | null, max: ThermalState): boolean {
  return state !== null && THERMAL_STATES.indexOf(state) <= THERMAL_STATES.indexOf(max);
}

/** How people read a reported state (null: `unknown`). */
export function thermalLabel(state: ThermalState | null | undefined): string {
  return state ?? 'unknown';
}
