/**
 * `runs.startBaseline`: the same job on the baseline device with the three techniques off — same prompt, seed
 * (hence the same initial noise: the noise generator is portable), steps, CFG, resolution and frames; LPL off,
 * TDTM merge steps 0, CI-DL unlimited (all blocks resident; a device with a per-app memory limit still caps it).
 */
import type { RunParams } from '../../../shared/protocol/run';
import type { RunSummary, StudioDevice } from '../../../shared/protocol/studio-contract';
import type { DeviceHub } from './device-hub';
import { StudioServiceError } from './errors';
import type { RunService } from './run-service';

/** `params` with LPL, TDTM and CI-DL off and everything else unchanged. */
export function baselineParams(params: RunParams): RunParams {
  return {
    ...params,
    lpl: { mode: 'off' },
    tdtm: { mergeSteps: 0 },
    cidl: { budget: { kind: 'unlimited' } },
  };
}

/**
 * The device that runs baselines: the paired device marked baseline; else the built-in device when it is the only
 * paired device and ran the run itself (it is then its own baseline); else null.
 */
export function chooseBaselineDevice(
  devices: readonly StudioDevice[],
  runDeviceId: string,
): StudioDevice | null {
  const paired = devices.filter((d) => d.status === 'paired');
  const marked = paired.find((d) => d.baseline);
  if (marked) return marked;
  const [only] = paired;
  if (paired.length === 1 && only!.id === runDeviceId && only!.sources.builtin) return only!;
  return null;
}

/** Starts the baseline of `runId` and links the two runs; `unavailable` when no baseline device is paired. */
export async function startBaseline(
  hub: Pick<DeviceHub, 'list'>,
  runs: RunService,
  runId: string,
): Promise<RunSummary> {
  const file = runs.file(runId);
  if (file.baselineOf !== null)
    throw new StudioServiceError('bad-request', `run ${runId} is itself the baseline of ${file.baselineOf}`);
  const device = chooseBaselineDevice(hub.list(), file.device.id);
  if (device === null) {
    const marked = hub.list().find((d) => d.baseline);
    throw new StudioServiceError(
      'unavailable',
      marked
        ? `the baseline device ${marked.name} is ${marked.status}, not paired`
        : 'no baseline device: pair one and choose it as the baseline (Devices)',
      marked !== undefined,
    );
  }
  const baseline = await runs.start(device.id, baselineParams(file.params), {
    preview: file.preview,
    label: `baseline of ${file.label ?? runId}`.slice(0, 256),
    baselineOf: runId,
  });
  await runs.linkBaseline(runId, baseline.runId);
  return baseline;
}
