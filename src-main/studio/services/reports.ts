/**
 * `reports.export`: writes a report folder `<studio data>/reports/<reportId>/` for a run (and its baseline) with
 * the formats asked for — `report.html` (self-contained, shared/report), `report.json`, `steps.csv` and
 * `frames.csv` (the second only with a baseline), `frames.gif` (gifenc; target and baseline side by side, with the
 * provenance in a GIF comment) and `report.pdf` (printed by the host: Electron's printToPDF; web mode has no
 * printer and refuses `pdf`, the browser prints the HTML) and `<runId>.trace.json` per run (`trace`: a Chrome /
 * Perfetto trace, run-trace.ts).
 *
 * `sweeps.exportReport` writes a sweep's report (src-main/sweep/report.ts: `report.html`, the two figures as SVG,
 * the CSVs) into a new report folder the same way, so it is kept and served like a run's.
 *
 * Each file gets a URL from the host: web mode serves `/reports/<id>/<name>?token=<reports token>`, Electron
 * `odsora://studio/reports/<id>/<name>`; without a host, a file URL.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  REPORT_VIDEO_MAX_BYTES,
  reportIdSchema,
  type ReportExportResult,
  type ReportFormat,
  type StudioArgs,
  type StudioResult,
} from '../../../shared/protocol/studio-contract';
import {
  buildFramesCsv,
  buildReportHtml,
  buildReportJson,
  buildStepsCsv,
  type ReportInput,
  type ReportProvenance,
  type ReportRun,
} from '../../../shared/report/index';
import type { SweepReportResult } from '../../../shared/protocol/studio-contract';
import { SWEEP_REPORT_FILES, SweepReportError, writeSweepReport } from '../../sweep/report';
import { encodeGif, gifScale } from '../../output/video-files';
import { StudioServiceError } from './errors';
import { decodePngRgb, readFramePngs } from './run-frames';
import { readRunTrace, RunTraceError } from './run-trace';
import type { RunHistory } from './run-history';
import type { RunService } from './run-service';

/**
 * The file names a report folder may hold (`video.mp4`: encoded by the renderer, `reports.putVideo`; a sweep
 * report's files).
 */
const REPORT_FILE_NAMES: readonly string[] = [
  'report.html',
  'report.json',
  'steps.csv',
  'frames.csv',
  'frames.gif',
  'report.pdf',
  'video.mp4',
  ...Object.values(SWEEP_REPORT_FILES),
];
/** The name of a run's trace in a report folder. */
export function traceFileName(runId: string): string {
  return `${runId}.trace.json`;
}
/** Trace file names: a studio run id (studioRunIdSchema) then `.trace.json`. */
const TRACE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.trace\.json$/;
/** The video's name in the report folder, and the name it has while its pieces arrive. */
const VIDEO_NAME = 'video.mp4';
const VIDEO_PART = 'video.mp4.part';

/** What the host adds: file URLs the renderer can open, and a printer. */
export interface ReportHost {
  url(reportId: string, name: string, path: string): string;
  /** Prints an HTML file to PDF (Electron); absent where the host cannot print. */
  printToPdf?: (htmlPath: string) => Promise<Uint8Array>;
}

/** Options of {@link ReportService}. */
export interface ReportServiceOptions {
  dataDir: string;
  runs: RunService;
  history: RunHistory;
  provenance: () => Omit<ReportProvenance, 'generatedAtIso'>;
}

/** Builds and writes reports. */
export class ReportService {
  private host: ReportHost = { url: (_id, _name, path) => pathToFileURL(path).href };

  constructor(private readonly opts: ReportServiceOptions) {}

  /** The folder holding every report. */
  get reportsDir(): string {
    return join(this.opts.dataDir, 'reports');
  }

  /** Sets how file URLs are made and whether PDFs can be printed (web server, Electron main). */
  setHost(host: ReportHost): void {
    this.host = host;
  }

  /** The path of a report file, or null when the id or name is not one this service writes. */
  filePath(reportId: string, name: string): string | null {
    if (
      !reportIdSchema.safeParse(reportId).success ||
      !(REPORT_FILE_NAMES.includes(name) || TRACE_FILE_NAME.test(name))
    )
      return null;
    return join(this.reportsDir, reportId, name);
  }

