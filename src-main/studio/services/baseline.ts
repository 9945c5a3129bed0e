/**
 * `runs.startBaseline`: the same job on the baseline device with the three techniques off — same prompt, seed
 * (hence the same initial noise: the noise generator is portable), steps, CFG, resolution and frames; LPL off,
 * TDTM merge steps 0, CI-DL unlimited (all blocks resident; a device with a per-app memory limit still caps it).
 */
import {
  baselineParams,
  chooseBaselineDevice,
  describeBaselineChoice,
} from '../../../shared/protocol/baseline-choice';
import type { RunSummary } from '../../../shared/protocol/studio-contract';
import type { DeviceHub } from './device-hub';
import { StudioServiceError } from './errors';
import type { RunService } from './run-service';

/**
 * Starts the baseline of `runId` on the device `chooseBaselineDevice` picks and links the two runs; `unavailable`,
 * with what to do, when no device is an obvious choice.
 */
export async function startBaseline(
  hub: Pick<DeviceHub, 'list'>,
  runs: RunService,
  runId: string,
): Promise<RunSummary> {
  const file = runs.file(runId);
  if (file.baselineOf !== null)
    throw new StudioServiceError('bad-request', `run ${runId} is itself the baseline of ${file.baselineOf}`);
  const choice = chooseBaselineDevice(hub.list(), file.device.id);
  if (!choice.ok) {
    // Retryable when the chosen device may come back; otherwise the user has to choose one.
    throw new StudioServiceError(
      'unavailable',
      describeBaselineChoice(choice),
      choice.reason === 'chosen-not-paired',
    );
  }
  const { device } = choice;
  const baseline = await runs.start(device.id, baselineParams(file.params), {
    preview: file.preview,
    label: `baseline of ${file.label ?? runId}`.slice(0, 256),
    baselineOf: runId,
  });
  await runs.linkBaseline(runId, baseline.runId);
  return baseline;
}
