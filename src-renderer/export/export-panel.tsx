// Export: the report folder's files through `reports.export` (HTML, JSON, CSV, GIF, a Chrome / Perfetto trace per
// run; PDF where the host prints), the video as MP4 through WebCodecs (GIF where WebCodecs is missing), and
// "Print / Save as PDF" in web mode. Every file of one panel goes into one report folder: the first export makes
// it, the later ones add to it (the MP4, encoded here, is sent to it piece by piece with `reports.putVideo`).
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import {
  REPORT_VIDEO_CHUNK_CHARS,
  type ReportFormat,
  type StudioApi,
} from '../../shared/protocol/studio-contract';
import { formatBytes } from '../../shared/format';
import { errorText } from '../studio/format';
import { appInfoQuery, fetchAllFrames, runQuery } from '../studio/queries';
import { useRunStore, useStudio } from '../studio/studio-context';

/** One link the panel shows. */
interface ExportLink {
  format: string;
  name: string;
  url: string;
  bytes: number;
  note?: string;
}

/** `bytes` as base64, in pieces of at most `chunkChars` characters (a multiple of 4, so each piece decodes alone). */
function base64Pieces(bytes: Uint8Array, chunkChars = REPORT_VIDEO_CHUNK_CHARS): string[] {
  const perPiece = Math.floor(chunkChars / 4) * 3;
  const pieces: string[] = [];
  for (let at = 0; at < bytes.length || pieces.length === 0; at += perPiece) {
    let text = '';
    const part = bytes.subarray(at, at + perPiece);
    for (let i = 0; i < part.length; i += 0x8000)
      text += String.fromCharCode(...part.subarray(i, i + 0x8000));
    pieces.push(btoa(text));
  }
  return pieces;
}

/** Sends an MP4 into the report folder (a new one when `reportId` is null); resolves with the stored file. */
async function putVideo(
  api: StudioApi,
  runIds: [string] | [string, string],
  reportId: string | null,
  mp4: Uint8Array,
) {
  const pieces = base64Pieces(mp4);
  let id = reportId;
  let offset = 0;
  for (let i = 0; i < pieces.length; i++) {
    const data = pieces[i]!;
    const result = await api.putReportVideo({
      runIds,
      reportId: id,
      offset,
      data,
      done: i === pieces.length - 1,
    });
    id = result.reportId;
    offset += (data.length / 4) * 3 - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0);
    if (result.file !== null) return result;
  }
  throw new Error('the studio did not store the video');
}

/**
 * Export buttons for `runIds` (`[run]` or `[run, baseline]`, or any two runs compared) and the resulting links.
 * The video holds the runs side by side (A | B), each labelled with its device, at the frame rate the run reported.
 */
