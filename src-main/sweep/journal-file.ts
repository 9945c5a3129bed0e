/**
 * A sweep's files in its output folder: `sweep.json` (the journal, shared/sweep/journal.ts), `sweep.csv` and
 * `sweep-points.csv` (shared/sweep/stats.ts). Each is written to `<name>.part` and renamed over the old one, so a
 * sweep killed at any moment leaves the previous complete file, never half of one.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { describePath } from '../../shared/sweep/spec';
import { sweepJournalSchema, SWEEP_JOURNAL_FORMAT, type SweepJournal } from '../../shared/sweep/journal';
import { sweepPointsCsv, sweepPointStats, sweepRunsCsv } from '../../shared/sweep/stats';

/** The journal's file name. */
export const SWEEP_JOURNAL_FILE = 'sweep.json';
/** The runs × metrics CSV. */
export const SWEEP_RUNS_CSV = 'sweep.csv';
/** The points × metrics CSV. */
export const SWEEP_POINTS_CSV = 'sweep-points.csv';

/** Writes `text` to `dir/name` atomically (`.part` + rename). */
export async function writeAtomically(dir: string, name: string, text: string): Promise<void> {
  const part = join(dir, `${name}.part`);
  await writeFile(part, text);
  await rename(part, join(dir, name));
}

/** Reads `dir/sweep.json`: null when there is none; throws naming the problem when it cannot be used. */
export async function readSweepJournal(dir: string): Promise<SweepJournal | null> {
  const path = join(dir, SWEEP_JOURNAL_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path} cannot be read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if ((raw as { format?: unknown } | null)?.format !== SWEEP_JOURNAL_FORMAT)
    throw new Error(`${path} is not a sweep journal (its format is not "${SWEEP_JOURNAL_FORMAT}")`);
  const parsed = sweepJournalSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${path}: ${parsed.error.issues.map((i) => `${describePath(i.path)}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/**
 * Recomputes the points' statistics and writes sweep.json, sweep.csv and sweep-points.csv. Each step is some
 * milliseconds for a large sweep; the studio's main process forwards live events in between.
 */
export async function writeSweepFiles(dir: string, journal: SweepJournal): Promise<void> {
  journal.points = sweepPointStats(journal);
  journal.updatedAtEpochMs = Date.now();
  await yieldToEventLoop();
  await writeAtomically(dir, SWEEP_RUNS_CSV, sweepRunsCsv(journal));
  await writeAtomically(dir, SWEEP_POINTS_CSV, sweepPointsCsv(journal, journal.points));
  await yieldToEventLoop();
  await writeAtomically(dir, SWEEP_JOURNAL_FILE, `${JSON.stringify(journal, null, 2)}\n`);
}
