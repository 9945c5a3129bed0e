// Where a baseline will run, said before anyone clicks: the device and why it was chosen, or, when no device is an
// obvious choice, what to do and a link to the Devices screen where a baseline device is chosen. The rule is
// shared/protocol/baseline-choice.ts, the same main applies when it starts the baseline.
import { useQuery } from '@tanstack/react-query';
import {
  chooseBaselineDevice,
  describeBaselineChoice,
  type BaselineChoice,
} from '../../shared/protocol/baseline-choice';
import { devicesQuery } from '../studio/queries';
import { useStudio } from '../studio/studio-context';

/** The baseline device for a run made on `runDeviceId` (null while the device list or the run is loading). */
export function useBaselineChoice(runDeviceId: string | null): BaselineChoice | null {
  const { api } = useStudio();
  const devices = useQuery(devicesQuery(api));
  if (devices.data === undefined || runDeviceId === null) return null;
  return chooseBaselineDevice(devices.data.devices, runDeviceId);
}

/** A link to the Devices screen, where a device is paired and chosen as the baseline. */
function ChooseBaselineLink() {
  return (
    <a className="button-link" href="#/devices" data-testid="choose-baseline-device">
      Choose a baseline device
    </a>
  );
}

/** The choice in words; when there is none, an alert with the link to the Devices screen (hidden on the mirror). */
export function BaselineChoiceNote({ choice }: { choice: BaselineChoice }) {
  const { readOnly } = useStudio();
  if (choice.ok) {
    return (
      <p
        className="muted"
        data-testid="baseline-choice"
        data-device-id={choice.device.id}
        data-reason={choice.reason}
      >
        {describeBaselineChoice(choice)}
      </p>
    );
  }
  return (
    <div className="baseline-help" data-testid="baseline-unavailable" data-reason={choice.reason}>
      <p className="error" role="alert">
        {describeBaselineChoice(choice)}
      </p>
      {!readOnly && <ChooseBaselineLink />}
    </div>
  );
}
