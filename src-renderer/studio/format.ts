// Number formatting shared by the screens.

/** `1234.5` → `1.23 s`, `42` → `42 ms`; null → `—`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/** A number with `digits` decimals; null → `—`. */
export function formatNumber(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

/** Epoch ms → local date and time. */
export function formatWhen(epochMs: number): string {
  return new Date(epochMs).toLocaleString();
}

/** An error's message (StudioCallError carries the typed one). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
