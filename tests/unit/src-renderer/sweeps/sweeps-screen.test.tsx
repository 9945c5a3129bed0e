// @vitest-environment happy-dom
// The Sweeps screen against a fake studio: the builder shows the runner's messages, then the count and ETA, and
// starts the spec it shows; the view follows `sweep.updated` by patching its journal with the pushed deltas (one
// `sweeps.get`, not one per event; again only after a missed event), pauses, and its table lists a row's runs;
// Export report is offered once a measured run finished and links the files the studio wrote.
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { StudioEvent, SweepSummary } from '../../../../shared/protocol/studio-contract';
import { expandSweep, sweepFingerprint } from '../../../../shared/sweep/expand';
import { newSweepJournal, type SweepJournal } from '../../../../shared/sweep/journal';
import { SweepJournalDiff } from '../../../../shared/sweep/delta';
import { parseSweepSpec, type SweepSpec } from '../../../../shared/sweep/spec';
import { sweepPointStats } from '../../../../shared/sweep/stats';
import { SweepsScreen } from '../../../../src-renderer/sweeps/sweeps-screen';
import { FakeStudio, renderWithStudio } from '../helpers/fake-studio';

afterEach(cleanup);

const spec: SweepSpec = parseSweepSpec({
  format: 'odsora-sweep',
  version: 1,
  name: 'grid',
  base: { steps: 6 },
  axes: { 'tdtm.mergeSteps': [0, 2] },
  prompts: ['a red ball'],
  seeds: [5],
  devices: [{ id: 'builtin', builtin: true }],
});

function summary(journal: SweepJournal, patch: Partial<SweepSummary> = {}): SweepSummary {
  const finished = journal.runs.filter((r) => r.status === 'finished').length;
  return {
    sweepId: 's1',
    name: 'grid',
    state: journal.state,
    activity: journal.state === 'running' ? 'running' : 'idle',
    createdAtEpochMs: 1,
    updatedAtEpochMs: 1,
    total: journal.runs.length,
    finished,
    failed: 0,
    devices: [{ device: 'builtin', total: journal.runs.length, finished, failed: 0, current: null }],
    error: null,
    ...patch,
  };
}

/** A journal with every run of `spec` finished (wall 100 ms, the baseline 200 ms). */
function finishedJournal(): SweepJournal {
  const j = newSweepJournal(spec, sweepFingerprint(spec), expandSweep(spec), 1);
  j.runs.forEach((r, i) => {
    r.status = 'finished';
    r.runFolder = `run-${i}`;
    const wallMs = r.kind === 'baseline' ? 200 : 100 + i;
    r.result = {
      wallMs,
      loadMs: 1,
      textMs: 1,
      denoiseMs: wallMs / 2,
      decodeMs: 1,
      stepsRun: 6,
      stepMs: 10,
      peakResidentBytes: null,
    };
  });
  j.state = 'finished';
  j.points = sweepPointStats(j);
  return j;
}

