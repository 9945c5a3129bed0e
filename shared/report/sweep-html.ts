/**
 * The sweep report (`odsora sweep-report`, docs/sweeps.md "Reports"): ONE self-contained HTML file like the run
 * report (inline CSS and SVG, no script, no external URL, the same Content-Security-Policy) with the provenance
 * (versions, git commit, each device with its backend and model hashes, thermal states where the journal recorded
 * them), the spec, the runs' outcome, the point table (medians, quartiles and n, with units), the Pareto plot and
 * parallel coordinates. The same SVGs are written beside it as files (sweep-svg.ts).
 */
import { thermalLabel } from '../protocol/thermal';
import { formatBytes } from '../format';
import type { AxisValue } from '../sweep/axes';
import type { SweepJournal, SweepPointStat, SweepRunEntry } from '../sweep/journal';
import { SWEEP_METRICS, type SweepMetricName } from '../sweep/metrics';
import { reportDocumentStart } from './html';
import type { ReportModel } from './model';
import { escapeXml } from './svg';
import {
  defaultParetoMetrics,
  describePoint,
  figurePoints,
  formatMetricValue,
  metricsPresent,
  frontKeys,
  type FigurePoint,
} from './sweep-figures';
import { parallelCoordinatesSvg, paretoSvg } from './sweep-svg';

/** What a sweep device said about itself (from the run.json of one of its runs); null fields: not known. */
export interface SweepReportDevice {
  /** The spec's device id. */
  id: string;
  role: 'target' | 'baseline';
  /** How the spec finds it: `built-in`, `address 127.0.0.1:7420`, `name lab-phone`. */
  foundBy: string;
  name: string | null;
  model: string | null;
  simulated: boolean | null;
  engineVersion: string | null;
  platform: string | null;
  backends: readonly string[];
  memoryLimitBytes: number | null;
  models: readonly ReportModel[];
}

/** Who made the report, from what (the run report's provenance, with the host that wrote it). */
export interface SweepReportProvenance {
  appVersion: string;
  engineVersion: string;
  gitCommit: string | null;
  /** `odsora sweep-report`, or the studio. */
  host: string;
  generatedAtIso: string;
}

/** Everything the sweep report shows. */
export interface SweepReportInput {
  provenance: SweepReportProvenance;
  journal: SweepJournal;
  /** The points' statistics (`sweepPointStats(journal)`). */
  stats: readonly SweepPointStat[];
  /** One entry per spec device, in the spec's order. */
  devices: readonly SweepReportDevice[];
  /** The files written beside the report, named in it. */
  files: readonly { name: string; what: string }[];
}

/** The report's two figures for `stats` (also written beside the report as .svg files). */
export function sweepFigures(
  stats: readonly SweepPointStat[],
  axes: Readonly<Record<string, readonly AxisValue[]>>,
): { pareto: string; parallel: string; front: { x: SweepMetricName; y: SweepMetricName } } {
  const points = figurePoints(stats);
  const front = defaultParetoMetrics(points);
  return {
    pareto: paretoSvg(points, front.x, front.y, `Pareto front: ${front.x} against ${front.y}`),
    parallel: parallelCoordinatesSvg(points, axes, front),
    front,
  };
}

/**
 * A run's thermal states at start and end as the journal recorded them (`unknown` where the device could not tell);
 * null for a run without a record (not run yet, or a journal written before thermal states existed).
 */
