/**
 * `odsora sweep-report`: a sweep's output folder (sweep.json and its run folders) as a report folder — `report.html`
 * (shared/report/sweep-html.ts: self-contained, offline), the figures as `pareto.svg` and
 * `parallel-coordinates.svg`, and the long-format `sweep.csv` and `sweep-points.csv` computed from the journal by
 * the same code the sweep writes them with. Device provenance comes from the run.json of each device's runs.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ENGINE_VERSION } from '../../shared/engine/version';
import type { SweepJournal } from '../../shared/sweep/journal';
import { sweepPointsCsv, sweepPointStats, sweepRunsCsv } from '../../shared/sweep/stats';
import {
  buildSweepReportHtml,
  sweepFigures,
  type SweepReportDevice,
  type SweepReportProvenance,
} from '../../shared/report/sweep-html';
import { readRunFile } from '../studio/services/run-folder';
import { readSweepJournal, SWEEP_POINTS_CSV, SWEEP_RUNS_CSV, writeAtomically } from './journal-file';

/** The report's files, in the order the report lists them. */
export const SWEEP_REPORT_FILES = {
  html: 'report.html',
  pareto: 'pareto.svg',
  parallel: 'parallel-coordinates.svg',
  runsCsv: SWEEP_RUNS_CSV,
  pointsCsv: SWEEP_POINTS_CSV,
} as const;

/** A sweep folder that cannot be reported on (no journal, a damaged one). */
export class SweepReportError extends Error {}

/** Each spec device with what its runs' run.json say about it (the first run folder that has the details). */
async function reportDevices(runsDir: string, journal: SweepJournal): Promise<SweepReportDevice[]> {
  const out: SweepReportDevice[] = [];
  for (const d of journal.spec.devices) {
    const device: SweepReportDevice = {
      id: d.id,
      role: d.role,
      foundBy: d.builtin
        ? 'built-in'
        : d.address !== undefined
          ? `address ${d.address}`
          : `name ${d.name ?? ''}`,
      name: null,
      model: null,
      simulated: null,
      engineVersion: null,
      platform: null,
      backends: [],
      memoryLimitBytes: null,
      models: [],
    };
    for (const r of journal.runs) {
      if (r.device !== d.id || r.runFolder === null || r.status !== 'finished') continue;
      const file = await readRunFile(join(runsDir, r.runFolder));
      if (file === null) continue;
      Object.assign(device, {
        name: file.device.name,
        model: file.device.model,
        simulated: file.device.simulated,
        engineVersion: file.device.engineVersion,
      });
      const details = file.deviceDetails;
      if (details) {
        Object.assign(device, {
          platform: details.platform,
          backends: details.backends,
          memoryLimitBytes: details.memoryLimitBytes,
          models: details.blockSets,
        });
        break;
      }
    }
    out.push(device);
  }
  return out;
}

/** What {@link writeSweepReport} wrote. */
export interface SweepReportWritten {
  dir: string;
  files: { name: string; bytes: number }[];
  points: number;
  front: { x: string; y: string };
}

/**
 * Reads `sweepDir/sweep.json` and writes the report folder `outDir` (created; each file written to `.part` and
 * renamed). The runs' folders are in `runsDir` (`odsora sweep`: `sweepDir/runs`; the studio: its `runs/`). Throws
 * {@link SweepReportError} naming the problem when the folder holds no usable journal.
 */
export async function writeSweepReport(
  sweepDir: string,
  outDir: string,
  provenance: Omit<SweepReportProvenance, 'engineVersion' | 'generatedAtIso'>,
  runsDir: string = join(sweepDir, 'runs'),
): Promise<SweepReportWritten> {
  let journal: SweepJournal | null;
  try {
    journal = await readSweepJournal(sweepDir);
  } catch (e) {
    throw new SweepReportError((e as Error).message);
  }
  if (journal === null)
    throw new SweepReportError(`${sweepDir} holds no sweep.json: is it the --out folder of an odsora sweep?`);
  const stats = sweepPointStats(journal);
  const figures = sweepFigures(stats, journal.spec.axes);
  const runsCsv = sweepRunsCsv(journal);
  const pointsCsv = sweepPointsCsv(journal, stats);
  const F = SWEEP_REPORT_FILES;
  const html = buildSweepReportHtml({
    provenance: { ...provenance, engineVersion: ENGINE_VERSION, generatedAtIso: new Date().toISOString() },
    journal,
    stats,
    devices: await reportDevices(runsDir, journal),
    files: [
      { name: F.html, what: 'this report' },
      { name: F.pareto, what: `the Pareto plot (${figures.front.x} against ${figures.front.y})` },
      { name: F.parallel, what: 'parallel coordinates over the axes and metrics' },
      { name: F.runsCsv, what: 'one row per finished run × metric, every parameter a column (long format)' },
      { name: F.pointsCsv, what: 'one row per device × point × metric: n, median, p25, p75, min, max' },
    ],
  });
  await mkdir(outDir, { recursive: true });
  const contents: [string, string][] = [
    [F.html, html],
    [F.pareto, figures.pareto],
    [F.parallel, figures.parallel],
    [F.runsCsv, runsCsv],
    [F.pointsCsv, pointsCsv],
  ];
  for (const [name, text] of contents) await writeAtomically(outDir, name, text);
  return {
    dir: outDir,
    files: contents.map(([name, text]) => ({ name, bytes: Buffer.byteLength(text) })),
    points: new Set(stats.map((s) => `${s.device}/${s.pointId}`)).size,
    front: figures.front,
  };
}