describe('Sweeps screen', () => {
  it('builds a spec, shows the count and ETA, and starts it', async () => {
    const studio = new FakeStudio();
    studio.devices[0]!.status = 'paired';
    studio.overrides['sweeps.list'] = () => ({ sweeps: [] });
    studio.overrides['sweeps.estimate'] = ({ spec: s }) => ({
      runs: { warmup: 0, baseline: 1, measured: 2, total: 3 },
      devices: [
        {
          device: s.devices[0]!.id,
          runs: 3,
          perRunMs: 1000,
          basis: 'median of 2 past run(s) with these steps and size',
        },
      ],
      etaMs: 3000,
    });
    let started: SweepSpec | null = null;
    studio.overrides['sweeps.start'] = ({ spec: s }) => {
      started = s;
      return { sweep: summary(newSweepJournal(s, 'f', expandSweep(s), 1)) };
    };
    renderWithStudio(<SweepsScreen sweepId={null} />, studio);
    await screen.findByTestId('sweep-builder');
    expect((await screen.findByTestId('sweep-problems')).textContent).toContain(
      'choose at least one paired device',
    );
    fireEvent.click(await screen.findByTestId('sweep-device'));
    fireEvent.change(screen.getByTestId('axis-tdtm-mergeSteps'), { target: { value: '0, 2' } });
    fireEvent.change(screen.getByTestId('sweep-warmup'), { target: { value: '0' } });
    await waitFor(() => expect(screen.getByTestId('sweep-count').dataset.total).toBe('3'));
    await waitFor(() => expect(screen.getByTestId('sweep-eta').textContent).toContain('ETA about'));
    fireEvent.click(screen.getByTestId('sweep-start'));
    await waitFor(() => expect(started).not.toBeNull());
    expect(started!.axes).toEqual({ 'tdtm.mergeSteps': [0, 2] });
    expect(started!.devices).toEqual([{ id: 'builtin', role: 'target', builtin: true }]);
    expect(window.location.hash).toBe('#/sweeps/s1');
  });

  it('follows sweep.updated, pauses, lists a row’s runs and exports the report', async () => {
    const studio = new FakeStudio();
    let journal = newSweepJournal(spec, 'f', expandSweep(spec), 1);
    let current = summary(journal);
    // The studio's side: a revision per push, each event the delta since the previous one.
    const epoch = '00c0ffee00c0ffee';
    let revision = 0;
    const diff = new SweepJournalDiff(journal);
    const next = (): Extract<StudioEvent, { type: 'sweep.updated' }> => ({
      type: 'sweep.updated',
      sweep: current,
      epoch,
      revision: ++revision,
      ...(diff.take(journal) ?? { journal: {}, runs: [] }),
    });
    const gets = () => studio.calls.filter((c) => c.command === 'sweeps.get').length;
    studio.overrides['sweeps.list'] = () => ({ sweeps: [current] });
    studio.overrides['sweeps.get'] = () => ({ sweep: current, journal, epoch, revision });
    studio.overrides['sweeps.pause'] = () => {
      current = { ...current, state: 'stopped', activity: 'idle' };
      return { sweep: current };
    };
    renderWithStudio(<SweepsScreen sweepId="s1" />, studio);
    await waitFor(() => expect(screen.getByTestId('sweep-done').dataset.finished).toBe('0'));
    expect(screen.queryByTestId('sweep-table')).toBeNull();
    expect((screen.getByTestId('sweep-export-report') as HTMLButtonElement).disabled).toBe(true);
    expect(gets()).toBe(1);

    const finished = finishedJournal();
    for (const [i, run] of finished.runs.entries()) {
      journal.runs[i] = run; // one run at a time, as the runner does
      current = summary(journal, { state: 'running', activity: 'running' });
      const event = next();
      act(() => studio.push(event));
      await waitFor(() => expect(screen.getByTestId('sweep-done').dataset.finished).toBe(String(i + 1)));
    }
    journal = finished;
    current = summary(journal, { state: 'running', activity: 'running' });
    act(() => studio.push(next()));
    await waitFor(() => expect(screen.getAllByTestId('sweep-row')).toHaveLength(2));
    expect(screen.getByTestId('sweep-done').dataset.finished).toBe('3');
    expect(gets()).toBe(1); // every event patched the journal the first read gave

    // A missed event (a revision gap): the journal is read again, once.
    current = { ...current, error: 'device builtin went away' };
    next();
    act(() => studio.push(next()));
    await waitFor(() => expect(gets()).toBe(2));
    await screen.findByText('device builtin went away');

    fireEvent.click(screen.getByTestId('sweep-pause'));
    await waitFor(() => expect(screen.getByTestId('sweep-state').dataset.state).toBe('stopped'));
    expect(screen.getByTestId('sweep-resume')).toBeTruthy();

    fireEvent.click(screen.getAllByTestId('sweep-row')[1]!);
    const runs = await screen.findAllByTestId('sweep-point-run');
    expect(runs).toHaveLength(1);
    fireEvent.click(screen.getByTestId('sweep-open-run'));
    expect(window.location.hash).toMatch(/^#\/live\/run-\d$/);

    const names = ['report.html', 'pareto.svg', 'parallel-coordinates.svg', 'sweep.csv', 'sweep-points.csv'];
    let asked: string | null = null;
    studio.overrides['sweeps.exportReport'] = ({ sweepId }) => {
      asked = sweepId;
      const dir = '/data/reports/20261207T104500-0123abcd';
      return {
        reportId: '20261207T104500-0123abcd',
        dir,
        files: names.map((name) => ({
          name,
          path: `${dir}/${name}`,
          bytes: 2048,
          url: `/reports/x/${name}`,
        })),
      };
    };
    const exportButton = screen.getByTestId('sweep-export-report') as HTMLButtonElement;
    expect(exportButton.disabled).toBe(false);
    fireEvent.click(exportButton);
    const links = await screen.findAllByTestId('sweep-export-result');
    expect(asked).toBe('s1');
    expect(links.map((a) => a.textContent)).toEqual(names);
    expect(links[0]!.getAttribute('href')).toBe('/reports/x/report.html');
    expect(links[0]!.hasAttribute('download')).toBe(false);
    expect(links[3]!.getAttribute('download')).toBe('sweep.csv');
  });
});