export function runThermal(run: SweepRunEntry): { start: string; end: string } | null {
  const t = run.thermal;
  if (t === null) return null;
  return { start: thermalLabel(t.start), end: thermalLabel(t.end) };
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #1d1f23; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f4f5f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.front td { background: #fdf0ef; } small { color: #666; } td.id, th code { white-space: nowrap; word-break: normal; }
code, pre { font-size: 12px; word-break: break-all; } .muted { color: #666; } svg { max-width: 100%; height: auto; }
@media print { h2 { break-after: avoid; } svg, table { break-inside: avoid; } }
`;

const row = (cells: readonly string[], tag: 'td' | 'th' = 'td'): string =>
  `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
const num = (s: string): string => `<td class="num">${s}</td>`;

function provenanceSection(input: SweepReportInput): string {
  const p = input.provenance;
  const thermal = new Map<string, Map<string, number>>();
  for (const r of input.journal.runs) {
    const t = runThermal(r);
    if (t === null) continue;
    const counts = thermal.get(r.device) ?? new Map<string, number>();
    for (const [at, state] of [
      ['start', t.start],
      ['end', t.end],
    ] as const)
      counts.set(`${at} ${state}`, (counts.get(`${at} ${state}`) ?? 0) + 1);
    thermal.set(r.device, counts);
  }
  const models = new Map<string, ReportModel>();
  for (const d of input.devices) for (const m of d.models) models.set(`${m.name}/${m.manifestSha256}`, m);
  return (
    '<h2>Provenance</h2><table>' +
    row(['app version', escapeXml(p.appVersion)]) +
    row(['engine version (report)', escapeXml(p.engineVersion)]) +
    row(['git commit', `<code>${escapeXml(p.gitCommit ?? 'not a git checkout')}</code>`]) +
    row(['made by', escapeXml(p.host)]) +
    row(['generated', escapeXml(p.generatedAtIso)]) +
    row(['sweep fingerprint', `<code>${escapeXml(input.journal.fingerprint)}</code>`]) +
    '</table><table>' +
    row(
      [
        'device',
        'role',
        'found by',
        'name',
        'model',
        'platform',
        'backend',
        'engine',
        'memory limit',
        'thermal states (runs)',
      ],
      'th',
    ) +
    input.devices
      .map((d) => {
        const t = thermal.get(d.id);
        return row([
          `<code>${escapeXml(d.id)}</code>`,
          d.role,
          escapeXml(d.foundBy),
          escapeXml(d.name ?? '—'),
          escapeXml(d.model === null ? '—' : `${d.model}${d.simulated ? ' (simulated)' : ''}`),
          escapeXml(d.platform ?? '—'),
          escapeXml(d.backends.join(', ') || '—'),
          escapeXml(d.engineVersion ?? '—'),
          d.memoryLimitBytes === null ? '—' : formatBytes(d.memoryLimitBytes, 'MiB'),
          t === undefined
            ? '<span class="muted">not recorded</span>'
            : escapeXml([...t].map(([k, n]) => `${k}: ${n}`).join(', ')),
        ]);
      })
      .join('') +
    '</table><table>' +
    row(['model', 'family', 'size', 'manifest sha256'], 'th') +
    ([...models.values()]
      .map((m) =>
        row([
          escapeXml(m.name),
          escapeXml(m.model),
          formatBytes(m.bytes, 'MiB'),
          `<code>${m.manifestSha256}</code>`,
        ]),
      )
      .join('') || row(['<span class="muted">no device reported its models</span>', '', '', ''])) +
    '</table>'
  );
}

function specSection(j: SweepJournal): string {
  const s = j.spec;
  const axes = Object.entries(s.axes);
  return (
    '<h2>Spec</h2><table>' +
    row([
      'axes',
      axes.length === 0
        ? 'none (one point: the base)'
        : axes
            .map(([a, vs]) => `<code>${escapeXml(a)}</code>: ${escapeXml(vs.map(String).join(', '))}`)
            .join('<br>'),
    ]) +
    row(['prompts', s.prompts.map((p, i) => `${i}: “${escapeXml(p)}”`).join('<br>')]) +
    row(['seeds', escapeXml(s.seeds.join(', '))]) +
    row(['repeats per point', String(s.repeats)]) +
    row(['warm-up runs per device (not in the statistics)', String(s.warmup)]) +
    row(['order', escapeXml(typeof s.order === 'string' ? s.order : `random (seed ${s.order.random})`)]) +
    row(['baseline (techniques off)', s.baseline ? 'once per prompt × seed per device role' : 'none']) +
    '</table>' +
    `<pre><code>${escapeXml(JSON.stringify(s, null, 2))}</code></pre>`
  );
}

function runsSection(j: SweepJournal): string {
  const kinds = ['warmup', 'baseline', 'measured'] as const;
  const statuses = ['finished', 'failed', 'pending', 'running'] as const;
  const count = (k: string, st: string): number =>
    j.runs.filter((r) => r.kind === k && r.status === st).length;
  const failed = j.runs.filter((r) => r.status === 'failed');
  return (
    `<h2>Runs</h2><p>Sweep state <b>${j.state}</b>; ${j.runs.length} planned runs.</p><table>` +
    row(['kind', ...statuses], 'th') +
    kinds
      .map((k) => `<tr><td>${k}</td>${statuses.map((st) => num(String(count(k, st)))).join('')}</tr>`)
      .join('') +
    '</table>' +
    (failed.length === 0
      ? ''
      : '<table>' +
        row(['failed run', 'device', 'error'], 'th') +
        failed
          .map((r) => row([`<code>${r.id}</code>`, escapeXml(r.device), escapeXml(r.error ?? '—')]))
          .join('') +
        '</table>')
  );
}

/** The point table's metrics (the others are in the CSVs). */
const TABLE_METRICS: readonly SweepMetricName[] = [
  'speedup_wall',
  'speedup_denoise',
  'psnr_vs_baseline',
  'ssim_vs_baseline',
  'flicker_vs_baseline',
  'flicker',
  'adherence',
  'wall',
  'denoise',
  'step',
  'steps_run',
  'peak_resident',
];

function pointTable(
  points: readonly FigurePoint[],
  axes: readonly string[],
  front: Set<string>,
  pair: string,
): string {
  const metrics = metricsPresent(points).filter((m) => TABLE_METRICS.includes(m));
  const unit = (m: SweepMetricName): string =>
    SWEEP_METRICS[m].unit === '1' ? '' : ` [${SWEEP_METRICS[m].unit === 'x' ? '×' : SWEEP_METRICS[m].unit}]`;
  return (
    '<h2>Points</h2><p class="muted">One row per device × point over its measured runs (warm-ups and baselines ' +
    'excluded): the median, under it the interquartile range (p25–p75), and n. ' +
    `Highlighted rows (★) are on their device’s Pareto front of ${escapeXml(pair)}. Every metric of every run is in sweep.csv.</p><table>` +
    row(
      [
        'front',
        'device',
        'point',
        ...axes.map((a) => `<code>${escapeXml(a)}</code>`),
        ...metrics.map(
          (m) =>
            `${escapeXml(SWEEP_METRICS[m].label)}${escapeXml(unit(m))} ${SWEEP_METRICS[m].better === 'higher' ? '↑' : '↓'}`,
        ),
      ],
      'th',
    ) +
    points
      .map((p) => {
        const on = front.has(p.key);
        return (
          `<tr${on ? ' class="front"' : ''}><td>${on ? '★' : ''}</td><td>${escapeXml(p.device)}</td>` +
          `<td class="id"><code>${escapeXml(p.pointId)}</code></td>` +
          axes
            .map((a) => `<td>${escapeXml(p.point[a] === undefined ? '—' : String(p.point[a]))}</td>`)
            .join('') +
          metrics
            .map((m) => {
              const s = p.spread[m];
              return num(
                escapeXml(formatMetricValue(m, p.median[m])) +
                  (s === undefined
                    ? ''
                    : `<br><small>${escapeXml(formatMetricValue(m, s.p25))}–${escapeXml(formatMetricValue(m, s.p75))}, n=${s.n}</small>`),
              );
            })
            .join('') +
          '</tr>'
        );
      })
      .join('') +
    '</table>'
  );
}

/** The whole sweep report as one HTML document. */
export function buildSweepReportHtml(input: SweepReportInput): string {
  const j = input.journal;
  const title = `On-device Sora sweep report — ${j.spec.name ?? 'sweep'}`;
  const points = figurePoints(input.stats);
  const figures = sweepFigures(input.stats, j.spec.axes);
  const pair = `${figures.front.x} against ${figures.front.y}`;
  const front = frontKeys(points, figures.front.x, figures.front.y);
  return (
    reportDocumentStart(title, STYLE) +
    `<p class="muted">${points.length} device × point combinations; ${j.spec.prompts.length} prompt(s) × ` +
    `${j.spec.seeds.length} seed(s) × ${j.spec.repeats} repeat(s) on ${j.spec.devices.length} device(s). ` +
    `Front points: ${escapeXml(
      [...points]
        .filter((p) => front.has(p.key))
        .map((p) => `${p.device} ${describePoint(p)}`)
        .join('; ') || 'none',
    )}.</p>` +
    '<h2>Pareto front</h2>' +
    figures.pareto +
    '<h2>Parallel coordinates</h2>' +
    figures.parallel +
    pointTable(points, Object.keys(j.spec.axes), front, pair) +
    runsSection(j) +
    specSection(j) +
    provenanceSection(input) +
    '<h2>Files</h2><table>' +
    row(['file', 'holds'], 'th') +
    input.files.map((f) => row([`<code>${escapeXml(f.name)}</code>`, escapeXml(f.what)])).join('') +
    '</table></body></html>\n'
  );
}
