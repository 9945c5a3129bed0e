/**
 * A run folder as a Chrome / Perfetto trace (shared/report/trace-events.ts), for `odsora trace` and the studio's
 * trace export. A run folder is the studio's (`run.json` format `odsora-studio-run` + `events.jsonl`, run-folder.ts),
 * which is also what `odsora generate --out` writes. A file that is missing, cut short or not valid is an error naming
 * the file and what was wrong.
 */
import { readFile, rename, stat, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildChromeTrace, type ChromeTrace } from '../../../shared/report/trace-events';
import { loadRunFile, readEventLog, RUN_FOLDER_FORMAT, type RunFile } from './run-folder';

/** Why a folder gives no trace (the message names the file). */
export class RunTraceError extends Error {
  override readonly name = 'RunTraceError';
}

/** A trace and what it was made from. */
export interface RunTrace {
  trace: ChromeTrace;
  source: 'studio run' | 'odsora generate';
  /** Events converted. */
  events: number;
}

/** How a studio event log with unreadable lines is treated: refused (the CLI) or its readable lines kept (the studio). */
export type DamagedLog = 'refuse' | 'skip';

/** Reads a run folder and converts it. */
export async function readRunTrace(dir: string, opts: { damaged?: DamagedLog } = {}): Promise<RunTrace> {
  const path = join(dir, 'run.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RunTraceError(`${path} is missing: is ${dir} a run folder?`);
    throw new RunTraceError(`${path} cannot be read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RunTraceError(`${path} is not valid JSON (cut short?): ${(e as Error).message}`);
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (format === RUN_FOLDER_FORMAT) return studioRunTrace(dir, opts.damaged ?? 'refuse');
  throw new RunTraceError(
    `${path} is not a studio run folder ("${RUN_FOLDER_FORMAT}"): its format is ${JSON.stringify(format ?? null)}`,
  );
}

/** The trace's name and metadata for a studio run. */
export function studioTraceInfo(file: RunFile): Parameters<typeof buildChromeTrace>[1] {
  const generate = file.generate;
  return {
    name:
      generate === undefined
        ? `${file.runId} · ${file.device.name} (${file.device.model})`
        : `odsora generate · ${generate.provenance.model.name}`,
    metadata: {
      source: generate === undefined ? 'odsora studio' : 'odsora generate',
      ...(generate === undefined ? {} : { argv: generate.argv, provenance: generate.provenance }),
      runId: file.runId,
      deviceRunId: file.deviceRunId,
      label: file.label,
      device: file.device,
      deviceDetails: file.deviceDetails ?? null,
      params: file.params,
      state: file.state,
      createdAt: new Date(file.createdAtEpochMs).toISOString(),
      baselineOf: file.baselineOf,
      baselineRunId: file.baselineRunId,
    },
  };
}

async function studioRunTrace(dir: string, damaged: DamagedLog): Promise<RunTrace> {
  const read = await loadRunFile(dir);
  if (!read.ok) throw new RunTraceError(`${join(dir, 'run.json')}: ${read.reason}`);
  const logPath = join(dir, 'events.jsonl');
  if ((await stat(logPath).catch(() => null)) === null)
    throw new RunTraceError(`${logPath} is missing: the run's events are not there`);
  const log = await readEventLog(dir);
  if (log.problem !== null && damaged === 'refuse')
    throw new RunTraceError(`${logPath}: ${log.problem.replace(/^events\.jsonl: /, '')}`);
  const info = studioTraceInfo(read.file);
  const trace = buildChromeTrace(
    log.events.map((e) => e.event),
    { ...info, metadata: { ...info.metadata, eventLogProblem: log.problem } },
  );
  return {
    trace,
    source: read.file.generate === undefined ? 'studio run' : 'odsora generate',
    events: log.events.length,
  };
}

/** Writes a trace as JSON atomically (a temporary file renamed into place); returns its size in bytes. */
export async function writeTraceFile(path: string, trace: ChromeTrace): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const text = JSON.stringify(trace);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
  return Buffer.byteLength(text);
}
