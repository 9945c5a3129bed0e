/**
 * Reading a stored event log back after a restart (or a crash). The log is one `{"seq":N,"event":{…}}` line per
 * entry, each ended by `\n`, appended in seq order, and an entry is shown to clients only once its line is durable.
 * So:
 *
 * - Text after the last `\n` is a torn write (the process died mid-append): no client saw it. It is cut off.
 * - A complete line that does not parse is damage: a client may hold the entry it was. Its seq is never given to
 *   another event; the entry is kept as a stand-in (`lostEntry`, the wire's `event.lost`), and every readable
 *   entry after it is kept too.
 * - A repeated seq is a retried write (dropped); anything after the terminal event is dropped.
 *
 * Whatever was cut or replaced, the caller rewrites the stored log to exactly the recovered entries, so the next
 * append starts on a fresh line and the next restart reads the same log.
 */
import type { LogEntry } from './event-log';

/** What recovery found in a stored log, for the host's diagnostics. */
export interface RecoveryReport {
  /** Entries recovered, stand-ins for lost entries included. */
  entries: number;
  /** Seqs whose line was unreadable: their entries are kept as stand-ins (the content is gone). */
  lostSeqs: number[];
  /** Length (characters) of a torn last line that was cut off; 0 when the log ended cleanly. */
  tornTailChars: number;
  /** Complete lines that did not parse (each is a lost entry, or junk between two readable entries). */
  unreadableLines: number;
  /** Lines that repeated a seq already recovered (a write that was retried), dropped. */
  duplicateLines: number;
  /** Lines after the terminal event, and empty lines, dropped. */
  strayLines: number;
}

/** True when recovery changed anything, i.e. the stored log must be rewritten before anything is appended. */
export function needsRewrite(report: RecoveryReport): boolean {
  return (
    report.lostSeqs.length > 0 ||
    report.tornTailChars > 0 ||
    report.unreadableLines > 0 ||
    report.duplicateLines > 0 ||
    report.strayLines > 0
  );
}

/** One sentence on what recovery dropped and why (empty when the log was intact). */
export function describeRecovery(report: RecoveryReport): string {
  const parts: string[] = [];
  if (report.tornTailChars > 0)
    parts.push(
      `cut a torn last line (${report.tornTailChars} characters of an append the device died in; no client saw it)`,
    );
  if (report.lostSeqs.length > 0)
    parts.push(
      `${report.lostSeqs.length} entr${report.lostSeqs.length === 1 ? 'y' : 'ies'} unreadable on disk, kept as event.lost so their seqs are never reused (${seqList(report.lostSeqs)})`,
    );
  const junk = report.unreadableLines - report.lostSeqs.length;
  if (junk > 0) parts.push(`dropped ${junk} unreadable line${junk === 1 ? '' : 's'} that held no entry`);
  if (report.duplicateLines > 0)
    parts.push(
      `dropped ${report.duplicateLines} repeated line${report.duplicateLines === 1 ? '' : 's'} (a retried write)`,
    );
  if (report.strayLines > 0)
    parts.push(
      `dropped ${report.strayLines} line${report.strayLines === 1 ? '' : 's'} after the terminal event or empty`,
    );
  return parts.join('; ');
}

/**
 * Recovers the entries of a stored log's text. `parseEvent` validates one event (null: unreadable);
 * `lostEntry(seq, previous)` makes the stand-in of an unreadable entry from the readable entry before it (null
 * when there is none): it must depend on nothing else, so every restart recovers the same log.
 */
export function recoverLog<E>(
  text: string,
  parseEvent: (json: unknown) => E | null,
  isTerminal: (event: E) => boolean,
  lostEntry: (seq: number, previous: E | null) => E,
): { entries: LogEntry<E>[]; report: RecoveryReport } {
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const report: RecoveryReport = {
    entries: 0,
    lostSeqs: [],
    tornTailChars: tail.length,
    unreadableLines: 0,
    duplicateLines: 0,
    strayLines: 0,
  };
  const entries: LogEntry<E>[] = [];
  const lost = new Set<number>();
  // Unreadable lines since the last readable entry: how many entries they may have been.
  let pendingLines = 0;
  let pendingChars = 0;
  let pendingMarkers = 0;
  // The highest seq a set-aside readable line claimed, where the lines set aside could have held that many.
  let pendingSeq = 0;
  let sealed = false;
  // Each entry took at least two characters of the file (one and its newline).
  const couldHold = (entriesAfterHead: number): boolean =>
    2 * entriesAfterHead <= pendingChars + pendingLines;
  const fillLost = (upTo: number): void => {
    while (entries.length < upTo) {
      const seq = entries.length + 1;
      entries.push({ seq, event: lostEntry(seq, entries.at(-1)?.event ?? null) });
      lost.add(seq);
    }
  };
  for (const line of lines) {
    if (sealed || line === '') {
      report.strayLines += 1;
      continue;
    }
    const parsed = parseLine(line, parseEvent);
    const head = entries.length;
    // A readable line whose seq jumps further than the unreadable lines before it could have held is set aside as
    // damaged too (a digit of its seq changed, or lines were cut out); its seq still counts as possibly held.
    if (parsed === null || (parsed.seq > head + 1 && !couldHold(parsed.seq - head - 1))) {
      report.unreadableLines += 1;
      pendingLines += 1;
      pendingChars += line.length;
      pendingMarkers += countMarkers(line);
      if (parsed !== null && parsed.seq > pendingSeq && couldHold(parsed.seq - head)) pendingSeq = parsed.seq;
      continue;
    }
    if (parsed.seq <= head) {
      // A retried write; when the first copy of that entry was the unreadable one, this one restores it.
      if (lost.delete(parsed.seq)) entries[parsed.seq - 1] = { seq: parsed.seq, event: parsed.event };
      else report.duplicateLines += 1;
      continue;
    }
    fillLost(parsed.seq - 1);
    pendingLines = pendingChars = pendingMarkers = pendingSeq = 0;
    entries.push({ seq: parsed.seq, event: parsed.event });
    if (isTerminal(parsed.event)) sealed = true;
  }
  // Unreadable lines at the end were entries a client may hold: as many as there were lines, or entry openings in
  // them if more (a damaged newline joins two lines), or up to the highest seq one claimed. Counting too many is
  // safe; too few would reuse a seq.
  if (!sealed && pendingLines > 0)
    fillLost(Math.max(entries.length + Math.max(pendingLines, pendingMarkers), pendingSeq));
  report.entries = entries.length;
  report.lostSeqs = [...lost].sort((a, b) => a - b);
  return { entries, report };
}

/** The stored form of an entry (one line, no newline). */
export function entryLine<E>(entry: LogEntry<E>): string {
  return JSON.stringify({ seq: entry.seq, event: entry.event });
}

function parseLine<E>(
  line: string,
  parseEvent: (json: unknown) => E | null,
): { seq: number; event: E } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const { seq, event } = raw as { seq?: unknown; event?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
  const parsed = parseEvent(event);
  return parsed === null ? null : { seq, event: parsed };
}

const ENTRY_MARKER = '{"seq":';

function countMarkers(line: string): number {
  let n = 0;
  for (let i = line.indexOf(ENTRY_MARKER); i >= 0; i = line.indexOf(ENTRY_MARKER, i + 1)) n += 1;
  return n;
}

function seqList(seqs: readonly number[]): string {
  const shown = seqs.slice(0, 8).join(', ');
  return `seq ${shown}${seqs.length > 8 ? `, … ${seqs.length - 8} more` : ''}`;
}
