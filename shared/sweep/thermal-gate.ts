/**
 * Thermal gating of a sweep (docs/sweeps.md): before each run on a device, an optional cool-down pause after its
 * previous run, then polling the device's thermal state until it is at most `maxState`; after `maxWaitMs` the run
 * goes ahead anyway and is marked `expired`. A device that cannot tell its state (null) is not waited for (only the
 * cool-down applies) and its runs are marked `unknown`. Pure: the host injects the reading, the clock and sleep.
 */
import { z } from 'zod';
import { thermalAtMost, thermalStateSchema, type ThermalState } from '../protocol/thermal';

/** The spec's `thermal` field. */
export const sweepThermalGateSchema = z.strictObject({
  /** The hottest state a run may start in (default `nominal`). */
  maxState: thermalStateSchema.default('nominal'),
  /** How often the device is asked while waiting, ms (default 5 s). */
  pollMs: z.number().int().min(50).max(600_000).default(5000),
  /** A pause after each run on a device before its next one (none before its first), ms (default 0). */
  coolDownMs: z.number().int().min(0).max(3_600_000).default(0),
  /** The longest a run waits for the state; then it starts anyway, marked `expired` (default 10 min). */
  maxWaitMs: z.number().int().min(0).max(86_400_000).default(600_000),
});

/** The spec's `thermal` field. */
export type SweepThermalGate = z.infer<typeof sweepThermalGateSchema>;

/**
 * How a run's start was gated: `off` (the spec has no `thermal`), `passed` (the state was at most `maxState`),
 * `expired` (it was not within `maxWaitMs`: the run went ahead hot), `unknown` (the device cannot tell).
 */
export const thermalGateOutcomeSchema = z.enum(['off', 'passed', 'expired', 'unknown']);
/** How a run's start was gated. */
export type ThermalGateOutcome = z.infer<typeof thermalGateOutcomeSchema>;

/** What the gate needs from its host. */
export interface ThermalGatePorts {
  /** The device's state now (null: it cannot tell; a failed read counts as that). */
  read(): Promise<ThermalState | null>;
  nowMs(): number;
  sleep(ms: number): Promise<void>;
  /** True once the sweep is stopping: the wait ends at once. */
  stopped(): boolean;
  /** Called at each poll that finds the device too hot (progress lines). */
  onHot?(state: ThermalState, waitedMs: number): void;
}

/** The gate's answer. */
export interface ThermalGateResult {
  outcome: ThermalGateOutcome;
  /** Time spent in the gate (cool-down included), ms. */
  waitedMs: number;
  /** The last state read (null: unknown or not read). */
  state: ThermalState | null;
}

/**
 * Waits until a run may start on the device. `previousEndMs`: when the device's previous run ended (null: none in
 * this sweep invocation, no cool-down).
 */
export async function waitForThermal(
  gate: SweepThermalGate,
  ports: ThermalGatePorts,
  previousEndMs: number | null,
): Promise<ThermalGateResult> {
  const start = ports.nowMs();
  const waited = (): number => ports.nowMs() - start;
  if (previousEndMs !== null) {
    const until = previousEndMs + gate.coolDownMs;
    while (!ports.stopped() && ports.nowMs() < until)
      await ports.sleep(Math.min(gate.pollMs, until - ports.nowMs()));
  }
  for (;;) {
    const state = await ports.read().catch(() => null);
    if (state === null) return { outcome: 'unknown', waitedMs: waited(), state };
    if (thermalAtMost(state, gate.maxState) || ports.stopped())
      return { outcome: 'passed', waitedMs: waited(), state };
    if (waited() >= gate.maxWaitMs) return { outcome: 'expired', waitedMs: waited(), state };
    ports.onHot?.(state, waited());
    await ports.sleep(Math.min(gate.pollMs, Math.max(1, gate.maxWaitMs - waited())));
  }
}