  /** Gathers everything a report shows about `runIds` (`[target]` or `[target, baseline]`). */
  async input(runIds: readonly string[]): Promise<ReportInput> {
    const runs: ReportRun[] = [];
    for (const runId of runIds) {
      if (this.opts.runs.isLive(runId))
        throw new StudioServiceError('conflict', `run ${runId} is still running: export it once it ended`);
      const summary = this.opts.runs.get(runId);
      const file = this.opts.runs.file(runId);
      const pngs = await readFramePngs(this.opts.runs.runDir(runId), 'final');
      const first = pngs[0] ? decodePngRgb(pngs[0]) : null;
      const details = file.deviceDetails ?? null;
      runs.push({
        summary,
        device: {
          id: file.device.deviceId ?? file.device.id,
          name: file.device.name,
          model: file.device.model,
          role: file.device.role,
          simulated: file.device.simulated,
          engineVersion: file.device.engineVersion,
          platform: details?.platform ?? null,
          backends: details?.backends ?? [],
          memoryLimitBytes: details?.memoryLimitBytes ?? null,
          models: details?.blockSets ?? [],
        },
        params: file.params,
        preview: file.preview,
        measures: await this.opts.history.measures(runId),
        framesPng: pngs.map((p) => Buffer.from(p).toString('base64')),
        frameWidth: first?.width ?? null,
        frameHeight: first?.height ?? null,
      });
    }
    let compare: ReportInput['compare'] = null;
    let compareError: string | null = null;
    if (runIds.length === 2) {
      try {
        compare = await this.opts.history.compare(runIds[0]!, runIds[1]!);
      } catch (err) {
        if (!(err instanceof StudioServiceError) || err.code !== 'bad-request') throw err;
        compareError = err.message;
      }
    }
    return {
      provenance: { ...this.opts.provenance(), generatedAtIso: new Date().toISOString() },
      runs,
      compare,
      compareError,
    };
  }

  /** Checks that each run exists and has ended (what a trace alone needs); null stands for "no report input". */
  private ended(runIds: readonly string[]): null {
    for (const runId of runIds) {
      if (this.opts.runs.isLive(runId))
        throw new StudioServiceError('conflict', `run ${runId} is still running: export it once it ended`);
      this.opts.runs.get(runId); // unknown-run for a run that does not exist
    }
    return null;
  }

  /**
   * The folder of report `reportId` (it must exist), or a new one when `reportId` is undefined. A report folder
   * holds the exports of one set of runs: `runs.json` names them, and adding to a folder of other runs is refused.
   */
  private async folder(
    runIds: readonly string[],
    reportId: string | undefined,
  ): Promise<{ reportId: string; dir: string }> {
    const runsFile = (dir: string): string => join(dir, 'runs.json');
    if (reportId === undefined) {
      const made = await this.newFolder();
      await writeFile(runsFile(made.dir), JSON.stringify(runIds));
      return made;
    }
    const dir = join(this.reportsDir, reportId);
    const held = await readFile(runsFile(dir), 'utf8').catch(() => null);
    if (held === null) throw new StudioServiceError('not-found', `report ${reportId} does not exist`);
    if (held !== JSON.stringify(runIds))
      throw new StudioServiceError(
        'bad-request',
        `report ${reportId} holds runs ${held}, not ${JSON.stringify(runIds)}: export these into a new report`,
      );
    return { reportId, dir };
  }

