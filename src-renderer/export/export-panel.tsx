// Export: the report folder's files through `reports.export` (HTML, JSON, CSV, GIF; PDF where the host prints),
// the video as MP4 through WebCodecs (GIF where WebCodecs is missing), and "Print / Save as PDF" in web mode.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { ReportFormat } from '../../shared/protocol/studio-contract';
import { errorText, formatBytes } from '../studio/format';
import { appInfoQuery, fetchAllFrames } from '../studio/queries';
import { useStudio } from '../studio/studio-context';

/** One link the panel shows. */
interface ExportLink {
  format: string;
  name: string;
  url: string;
  bytes: number;
  note?: string;
}

/** Export buttons for `runIds` (`[run]` or `[run, baseline]`) and the resulting links. */
export function ExportPanel({ runIds, fps }: { runIds: [string] | [string, string]; fps: number }) {
  const { api, readOnly } = useStudio();
  const info = useQuery(appInfoQuery(api));
  const [links, setLinks] = useState<ExportLink[]>([]);
  const add = (l: ExportLink[]): void =>
    setLinks((prev) => [...prev.filter((p) => !l.some((n) => n.format === p.format)), ...l]);
  const report = useMutation({
    mutationFn: async (format: ReportFormat) => {
      const result = await api.exportReport({ runIds, formats: [format] });
      return result.files.map((f) => ({ format: f.format, name: f.name, url: f.url, bytes: f.bytes }));
    },
    onSuccess: add,
  });
  const print = useMutation({
    mutationFn: async () => {
      if (info.data?.platform === 'electron') {
        const result = await api.exportReport({ runIds, formats: ['pdf'] });
        return result.files.map((f) => ({ format: f.format, name: f.name, url: f.url, bytes: f.bytes }));
      }
      // In a browser the report is printed by the browser: open the HTML report and use Print → Save as PDF.
      const result = await api.exportReport({ runIds, formats: ['html'] });
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
        const result = await api.exportReport({ runIds, formats: ['gif'] });
        return result.files.map((f) => ({
          format: 'gif',
          name: f.name,
          url: f.url,
          bytes: f.bytes,
          note: 'no WebCodecs here: GIF instead',
        }));
      }
      // mediabunny is loaded only when a video is asked for (it is most of the bundle's size).
      const { encodeMp4 } = await import('./video-export');
      const frames = await fetchAllFrames(api, runIds[0], 'final');
      const encoded = await encodeMp4(frames.frames, fps);
      return [
        {
          format: 'mp4',
          name: `${runIds[0]}.mp4`,
          url: URL.createObjectURL(encoded.blob),
          bytes: encoded.blob.size,
          note: `${encoded.codec === 'avc' ? 'H.264' : 'VP9'} ${encoded.width}×${encoded.height}, ${encoded.frames} frames`,
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
            <li key={l.format}>
              <a
                data-testid="export-result"
                href={l.url}
                data-format={l.format}
                download={l.format === 'mp4' ? l.name : undefined}
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
