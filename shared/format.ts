/** How sizes are written for people, the same on every host: one `formatBytes` with the styles its readers need. */

/** A unit a size can be pinned to. */
export type ByteUnit = 'KiB' | 'MiB' | 'GiB' | 'TiB';

const UNITS: readonly ByteUnit[] = ['KiB', 'MiB', 'GiB', 'TiB'];

/**
 * How {@link formatBytes} writes a size:
 * - `short` (screens): the largest unit that keeps the number at least 1, one decimal below 100 and none from 100
 *   up: `1.5 KiB`, `170 MiB`, `999 B`.
 * - `exact` (messages, where the reader may need the count itself): one decimal, then the exact bytes:
 *   `170.0 MiB (178257920 B)`, `999 B`.
 * - a unit (reports, whose columns line up): always that unit, one decimal: `0.5 MiB`.
 */
export type ByteStyle = 'short' | 'exact' | ByteUnit;

/** A byte count for people, in binary units (KiB = 1024 B); null, undefined or not finite → `—`. */
export function formatBytes(bytes: number | null | undefined, style: ByteStyle = 'short'): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (style !== 'short' && style !== 'exact')
    return `${(bytes / 1024 ** (UNITS.indexOf(style) + 1)).toFixed(1)} ${style}`;
  let value = bytes;
  let unit: ByteUnit | 'B' = 'B';
  for (const u of UNITS) {
    if (Math.abs(value) < 1024) break;
    value /= 1024;
    unit = u;
  }
  if (style === 'exact') return unit === 'B' ? `${bytes} B` : `${value.toFixed(1)} ${unit} (${bytes} B)`;
  return `${unit === 'B' ? value.toFixed(0) : value.toFixed(value >= 100 ? 0 : 1)} ${unit}`;
}