  /** A new, empty report folder named by a new report id (`reportIdSchema`). */
  private async newFolder(): Promise<{ reportId: string; dir: string }> {
    const reportId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(4).toString('hex')}`;
    const dir = join(this.reportsDir, reportId);
    await mkdir(dir, { recursive: true });
    return { reportId, dir };
  }

  /**
   * `sweeps.exportReport`: the report of the sweep in `sweepDir` (its runs' folders are the studio's `runs/`)
   * written into a new report folder.
   */
  async exportSweep(sweepId: string, sweepDir: string): Promise<SweepReportResult> {
    const { reportId, dir } = await this.newFolder();
    const { appVersion, gitCommit, host } = this.opts.provenance();
    try {
      const written = await writeSweepReport(
        sweepDir,
        dir,
        { appVersion, gitCommit, host: `odsora studio (${host})` },
        join(this.opts.dataDir, 'runs'),
      );
      return {
        reportId,
        dir,
        files: written.files.map(({ name, bytes }) => {
          const path = join(dir, name);
          return { name, path, bytes, url: this.host.url(reportId, name, path) };
        }),
      };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      if (e instanceof SweepReportError)
        throw new StudioServiceError('conflict', `sweep ${sweepId} has no report yet: ${e.message}`);
      throw e;
    }
  }

  /** Writes the report folder with the formats asked for (into report `reportId` when given). */
  async export(
    runIds: readonly string[],
    formats: readonly ReportFormat[],
    into?: string,
  ): Promise<ReportExportResult> {
    const printToPdf = this.host.printToPdf;
    if (formats.includes('pdf') && printToPdf === undefined)
      throw new StudioServiceError(
        'bad-request',
        'pdf: this studio cannot print here (web mode); open the HTML report and print it from the browser',
      );
    // A trace needs only the events: a trace alone is not held up reading and decoding frames.
    const input = formats.some((f) => f !== 'trace') ? await this.input(runIds) : this.ended(runIds);
    const { reportId, dir } = await this.folder(runIds, into);
    const files: ReportExportResult['files'] = [];
    const put = async (format: ReportFormat, name: string, data: string | Uint8Array): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, data);
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      files.push({ format, name, path, bytes, url: this.host.url(reportId, name, path) });
      return path;
    };
    if (formats.includes('trace'))
      for (const runId of runIds) {
        // A log with damaged lines gives the trace of what is readable; metadata.eventLogProblem says what was not.
        const { trace } = await readRunTrace(this.opts.runs.runDir(runId), { damaged: 'skip' }).catch((e) => {
          if (e instanceof RunTraceError) throw new StudioServiceError('bad-request', `trace: ${e.message}`);
          throw e;
        });
        await put('trace', traceFileName(runId), JSON.stringify(trace));
      }
    if (input === null) return { reportId, dir, files };
    const html = buildReportHtml(input);
    // The PDF is printed from the HTML file, so it is written whenever a PDF is asked for.
    let htmlPath: string | null = null;
    if (formats.includes('html')) htmlPath = await put('html', 'report.html', html);
    if (formats.includes('json')) await put('json', 'report.json', buildReportJson(input));
    if (formats.includes('csv')) {
      await put('csv', 'steps.csv', buildStepsCsv(input));
      const framesCsv = buildFramesCsv(input);
      if (framesCsv !== null) await put('csv', 'frames.csv', framesCsv);
    }
    if (formats.includes('gif')) {
      const gif = reportGif(input);
      if (gif === null)
        throw new StudioServiceError('bad-request', `gif: run ${runIds[0]} has no stored frames to animate`);
      await put('gif', 'frames.gif', gif);
    }
    if (formats.includes('pdf') && printToPdf !== undefined) {
      if (htmlPath === null) {
        htmlPath = join(dir, 'report.html');
        await writeFile(htmlPath, html);
      }
      await put('pdf', 'report.pdf', await printToPdf(htmlPath));
    }
    return { reportId, dir, files };
  }

  /**
   * `reports.putVideo`: appends a piece of the renderer's MP4 to `video.mp4.part` in the report folder and, after
   * the last piece, renames it `video.mp4`. Pieces must arrive in order (`offset` = bytes already sent).
   */
  async putVideo(args: StudioArgs<'reports.putVideo'>): Promise<StudioResult<'reports.putVideo'>> {
    for (const runId of args.runIds) this.opts.runs.get(runId); // unknown-run for a run that does not exist
    if (args.reportId === null && args.offset !== 0)
      throw new StudioServiceError('bad-request', 'offset: a new report starts at offset 0');
    const { reportId, dir } = await this.folder(args.runIds, args.reportId ?? undefined);
    const part = join(dir, VIDEO_PART);
    const data = Buffer.from(args.data, 'base64');
    if (args.offset === 0) await writeFile(part, data);
    else {
      const have = (await stat(part).catch(() => null))?.size ?? 0;
      if (have !== args.offset)
        throw new StudioServiceError(
          'bad-request',
          `offset: ${VIDEO_NAME} has ${have} bytes so far, not ${args.offset}; send it again from offset 0`,
        );
      if (have + data.byteLength > REPORT_VIDEO_MAX_BYTES)
        throw new StudioServiceError(
          'bad-request',
          `${VIDEO_NAME} would exceed ${REPORT_VIDEO_MAX_BYTES} bytes`,
        );
      await appendFile(part, data);
    }
    if (!args.done) return { reportId, file: null };
    const path = join(dir, VIDEO_NAME);
    await rename(part, path);
    const bytes = (await stat(path)).size;
    return {
      reportId,
      file: { format: 'mp4', name: VIDEO_NAME, path, bytes, url: this.host.url(reportId, VIDEO_NAME, path) },
    };
  }
}

/** The provenance line stored in the GIF's comment. */
function provenanceText(input: ReportInput): string {
  const p = input.provenance;
  const runs = input.runs.map(
    (r) =>
      `${r.summary.runId} on ${r.device.name} (${r.device.model}) seed ${r.params.seed} ${JSON.stringify(r.params)}`,
  );
  const models = input.runs.flatMap((r) =>
    r.device.models.map((m) => `${m.name} sha256 ${m.manifestSha256}`),
  );
  return [
    `odsora studio ${p.appVersion} engine ${p.engineVersion} git ${p.gitCommit ?? 'none'}`,
    ...models,
    ...runs,
  ].join('\n');
}

/** Inserts a GIF comment extension (printable ASCII, in ≤255-byte sub-blocks) before the trailer. */
export function withGifComment(gif: Uint8Array, text: string): Uint8Array {
  const ascii = Uint8Array.from(text.replace(/[^\x20-\x7e\n]/g, '?'), (c) => c.charCodeAt(0));
  const parts: number[] = [0x21, 0xfe];
  for (let i = 0; i < ascii.length; i += 255) {
    const chunk = ascii.subarray(i, i + 255);
    parts.push(chunk.length, ...chunk);
  }
  parts.push(0);
  const end = gif[gif.length - 1] === 0x3b ? gif.length - 1 : gif.length;
  const out = new Uint8Array(end + parts.length + 1);
  out.set(gif.subarray(0, end));
  out.set(parts, end);
  out[out.length - 1] = 0x3b;
  return out;
}

/** The GIF: the target's frames, with the baseline's beside them when both have the same shape. */
function reportGif(input: ReportInput): Uint8Array | null {
  const [target, baseline] = input.runs;
  if (!target || target.framesPng.length === 0) return null;
  const decode = (r: ReportRun): ReturnType<typeof decodePngRgb>[] =>
    r.framesPng.map((b) => decodePngRgb(new Uint8Array(Buffer.from(b, 'base64'))));
  const a = decode(target);
  const b = baseline ? decode(baseline) : [];
  const { width, height } = a[0]!;
  const sideBySide =
    b.length === a.length && b.every((f) => f.width === width && f.height === height) && b.length > 0;
  const gap = sideBySide ? 2 : 0;
  const outW = sideBySide ? width * 2 + gap : width;
  const frames = a.map((f, t) => {
    if (!sideBySide) return f.rgb;
    const out = new Uint8Array(outW * height * 3).fill(255);
    for (let y = 0; y < height; y++) {
      out.set(f.rgb.subarray(y * width * 3, (y + 1) * width * 3), y * outW * 3);
      out.set(b[t]!.rgb.subarray(y * width * 3, (y + 1) * width * 3), (y * outW + width + gap) * 3);
    }
    return out;
  });
  const fps = target.measures.output?.fps ?? 8;
  const gif = encodeGif({ width: outW, height, channels: 3, frames }, 1000 / fps, gifScale(outW, height));
  return withGifComment(gif, provenanceText(input));
}
