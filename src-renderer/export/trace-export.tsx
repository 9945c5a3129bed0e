// "Export trace" where a run is shown (Live run, and History's reopen of a run): the run as a Chrome / Perfetto
// trace through `reports.export` (format `trace`), offered as `<runId>.trace.json` to download (docs/trace.md).
import { useMutation } from '@tanstack/react-query';
import { formatBytes } from '../../shared/format';
import { errorText } from '../studio/format';
import { useStudio } from '../studio/studio-context';

/** The Export trace button of one ended run, and the saved file's link once written. */
export function TraceExport({ runId }: { runId: string }) {
  const { api, readOnly } = useStudio();
  const trace = useMutation({
    mutationFn: async () => {
      const result = await api.exportReport({ runIds: [runId], formats: ['trace'] });
      const file = result.files.find((f) => f.format === 'trace');
      if (file === undefined) throw new Error('the studio wrote no trace');
      return file;
    },
  });
  if (readOnly) return null;
  return (
    <span className="trace-export">
      <button
        type="button"
        data-testid="export-trace-run"
        disabled={trace.isPending}
        title="Save the run as a Chrome / Perfetto trace (open it at ui.perfetto.dev or chrome://tracing)"
        onClick={() => trace.mutate()}
      >
        Export trace
      </button>
      {trace.data !== undefined && (
        <>
          {' '}
          <a
            data-testid="trace-result"
            href={trace.data.url}
            download={trace.data.name}
            target="_blank"
            rel="noopener"
          >
            {trace.data.name}
          </a>{' '}
          <span className="muted">{formatBytes(trace.data.bytes)} · open it at ui.perfetto.dev</span>
        </>
      )}
      {trace.isError && (
        <span className="error" role="alert">
          {errorText(trace.error)}
        </span>
      )}
    </span>
  );
}
