// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryScreen } from '../../../../src-renderer/history/history-screen';
import { FakeStudio, renderWithStudio } from '../helpers/fake-studio';
import { recordedRun } from '../helpers/recorded-runs';

afterEach(cleanup);

describe('History', () => {
  it('lists runs, marks interrupted ones, deletes an ended run, and leads to replay, rerun and compare', async () => {
    const studio = new FakeStudio();
    const paper = recordedRun('paper-defaults');
    studio.addRun('done', paper);
    studio.addRun('cut', paper, 40, {});
    const cut = studio.runs.get('cut');
    if (cut === undefined) throw new Error('missing run');
    cut.summary.state = 'interrupted';
    cut.summary.stream = 'detached';
    cut.summary.interruption = { reason: 'device-lost', atEpochMs: 1 };
    studio.overrides['runs.delete'] = ({ runId }) => {
      studio.runs.delete(runId);
      return { deleted: true };
    };
    renderWithStudio(<HistoryScreen />, studio);
    const rows = await screen.findAllByTestId('history-row');
    expect(rows.map((r) => [r.dataset.runId, r.dataset.state, r.dataset.interrupted])).toEqual([
      ['cut', 'interrupted', 'true'],
      ['done', 'finished', 'false'],
    ]);
    expect(within(rows[0] as HTMLElement).getByText(/device-lost/)).toBeTruthy();
    // Each row says what the run asked for (read with runs.get).
    await within(rows[1] as HTMLElement).findByText(/30 steps · LPL 16\/30 · TDTM 15 · CI-DL 50 % · seed 1/);

    fireEvent.click(within(rows[1] as HTMLElement).getByTestId('history-open'));
    expect(window.location.hash).toBe('#/live/done');
    fireEvent.click(within(rows[1] as HTMLElement).getByTestId('history-rerun'));
    expect(window.location.hash).toBe('#/composer/rerun/done');
    for (const row of rows) fireEvent.click(within(row).getByTestId('history-compare-select'));
    fireEvent.click(screen.getByText('Compare the two selected runs'));
    expect(window.location.hash).toBe('#/compare/cut/done');

    await act(async () => fireEvent.click(within(rows[0] as HTMLElement).getByTestId('history-delete')));
    await waitFor(() => expect(screen.getAllByTestId('history-row')).toHaveLength(1));
    expect(studio.callsOf('runs.delete')).toEqual([{ runId: 'cut' }]);
  });
});
