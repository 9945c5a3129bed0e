// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryScreen } from '../../../../src-renderer/history/history-screen';
import { FakeStudio, renderWithStudio } from '../helpers/fake-studio';
import { recordedRun } from '../helpers/recorded-runs';
import { formatMs } from '../../../../src-renderer/studio/format';

afterEach(cleanup);

describe('History', () => {
  it("shows a run's event-log damage from its summary: no row asks for its run's detail", async () => {
    const studio = new FakeStudio();
    const paper = recordedRun('paper-defaults');
    studio.addRun('intact', paper);
    const damaged = studio.addRun('damaged', paper);
    damaged.summary.eventLogProblem = 'events.jsonl: 1 unreadable line skipped (line 3)';
    renderWithStudio(<HistoryScreen />, studio);
    const rows = await screen.findAllByTestId('history-row');
    expect(rows.map((r) => r.dataset.runId)).toEqual(['damaged', 'intact']);
    expect(within(rows[0] as HTMLElement).getByTestId('history-event-log-problem').textContent).toBe(
      'events.jsonl: 1 unreadable line skipped (line 3)',
    );
    expect(within(rows[1] as HTMLElement).queryByTestId('history-event-log-problem')).toBeNull();
    expect(studio.callsOf('runs.get')).toEqual([]);
  });

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
    // Each row says what the run asked for (from its summary).
    await within(rows[1] as HTMLElement).findByText(/30 steps · LPL 16\/30 · TDTM 15 · CI-DL 50 % · seed 1/);

    fireEvent.click(within(rows[1] as HTMLElement).getByTestId('history-open'));
    expect(window.location.hash).toBe('#/live/done');
    fireEvent.click(within(rows[1] as HTMLElement).getByTestId('history-rerun'));
    expect(window.location.hash).toBe('#/composer/rerun/done');
    for (const row of rows) fireEvent.click(within(row).getByTestId('history-compare-select'));
    fireEvent.click(screen.getByTestId('history-compare'));
    expect(window.location.hash).toBe('#/compare/cut/done');

    await act(async () => fireEvent.click(within(rows[0] as HTMLElement).getByTestId('history-delete')));
    await waitFor(() => expect(screen.getAllByTestId('history-row')).toHaveLength(1));
    expect(studio.callsOf('runs.delete')).toEqual([{ runId: 'cut' }]);
  });

  it('names, tags and notes a run with runs.annotate, and searches, filters and sorts by them', async () => {
    const studio = new FakeStudio();
    const paper = recordedRun('paper-defaults');
    studio.addRun('slow', paper);
    studio.addRun('fast', paper);
    const fast = studio.runs.get('fast')!;
    const slow = studio.runs.get('slow')!;
    slow.summary.metrics = {
      wallMs: 900,
      denoiseMs: 800,
      medianStepMs: 30,
      peakResidentBytes: 10,
      frames: 16,
    };
    fast.summary.metrics = {
      wallMs: 300,
      denoiseMs: 250,
      medianStepMs: 10,
      peakResidentBytes: 20,
      frames: 16,
    };
    studio.overrides['runs.annotate'] = ({ runId, label, tags, notes }) => {
      const run = studio.runs.get(runId)!;
      if (label !== undefined) run.summary.label = label;
      if (tags !== undefined) run.summary.tags = tags;
      if (notes !== undefined) run.summary.notes = notes;
      return { run: run.summary };
    };
    renderWithStudio(<HistoryScreen />, studio);
    const ids = async (): Promise<(string | undefined)[]> =>
      (await screen.findAllByTestId('history-row')).map((r) => r.dataset.runId);
    expect(await ids()).toEqual(['fast', 'slow']);

    const fastRow = (await screen.findAllByTestId('history-row'))[0] as HTMLElement;
    fireEvent.click(within(fastRow).getByTestId('history-edit'));
    fireEvent.change(within(fastRow).getByTestId('run-name-input'), { target: { value: ' quick one ' } });
    fireEvent.change(within(fastRow).getByTestId('run-tags-input'), { target: { value: 'bad tag!' } });
    expect(within(fastRow).getByTestId('run-tags-error').textContent).toMatch(/tags: “tag!”: must be 1-64/);
    fireEvent.change(within(fastRow).getByTestId('run-tags-input'), { target: { value: 'lpl, sweep:s1' } });
    fireEvent.change(within(fastRow).getByTestId('run-notes-input'), { target: { value: 'leap too early' } });
    await act(async () => fireEvent.click(within(fastRow).getByTestId('run-notes-save')));
    expect(studio.callsOf('runs.annotate')).toEqual([
      { runId: 'fast', label: 'quick one', tags: ['lpl', 'sweep:s1'], notes: 'leap too early' },
    ]);
    await screen.findByText('quick one');
    expect(screen.getAllByTestId('history-tag').map((t) => t.textContent)).toEqual(['lpl', 'sweep:s1']);

    // Sort by wall time (ascending, then descending).
    fireEvent.click(screen.getByTestId('history-sort-wallMs'));
    expect(await ids()).toEqual(['fast', 'slow']);
    fireEvent.click(screen.getByTestId('history-sort-wallMs'));
    expect(await ids()).toEqual(['slow', 'fast']);
    expect(screen.getAllByTestId('history-metric-wallMs').map((c) => c.textContent)).toEqual([
      formatMs(900),
      formatMs(300),
    ]);

    // Filter by tag, then search the notes.
    fireEvent.change(screen.getByTestId('history-filter-tag'), { target: { value: 'sweep:s1' } });
    expect(await ids()).toEqual(['fast']);
    fireEvent.change(screen.getByTestId('history-filter-tag'), { target: { value: '' } });
    fireEvent.change(screen.getByTestId('history-search'), { target: { value: 'EARLY' } });
    expect(await ids()).toEqual(['fast']);
    fireEvent.change(screen.getByTestId('history-search'), { target: { value: 'nothing like it' } });
    await screen.findByTestId('history-no-match');
  });

  it('compares 2 to 4 selected runs', async () => {
    const studio = new FakeStudio();
    const paper = recordedRun('paper-defaults');
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) studio.addRun(id, paper);
    renderWithStudio(<HistoryScreen />, studio);
    const rows = await screen.findAllByTestId('history-row');
    const button = screen.getByTestId('history-compare') as HTMLButtonElement;
    fireEvent.click(within(rows[0] as HTMLElement).getByTestId('history-compare-select'));
    expect(button.disabled).toBe(true);
    for (const row of rows.slice(1)) fireEvent.click(within(row).getByTestId('history-compare-select'));
    // A fifth pick drops the oldest pick: at most four.
    expect(screen.getByTestId('history-selected-count').textContent).toMatch(/4 selected/);
    fireEvent.click(button);
    expect(window.location.hash).toBe('#/compare/r4/r3/r2/r1');
  });
});
