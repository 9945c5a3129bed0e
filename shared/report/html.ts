/**
 * The HTML report: ONE self-contained file (inline CSS, charts as inline SVG, frames as `data:` PNGs, no script,
 * no external URL), readable offline and printable to PDF. It declares its own Content-Security-Policy in a meta
 * tag (nothing may load but inline styles and data: images; no script runs), and the studio serves it with the
 * same policy as a header: {@link REPORT_CSP}.
 */
import { formatBytes } from '../format';
import type { CompareResult } from '../protocol/studio-contract';
import { thermalLabel } from '../protocol/thermal';
import { modelHashes, type ReportInput, type ReportRun } from './model';
import {
  COLOURS,
  escapeXml,
  frameLinesSvg,
  phaseChartSvg,
  residencyChartSvg,
  sharedResidencyAxes,
  sharedStepAxes,
  stepChartSvg,
} from './svg';
import { lplStepOfLeapStep } from '../engine/techniques/knobs';
import { describeTechniques } from '../engine/techniques/summary';
import { PLACEMENT_LABELS } from './placement';

/** The report's CSP: inline styles and data: images only; no script, no network, no frames, no forms. */
export const REPORT_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #1d1f23; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f5f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.frames { display: flex; flex-wrap: wrap; gap: 4px; } .frames figure { margin: 0; text-align: center; font-size: 10px; }
.frames img { width: 128px; image-rendering: pixelated; border: 1px solid #ccc; }
code { font-size: 12px; word-break: break-all; } .muted { color: #666; } svg { max-width: 100%; height: auto; }
@media print { h2 { break-after: avoid; } svg, table, .frames { break-inside: avoid; } }
`;

function fmt(x: number | null | undefined, digits = 2, unit = ''): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(digits)}${unit}`;
}

function row(cells: readonly string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

function roleOf(i: number): string {
  return i === 0 ? 'target' : 'baseline';
}

function describeParams(r: ReportRun): string {
  return describeTechniques(r.params, (bytes) => formatBytes(bytes, 'MiB'), 'long').join('; ');
}

function provenanceSection(input: ReportInput): string {
  const p = input.provenance;
  const runs = input.runs
    .map((r, i) =>
      row([
        roleOf(i),
        `<code>${escapeXml(r.summary.runId)}</code>`,
        escapeXml(`${r.device.name} (${r.device.model}${r.device.simulated ? ', simulated' : ''})`),
        escapeXml(r.device.platform ?? '—'),
        escapeXml(r.device.backends.join(', ') || '—'),
        escapeXml(r.device.engineVersion ?? '—'),
        r.device.memoryLimitBytes === null ? '—' : formatBytes(r.device.memoryLimitBytes, 'MiB'),
        `${thermalLabel(r.measures.thermal.start)} → ${thermalLabel(r.measures.thermal.end)}`,
      ]),
    )
    .join('');
  const models = modelHashes(input)
    .map((m) =>
      row([
        escapeXml(m.name),
        escapeXml(m.model),
        formatBytes(m.bytes, 'MiB'),
        `<code>${m.manifestSha256}</code>`,
      ]),
    )
    .join('');
  return (
    '<h2>Provenance</h2><table>' +
    row(['app version', escapeXml(p.appVersion)]) +
    row(['studio engine version', escapeXml(p.engineVersion)]) +
    row(['git commit', `<code>${escapeXml(p.gitCommit ?? 'not a git checkout')}</code>`]) +
    row(['studio host', p.host]) +
    row(['generated', escapeXml(p.generatedAtIso)]) +
    '</table><table>' +
    row(
      ['run', 'id', 'device', 'platform', 'backends', 'engine', 'memory limit', 'thermal (start → end)'],
      true,
    ) +
    runs +
    '</table><table>' +
    row(['model', 'family', 'size', 'sha256'], true) +
    models +
    '</table>'
  );
}

function paramsSection(input: ReportInput): string {
  return (
    '<h2>Parameters</h2>' +
    input.runs
      .map(
        (r, i) =>
          `<p><b>${roleOf(i)}</b> — seed ${r.params.seed}; ${escapeXml(describeParams(r))}</p>` +
          `<pre><code>${escapeXml(JSON.stringify({ params: r.params, preview: r.preview }, null, 2))}</code></pre>`,
      )
      .join('')
  );
}

function summaryTable(input: ReportInput): string {
  const c = input.compare;
  const head = row(['', ...input.runs.map((_, i) => roleOf(i))], true);
  const line = (label: string, f: (r: ReportRun) => string): string => row([label, ...input.runs.map(f)]);
  let html =
    '<table>' +
    head +
    line('state', (r) =>
      escapeXml(r.summary.state + (r.summary.interruption ? ` (${r.summary.interruption.reason})` : '')),
    ) +
    line('wall time', (r) => fmt(r.measures.wallMs === null ? null : r.measures.wallMs / 1000, 2, ' s')) +
    line('steps run', (r) => String(r.measures.steps.length)) +
    line('LPL leap', (r) =>
      r.measures.leapStep === null ? '—' : `step ${lplStepOfLeapStep(r.measures.leapStep)}`,
    ) +
    line('merged steps', (r) => String(r.measures.mergedSteps.length)) +
    line('peak resident blocks', (r) =>
      r.measures.peakResidentBytes === null ? '—' : formatBytes(r.measures.peakResidentBytes, 'MiB'),
    ) +
    line('budget', (r) =>
      r.measures.budgetBytes === null ? 'unlimited' : formatBytes(r.measures.budgetBytes, 'MiB'),
    ) +
    line('frames', (r) => `${r.framesPng.length} × ${r.frameWidth ?? '?'}×${r.frameHeight ?? '?'}`) +
    '</table>';
  html += cappedBaselineNote(input);
  if (c !== null) html += metricsTable(c);
  else if (input.compareError !== null)
    html += `<p class="muted">No comparison: ${escapeXml(input.compareError)}</p>`;
  return html;
}

/** A baseline that asked for all blocks resident but ran under a budget (a device's per-app limit) says so. */
function cappedBaselineNote(input: ReportInput): string {
  const base = input.runs[1];
  const asked = base?.params.cidl?.budget.kind ?? 'unlimited';
  if (base === undefined || asked !== 'unlimited' || base.measures.budgetBytes === null) return '';
  return (
    `<p class="muted">The baseline asked for every block resident, but its device capped block memory at ` +
    `${formatBytes(base.measures.budgetBytes, 'MiB')} (its per-app limit), so the peak memory ratio compares two budgets, not ` +
    'CI-DL against an all-resident run. Choose a device without a limit as the baseline for that comparison.</p>'
  );
}

function metricsTable(c: CompareResult): string {
  return (
    '<h2>Quality and cost against the baseline</h2><table>' +
    row(
      ['PSNR (clip)', 'SSIM (mean)', 'flicker target', 'flicker baseline', 'speedup', 'peak memory ratio'],
      true,
    ) +
    `<tr><td class="num">${fmt(c.clip.psnr, 2, ' dB')}</td><td class="num">${fmt(c.clip.ssim, 4)}</td>` +
    `<td class="num">${fmt(c.clip.flickerA, 4)}</td><td class="num">${fmt(c.clip.flickerB, 4)}</td>` +
    `<td class="num">${fmt(c.timing.speedup, 2, '×')}</td><td class="num">${fmt(c.memory.ratio, 3)}</td></tr>` +
    '</table><table>' +
    row(['frame', 'PSNR dB', 'SSIM', 'flicker target', 'flicker baseline'], true) +
    c.perFrame
      .map(
        (f) =>
          `<tr><td class="num">${f.index}</td><td class="num">${fmt(f.psnr, 2)}</td><td class="num">${fmt(f.ssim, 4)}</td>` +
          `<td class="num">${fmt(f.flickerA, 4)}</td><td class="num">${fmt(f.flickerB, 4)}</td></tr>`,
      )
      .join('') +
    '</table>' +
    frameLinesSvg('PSNR per frame (target vs baseline)', 'dB', [
      { label: 'PSNR', colour: COLOURS.step, values: c.perFrame.map((f) => f.psnr) },
    ]) +
    frameLinesSvg('SSIM per frame (target vs baseline)', '', [
      { label: 'SSIM', colour: COLOURS.cosine, values: c.perFrame.map((f) => f.ssim) },
    ])
  );
}

function framesSection(input: ReportInput): string {
  return (
    '<h2>Frames</h2>' +
    input.runs
      .map(
        (r, i) =>
          `<p><b>${roleOf(i)}</b></p><div class="frames">` +
          (r.framesPng.length === 0
            ? '<p class="muted">no stored frames</p>'
            : r.framesPng
                .map(
                  (png, f) =>
                    `<figure><img alt="${roleOf(i)} frame ${f}" src="data:image/png;base64,${png.replace(/[^A-Za-z0-9+/=]/g, '')}">` +
                    `<figcaption>${f}</figcaption></figure>`,
                )
                .join('')) +
          '</div>',
      )
      .join('')
  );
}

function chartsSection(input: ReportInput): string {
  // Runs compared share their axes: the same bar height or curve height means the same in each chart.
  const stepAxes = sharedStepAxes(input.runs.map((r) => r.measures.steps));
  const residencyAxes = sharedResidencyAxes(
    input.runs.map((r) => ({ points: r.measures.residency, budgetBytes: r.measures.budgetBytes })),
  );
  let html = '<h2>Timeline</h2>';
  input.runs.forEach((r, i) => {
    html += stepChartSvg(r.measures.steps, `Per-step latency and cosine — ${roleOf(i)}`, stepAxes);
  });
  html += '<h2>Block residency</h2>';
  input.runs.forEach((r, i) => {
    html += residencyChartSvg(
      r.measures.residency,
      r.measures.budgetBytes,
      `Resident block memory — ${roleOf(i)}`,
      residencyAxes,
      r.measures.blocks,
    );
  });
  html += '<h2>Phases</h2>';
  html += phaseChartSvg(input.runs.map((r, i) => ({ label: roleOf(i), phases: r.measures.phases })));
  return html;
}

function blocksTable(input: ReportInput): string {
  return (
    '<h2>Blocks</h2>' +
    input.runs
      .map(
        (r, i) =>
          `<p><b>${roleOf(i)}</b></p><table>` +
          row(['block', 'bytes', 'loads', 'load ms', 'computes', 'compute ms', 'releases', 'ran on'], true) +
          r.measures.blocks
            .map(
              (b) =>
                `<tr><td>${escapeXml(b.block)}</td><td class="num">${b.bytes}</td><td class="num">${b.loads}</td>` +
                `<td class="num">${b.loadMs.toFixed(1)}</td><td class="num">${b.computes}</td>` +
                `<td class="num">${b.computeMs.toFixed(1)}</td><td class="num">${b.releases}</td>` +
                `<td>${b.placement === null ? '—' : PLACEMENT_LABELS[b.placement]}</td></tr>`,
            )
            .join('') +
          '</table>',
      )
      .join('')
  );
}

/**
 * The start of a self-contained report document (the run report's and the sweep report's): doctype, the offline
 * CSP, no referrer, `title`, the report's own `style`, and the title as its heading.
 */
export function reportDocumentStart(title: string, style: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">` +
    '<meta name="referrer" content="no-referrer">' +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeXml(title)}</title>` +
    `<style>${style}</style></head><body>` +
    `<h1>${escapeXml(title)}</h1>`
  );
}

/** The whole report as one HTML document. */
export function buildReportHtml(input: ReportInput): string {
  const target = input.runs[0];
  const title = `On-device Sora report — ${target?.summary.label ?? target?.params.prompt ?? 'run'}`;
  return (
    reportDocumentStart(title, STYLE) +
    `<p class="muted">Prompt: “${escapeXml(target?.params.prompt ?? '')}” — ${input.runs.length === 2 ? 'run and baseline' : 'one run'}</p>` +
    summaryTable(input) +
    chartsSection(input) +
    framesSection(input) +
    blocksTable(input) +
    paramsSection(input) +
    provenanceSection(input) +
    '</body></html>\n'
  );
}
