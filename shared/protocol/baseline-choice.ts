/**
 * Which device runs a run's baseline (`runs.startBaseline`). Main starts the baseline with this choice and the
 * renderer shows it before anyone clicks: the button names the device and why it was chosen, or, when no device is
 * an obvious choice, says what to do instead. One rule, so the two can never disagree.
 *
 * In order: the device the user chose as baseline (and nothing else while it is not paired: the user's choice is
 * never replaced silently); else the one paired device that presents itself as a baseline machine (role
 * `baseline`); else the device that ran the run, when it is paired (the same hardware with the techniques off, so
 * speedup and memory measure the techniques alone); else the only paired device; else none.
 */
import type { RunParams } from './run';
import type { StudioDevice } from './studio-contract';

/**
 * A baseline's parameters: `params` with the three techniques off (LPL off, TDTM merge steps 0, CI-DL unlimited:
 * every block resident) and everything else unchanged, so the same prompt and seed give the same initial noise.
 * The studio's `runs.startBaseline` and a sweep's baseline runs (shared/sweep) both use it.
 */
export function baselineParams(params: RunParams): RunParams {
  return {
    ...params,
    lpl: { mode: 'off' },
    tdtm: { mergeSteps: 0 },
    cidl: { budget: { kind: 'unlimited' } },
  };
}

/** Why a device was chosen to run a baseline. */
export type BaselineReason = 'chosen' | 'baseline-machine' | 'same-device' | 'only-paired';

/** Why no device can run a baseline now. */
export type NoBaselineReason = 'chosen-not-paired' | 'none-paired' | 'several-paired';

/** The outcome of {@link chooseBaselineDevice}. */
export type BaselineChoice =
  | { ok: true; device: StudioDevice; reason: BaselineReason }
  | {
      ok: false;
      reason: NoBaselineReason;
      /** The device chosen as baseline that is not paired now (reason `chosen-not-paired`). */
      chosen: StudioDevice | null;
      /** How many paired devices could run it (reason `several-paired`). */
      candidates: number;
    };

/** Chooses the device that runs the baseline of a run made on the device entry `runDeviceId`. */
export function chooseBaselineDevice(devices: readonly StudioDevice[], runDeviceId: string): BaselineChoice {
  const paired = devices.filter((d) => d.status === 'paired');
  const chosen = devices.find((d) => d.baseline);
  if (chosen !== undefined) {
    return chosen.status === 'paired'
      ? { ok: true, device: chosen, reason: 'chosen' }
      : { ok: false, reason: 'chosen-not-paired', chosen, candidates: paired.length };
  }
  const machines = paired.filter((d) => d.role === 'baseline');
  if (machines.length === 1) return { ok: true, device: machines[0]!, reason: 'baseline-machine' };
  const same = paired.find((d) => d.id === runDeviceId);
  if (same !== undefined) return { ok: true, device: same, reason: 'same-device' };
  if (paired.length === 1) return { ok: true, device: paired[0]!, reason: 'only-paired' };
  return {
    ok: false,
    reason: paired.length === 0 ? 'none-paired' : 'several-paired',
    chosen: null,
    candidates: paired.length,
  };
}

/**
 * The choice in words: where the baseline will run and why, or why it cannot and what to do (the Devices screen is
 * where a baseline device is paired and chosen).
 */
export function describeBaselineChoice(choice: BaselineChoice): string {
  if (choice.ok) {
    const name = choice.device.name;
    switch (choice.reason) {
      case 'chosen':
        return `The baseline runs on ${name}, the device chosen as baseline.`;
      case 'baseline-machine':
        return `The baseline runs on ${name}, the paired baseline machine.`;
      case 'same-device':
        return `The baseline runs on ${name}, the run's own device, with the techniques off.`;
      case 'only-paired':
        return `The baseline runs on ${name}, the only paired device (the run's own device is not connected).`;
    }
  }
  switch (choice.reason) {
    case 'chosen-not-paired':
      return (
        `The baseline device ${choice.chosen?.name ?? ''} is ${choice.chosen?.status ?? 'unavailable'}, not ` +
        'paired: reconnect it, or choose another baseline device on the Devices screen.'
      );
    case 'none-paired':
      return 'No paired device can run the baseline: pair one and choose it as the baseline on the Devices screen.';
    case 'several-paired':
      return (
        `The run's own device is not connected and ${choice.candidates} other paired devices could run ` +
        'the baseline: choose one as the baseline on the Devices screen.'
      );
  }
}
