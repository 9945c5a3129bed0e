/**
 * What a report is built from, and its JSON and CSV forms. A report covers one run, or a run and its baseline
 * (target first); every format carries the same provenance: app and engine versions, git commit, model hashes,
 * device info, every parameter and the seed.
 */
import type { PreviewSettings, RunParams } from '../protocol/run';
import type { CompareResult, RunSummary } from '../protocol/studio-contract';
import type { RunMeasures } from './measures';

/** A block set (model) a device holds, as its device info reports it. */
export interface ReportModel {
  name: string;
  model: string;
  bytes: number;
  manifestSha256: string;
}

/** The device a run ran on. */
export interface ReportDevice {
  id: string;
  name: string;
  model: string;
  role: 'target' | 'baseline';
  simulated: boolean;
  engineVersion: string | null;
  platform: string | null;
  backends: string[];
  memoryLimitBytes: number | null;
  models: ReportModel[];
}

/** One run of the report. */
export interface ReportRun {
  summary: RunSummary;
  device: ReportDevice;
  params: RunParams;
  preview: PreviewSettings | null;
  measures: RunMeasures;
  /** Final frames as base64 PNG (no `data:` prefix), in order. */
  framesPng: string[];
  frameWidth: number | null;
  frameHeight: number | null;
}

/** Who made the report, from what. */
export interface ReportProvenance {
  appVersion: string;
  /** The studio's engine version (each run's device reports its own in `device.engineVersion`). */
  engineVersion: string;
  gitCommit: string | null;
  host: 'electron' | 'web';
  generatedAtIso: string;
}

/** Everything a report shows. */
export interface ReportInput {
  provenance: ReportProvenance;
  /** `[target]` or `[target, baseline]`. */
  runs: readonly ReportRun[];
  /** Target against baseline on the final frames (null for one run, or when they cannot be compared). */
  compare: CompareResult | null;
  /** Why `compare` is null although two runs were given. */
  compareError: string | null;
}

/** The `format` tag of the JSON report. */
const REPORT_FORMAT = 'odsora-studio-report';
/** The JSON report's version. */
const REPORT_VERSION = 1;

/** The model hashes of every run's device, deduplicated. */
export function modelHashes(input: ReportInput): ReportModel[] {
  const seen = new Map<string, ReportModel>();
  for (const r of input.runs) for (const m of r.device.models) seen.set(`${m.name}/${m.manifestSha256}`, m);
  return [...seen.values()];
}

/** The JSON report: every measurement (params, provenance, per-step, per-block, metrics); frames not inlined. */
export function buildReportJson(input: ReportInput): string {
  return `${JSON.stringify(
    {
      format: REPORT_FORMAT,
      version: REPORT_VERSION,
      provenance: { ...input.provenance, models: modelHashes(input) },
      runs: input.runs.map((r, i) => ({
        role: i === 0 ? 'target' : 'baseline',
        run: r.summary,
        device: r.device,
        params: r.params,
        seed: r.params.seed,
        preview: r.preview,
        frames: { count: r.framesPng.length, width: r.frameWidth, height: r.frameHeight },
        wallMs: r.measures.wallMs,
        peakResidentBytes: r.measures.peakResidentBytes,
        budgetBytes: r.measures.budgetBytes,
        leapStep: r.measures.leapStep,
        mergedSteps: r.measures.mergedSteps,
        output: r.measures.output,
        phases: r.measures.phases,
        steps: r.measures.steps,
        blocks: r.measures.blocks,
        residency: r.measures.residency,
      })),
      compare: input.compare,
      compareError: input.compareError,
    },
    null,
    2,
  )}\n`;
}

/** One CSV field: quoted when it holds a comma, quote or newline. */
export function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLines(rows: readonly (readonly unknown[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\n');
}

/** `# key: value` lines at the top of each CSV (most CSV readers take `#` as a comment prefix). */
function provenanceComment(input: ReportInput): string {
  const p = input.provenance;
  const lines = [
    `app ${p.appVersion}, engine ${p.engineVersion}, git ${p.gitCommit ?? 'none'}, ${p.host}, ${p.generatedAtIso}`,
    ...modelHashes(input).map((m) => `model ${m.name} (${m.model}) sha256 ${m.manifestSha256}`),
    ...input.runs.map(
      (r, i) =>
        `${i === 0 ? 'target' : 'baseline'} ${r.summary.runId} on ${r.device.name} (${r.device.model}, engine ` +
        `${r.device.engineVersion ?? '?'}): seed ${r.params.seed}, params ${JSON.stringify(r.params)}`,
    ),
  ];
  return lines.map((l) => `# ${l.replace(/[\r\n]+/g, ' ')}`).join('\n');
}

/** Steps CSV: one row per denoising step per run. */
export function buildStepsCsv(input: ReportInput): string {
  const header = ['run_id', 'role', 'step', 't', 'latency_ms', 'cosine', 'merged', 'leapt', 'end_at_ms'];
  const rows = input.runs.flatMap((r, i) =>
    r.measures.steps.map((s) => [
      r.summary.runId,
      i === 0 ? 'target' : 'baseline',
      s.step,
      s.t,
      s.latencyMs,
      s.cosine,
      s.merged,
      s.leapt,
      s.endAtMs,
    ]),
  );
  return `${provenanceComment(input)}\n${csvLines([header, ...rows])}\n`;
}

/** Frames CSV: one row per frame of the comparison (PSNR, SSIM, flicker of each run); null without one. */
export function buildFramesCsv(input: ReportInput): string | null {
  if (input.compare === null) return null;
  const c = input.compare;
  const header = ['frame', 'psnr_db', 'ssim', 'flicker_target', 'flicker_baseline'];
  const rows = c.perFrame.map((f) => [f.index, f.psnr, f.ssim, f.flickerA, f.flickerB]);
  const clip = ['clip', c.clip.psnr, c.clip.ssim, c.clip.flickerA, c.clip.flickerB];
  return `${provenanceComment(input)}\n${csvLines([header, ...rows, clip])}\n`;
}