export function ExportPanel({ runIds }: { runIds: [string] | [string, string] }) {
  const { api, readOnly } = useStudio();
  const info = useQuery(appInfoQuery(api));
  const store = useRunStore(runIds[0]);
  const detailA = useQuery(runQuery(api, runIds[0]));
  const detailB = useQuery({ ...runQuery(api, runIds[1] ?? '-'), enabled: runIds[1] !== undefined });
  const [links, setLinks] = useState<ExportLink[]>([]);
  // The report folder this panel writes into (made by its first export).
  const reportId = useRef<string | null>(null);
  const add = (l: ExportLink[]): void =>
    setLinks((prev) => [...prev.filter((p) => !l.some((n) => n.name === p.name)), ...l]);
  const exportReport = async (formats: ReportFormat[]) => {
    const result = await api.exportReport({
      runIds,
      formats,
      ...(reportId.current !== null ? { reportId: reportId.current } : {}),
    });
    reportId.current = result.reportId;
    return result;
  };
  const report = useMutation({
    mutationFn: async (format: ReportFormat) => {
      const result = await exportReport([format]);
      return result.files.map((f) => ({ format: f.format, name: f.name, url: f.url, bytes: f.bytes }));
    },
    onSuccess: add,
  });
  const print = useMutation({
    mutationFn: async () => {
      if (info.data?.platform === 'electron') {
        const result = await exportReport(['pdf']);
        return result.files.map((f) => ({ format: f.format, name: f.name, url: f.url, bytes: f.bytes }));
      }
      // In a browser the report is printed by the browser: open the HTML report and use Print → Save as PDF.
      const result = await exportReport(['html']);
      const html = result.files.find((f) => f.format === 'html');
      if (html === undefined) throw new Error('the studio wrote no HTML report');
      window.open(html.url, '_blank', 'noopener');
      return [
        {
          format: 'pdf',
          name: html.name,
          url: html.url,
          bytes: html.bytes,
          note: 'opens the report: Print → Save as PDF',
        },
      ];
    },
    onSuccess: add,
  });
  const video = useMutation({
    mutationFn: async (): Promise<ExportLink[]> => {
      if (typeof VideoEncoder === 'undefined') {
        const result = await exportReport(['gif']);
        return result.files.map((f) => ({
          format: 'gif',
          name: f.name,
          url: f.url,
          bytes: f.bytes,
          note: 'no WebCodecs here: GIF instead',
        }));
      }
      // The frame rate the run's video has (run.finished), not a default.
      const fps = store?.view.finished?.fps;
      if (fps === undefined) throw new Error('the run’s frame rate is not known yet: try again in a moment');
      const names = [detailA.data?.device.name, detailB.data?.device.name];
      const labels =
        runIds.length === 1
          ? [names[0] ?? runIds[0]]
          : [
              `A · ${names[0] ?? runIds[0]}`,
              `B · ${names[1] ?? runIds[1]}${detailB.data?.baselineOf === runIds[0] ? ' (baseline)' : ''}`,
            ];
      // mediabunny is loaded only when a video is asked for (it is most of the bundle's size).
      const { encodeMp4 } = await import('./video-export');
      const sides = await Promise.all(
        runIds.map(async (id, i) => ({
          label: labels[i]!,
          frames: (await fetchAllFrames(api, id, 'final')).frames,
        })),
      );
      const encoded = await encodeMp4(sides, fps);
      const mp4 = new Uint8Array(await encoded.blob.arrayBuffer());
      const stored = await putVideo(api, runIds, reportId.current, mp4);
      reportId.current = stored.reportId;
      const file = stored.file!;
      return [
        {
          format: 'mp4',
          name: file.name,
          url: file.url,
          bytes: file.bytes,
          note:
            `${encoded.codec === 'avc' ? 'H.264' : 'VP9'} ${encoded.width}×${encoded.height}, ` +
            `${encoded.frames} frames at ${encoded.fps} fps${runIds.length === 2 ? ', A | B' : ''}`,
        },
      ];
    },
    onSuccess: add,
  });
  const busy = report.isPending || print.isPending || video.isPending;
  const failed = [report, print, video].find((m) => m.isError);
  return (
    <section className="export card" aria-label="Export">
      <h2>Export</h2>
      {!readOnly && (
        <div className="export-buttons">
          {(['html', 'json', 'csv', 'gif'] as const).map((f) => (
            <button
              key={f}
              type="button"
              data-testid={`export-${f}`}
              disabled={busy}
              onClick={() => report.mutate(f)}
            >
              {f.toUpperCase()}
            </button>
          ))}
          <button
            type="button"
            data-testid="export-trace"
            disabled={busy}
            title="Each run as a Chrome / Perfetto trace (ui.perfetto.dev, chrome://tracing)"
            onClick={() => report.mutate('trace')}
          >
            Trace
          </button>
          <button type="button" data-testid="export-video" disabled={busy} onClick={() => video.mutate()}>
            Video (MP4)
          </button>
          <button type="button" data-testid="export-pdf" disabled={busy} onClick={() => print.mutate()}>
            Print / Save as PDF
          </button>
        </div>
      )}
      {failed !== undefined && (
        <p className="error" role="alert">
          {errorText(failed.error)}
        </p>
      )}
      {links.length > 0 && (
        <ul className="export-links">
          {links.map((l) => (
            <li key={l.name}>
              <a
                data-testid="export-result"
                href={l.url}
                data-format={l.format}
                download={l.format === 'mp4' || l.format === 'trace' ? l.name : undefined}
                target="_blank"
                rel="noopener"
              >
                {l.name}
              </a>{' '}
              <span className="muted">
                {l.format.toUpperCase()} · {formatBytes(l.bytes)}
                {l.note !== undefined ? ` · ${l.note}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
