// The studio's screens: the nav list and the screen each route shows.
import { CompareScreen } from './compare/compare-screen';
import { ComposerScreen } from './composer/composer-screen';
import { DevicesScreen } from './devices/devices-screen';
import { HistoryScreen } from './history/history-screen';
import { LiveScreen } from './live/live-screen';
import { PresentationScreen } from './presentation/presentation-screen';
import type { Route, ScreenId } from './routes';
import { SweepsScreen } from './sweeps/sweeps-screen';

/** A screen as the nav lists it. */
export interface ScreenInfo {
  id: ScreenId;
  title: string;
}

/** The screens, in nav order. */
export const screens: readonly ScreenInfo[] = [
  { id: 'devices', title: 'Devices' },
  { id: 'composer', title: 'Composer' },
  { id: 'live', title: 'Live run' },
  { id: 'compare', title: 'Compare' },
  { id: 'history', title: 'History' },
  { id: 'sweeps', title: 'Sweeps' },
  { id: 'presentation', title: 'Presentation' },
];

/** The screen for a route. */
export function CurrentScreen({ route }: { route: Route }) {
  const [first = null, second = null, ...more] = route.params;
  switch (route.screen) {
    case 'devices':
      return <DevicesScreen />;
    case 'composer':
      return <ComposerScreen rerunOf={first === 'rerun' ? second : null} />;
    case 'live':
      return <LiveScreen key={first ?? ''} runId={first} />;
    case 'compare':
      return <CompareScreen runA={first} runB={second} more={more} />;
    case 'history':
      return <HistoryScreen />;
    case 'sweeps':
      return <SweepsScreen key={first ?? ''} sweepId={first} />;
    case 'presentation':
      return <PresentationScreen runId={first} />;
  }
}
