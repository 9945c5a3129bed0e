// Hash routes: `#/<screen>[/<param>…]`, e.g. `#/live/<runId>` or `#/compare/<runA>/<runB>`. Hash routes keep the
// screen over reloads and work over file, custom-protocol and http URLs alike.
import { useEffect, useState } from 'react';

/** Identifies a screen; also the first part of its hash route. */
export type ScreenId = 'devices' | 'composer' | 'live' | 'compare' | 'history' | 'sweeps' | 'presentation';

/** A screen and its route parameters. */
export interface Route {
  screen: ScreenId;
  params: string[];
}

const SCREEN_IDS: readonly ScreenId[] = [
  'devices',
  'composer',
  'live',
  'compare',
  'history',
  'sweeps',
  'presentation',
];

/** The route of a hash like `#/live/run-1`; unknown screens fall back to Devices. */
export function routeFromHash(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const screen = SCREEN_IDS.find((s) => s === parts[0]) ?? 'devices';
  return { screen, params: screen === parts[0] ? parts.slice(1) : [] };
}

/** The hash of a route. */
export function hashOf(parts: readonly string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** Goes to a route (the hashchange listener re-renders). */
export function navigate(parts: readonly string[]): void {
  window.location.hash = hashOf(parts);
}

/** Follows the location hash. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeFromHash(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(routeFromHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
