/**
 * Progress lines for long commands on stderr: bytes done of the total, throughput and ETA, at most one line every
 * `intervalMs` (and always the last one), so a 25 GB conversion prints a few hundred lines, not thousands.
 */
import { formatBytes } from '../../shared/format';

/** Formats seconds as `1 h 02 min`, `3 min 05 s` or `42 s`. */
function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600)
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

/** A throttled bytes/ETA reporter. */
export class ByteProgress {
  private readonly started = performance.now();
  private lastPrint = performance.now();

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 2000,
  ) {}

  /** Reports `done` of `total` bytes with a label (the file or block being written); throttled. */
  update(done: number, total: number, label: string): void {
    const now = performance.now();
    if (now - this.lastPrint < this.intervalMs) return;
    this.lastPrint = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? Math.max(0, total - done) / rate : Number.POSITIVE_INFINITY;
    const pct = total > 0 ? Math.min(99.9, (100 * done) / total).toFixed(1) : '?';
    this.write(
      `${pct.padStart(5)} %  ${size(done)} of ${size(total)}  ${(rate / 1e6).toFixed(0)} MB/s  ETA ${formatDuration(eta)}  ${label}`,
    );
  }

  /** The last line: everything written, in how long. */
  finish(done: number): void {
    const seconds = (performance.now() - this.started) / 1000;
    this.write(
      `100.0 %  ${size(done)} in ${formatDuration(seconds)} (${(done / 1e6 / Math.max(seconds, 1e-3)).toFixed(0)} MB/s)`,
    );
  }
}

/** `1.5 GiB` (formatBytes without the exact count). */
function size(bytes: number): string {
  return formatBytes(bytes, 'exact').split(' (')[0] ?? String(bytes);
}
