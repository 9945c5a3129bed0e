/** Formatting for the screens. */

/** Seconds left until `atMs` (epoch), never negative. */
export function secondsLeft(atMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atMs - nowMs) / 1000));
}
