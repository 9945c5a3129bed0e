// The run's thermal states, as Xcode Instruments shows a phone's: at the run's start and end (from its own events,
// the one run fold) and the device's state now (its latest report, while the run is going). `unknown` where the
// device cannot tell or did not say.
import { thermalLabel, type ThermalState } from '../../shared/protocol/thermal';

/** What the badge shows; `now` is left out once the run ended (or when the device is not listed). */
export interface ThermalBadgeProps {
  start: ThermalState | null;
  end: ThermalState | null;
  now: ThermalState | null | undefined;
  ended: boolean;
}

/** The hottest state shown, for the badge's colour. */
function hottest(states: readonly (ThermalState | null | undefined)[]): ThermalState | 'unknown' {
  const order: readonly ThermalState[] = ['critical', 'serious', 'fair', 'nominal'];
  return order.find((s) => states.includes(s)) ?? 'unknown';
}

/** `thermal: start nominal · now serious` (running) or `thermal: start nominal · end fair` (ended). */
export function ThermalBadge({ start, end, now, ended }: ThermalBadgeProps) {
  const parts = [`start ${thermalLabel(start)}`];
  if (!ended && now !== undefined) parts.push(`now ${thermalLabel(now)}`);
  if (ended) parts.push(`end ${thermalLabel(end)}`);
  return (
    <span
      className="thermal-badge"
      data-testid="thermal-badge"
      data-thermal={hottest(ended ? [start, end] : [start, now])}
      title="The device's thermal state (iOS ProcessInfo.ThermalState names)"
    >
      thermal: {parts.join(' · ')}
    </span>
  );
}
