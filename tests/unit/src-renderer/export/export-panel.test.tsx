// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReportFormat } from '../../../../shared/protocol/studio-contract';
import { ExportPanel } from '../../../../src-renderer/export/export-panel';
import { FakeStudio, renderWithStudio } from '../helpers/fake-studio';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

function fakeReports(studio: FakeStudio) {
  studio.overrides['reports.export'] = ({ formats }) => ({
    reportId: '20261207T063000-0123abcd',
    dir: '/tmp/reports/r1',
    files: formats.map((format: ReportFormat) => ({
      format,
      name: `report.${format}`,
      path: `/tmp/reports/r1/report.${format}`,
      bytes: 2048,
      url: `/reports/r1/report.${format}?token=t`,
    })),
  });
}

describe('Export', () => {
  it('exports each format for the run and its baseline and links the files', async () => {
    const studio = new FakeStudio();
    fakeReports(studio);
    renderWithStudio(<ExportPanel runIds={['run-a', 'run-b']} />, studio);
    await act(async () => fireEvent.click(screen.getByTestId('export-html')));
    const link = await screen.findByTestId('export-result');
    expect(link.getAttribute('data-format')).toBe('html');
    expect(link.getAttribute('href')).toBe('/reports/r1/report.html?token=t');
    await act(async () => fireEvent.click(screen.getByTestId('export-csv')));
    await waitFor(() => expect(screen.getAllByTestId('export-result')).toHaveLength(2));
    // One report folder: the second export adds to the folder the first made.
    expect(studio.callsOf('reports.export')).toEqual([
      { runIds: ['run-a', 'run-b'], formats: ['html'] },
      { runIds: ['run-a', 'run-b'], formats: ['csv'], reportId: '20261207T063000-0123abcd' },
    ]);
  });

  it('in a browser, "Print / Save as PDF" opens the HTML report for the browser to print', async () => {
    const studio = new FakeStudio();
    fakeReports(studio);
    const open = vi.spyOn(window, 'open').mockImplementation(() => null);
    renderWithStudio(<ExportPanel runIds={['run-a']} />, studio);
    await waitFor(() => expect(studio.callsOf('app.info')).toHaveLength(1));
    await act(async () => fireEvent.click(screen.getByTestId('export-pdf')));
    await waitFor(() =>
      expect(open).toHaveBeenCalledWith('/reports/r1/report.html?token=t', '_blank', 'noopener'),
    );
    expect(studio.callsOf('reports.export')).toEqual([{ runIds: ['run-a'], formats: ['html'] }]);
  });

  it('falls back to the GIF where WebCodecs cannot encode video', async () => {
    const studio = new FakeStudio();
    fakeReports(studio);
    expect(typeof (globalThis as { VideoEncoder?: unknown }).VideoEncoder).toBe('undefined');
    renderWithStudio(<ExportPanel runIds={['run-a']} />, studio);
    await act(async () => fireEvent.click(screen.getByTestId('export-video')));
    const link = await screen.findByTestId('export-result');
    expect(link.getAttribute('data-format')).toBe('gif');
    expect(link.parentElement?.textContent).toMatch(/no WebCodecs here/);
  });

  it('saves a trace of each run, both offered as <runId>.trace.json downloads', async () => {
    const studio = new FakeStudio();
    studio.overrides['reports.export'] = ({ runIds }) => ({
      reportId: '20261207T063000-0123abcd',
      dir: '/tmp/reports/r1',
      files: runIds.map((id: string) => ({
        format: 'trace',
        name: `${id}.trace.json`,
        path: `/tmp/reports/r1/${id}.trace.json`,
        bytes: 4096,
        url: `/reports/r1/${id}.trace.json?token=t`,
      })),
    });
    renderWithStudio(<ExportPanel runIds={['run-a', 'run-b']} />, studio);
    await act(async () => fireEvent.click(screen.getByTestId('export-trace')));
    await waitFor(() => expect(screen.getAllByTestId('export-result')).toHaveLength(2));
    const links = screen.getAllByTestId('export-result');
    expect(links.map((l) => [l.getAttribute('data-format'), l.getAttribute('download')])).toEqual([
      ['trace', 'run-a.trace.json'],
      ['trace', 'run-b.trace.json'],
    ]);
    expect(studio.callsOf('reports.export')).toEqual([{ runIds: ['run-a', 'run-b'], formats: ['trace'] }]);
  });

  it('shows no export buttons on the read-only mirror', () => {
    renderWithStudio(<ExportPanel runIds={['run-a']} />, new FakeStudio(), { readOnly: true });
    expect(screen.queryByTestId('export-html')).toBeNull();
    expect(screen.queryByTestId('export-video')).toBeNull();
  });
});
