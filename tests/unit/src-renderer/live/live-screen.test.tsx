// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveScreen } from '../../../../src-renderer/live/live-screen';
import { FakeStudio, fakeDevice, renderWithStudio } from '../helpers/fake-studio';
import { recordedRun } from '../helpers/recorded-runs';

afterEach(cleanup);

const paper = recordedRun('paper-defaults');
const blocks = new Set(paper.events.flatMap(({ event }) => ('block' in event ? [event.block] : [])));
const stepEnds = paper.events.filter(({ event }) => event.type === 'step.end').length;

describe('Live run on a recorded paper-defaults run', () => {
  it('reopened after the run, shows the leap step, the merged steps, one lane per block and the phases', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-1', paper);
    renderWithStudio(<LiveScreen runId="run-1" />, studio);
    const timeline = screen.getByTestId('step-timeline');
    await waitFor(() => expect(timeline.getAttribute('data-steps-drawn')).toBe(String(stepEnds)));
    expect(timeline.getAttribute('data-leap-step')).toBe('15');
    expect(timeline.getAttribute('data-merged-steps')).toBe('15');
    expect(screen.getByText(/LPL leap at step 16/)).toBeTruthy(); // LPL 16/30: the engine index 15
    const lanes = screen.getByTestId('residency-lanes');
    expect(lanes.getAttribute('data-lanes')).toBe(String(blocks.size));
    await waitFor(() => expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('finished'));
    const phases = screen.getByTestId('phase-breakdown');
    for (const phase of ['text', 'denoise', 'decode']) {
      expect(phases.querySelector(`[data-phase="${phase}"] dd`)?.textContent).toMatch(/\d+ ms|\d\.\d+ s/);
    }
    expect(screen.queryByTestId('cancel-run')).toBeNull(); // a finished run has nothing to cancel
  });

  it('opened mid-run, catches up with runs.events and then follows the pushed events', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-2', paper, 100);
    renderWithStudio(<LiveScreen runId="run-2" />, studio);
    const lanes = screen.getByTestId('residency-lanes');
    const blockEventsIn = (n: number) =>
      paper.events.slice(0, n).filter(({ event }) => event.type.startsWith('block.')).length;
    await waitFor(() => expect(lanes.getAttribute('data-events-drawn')).toBe(String(blockEventsIn(100))));
    expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('running');
    expect(screen.getByTestId('cancel-run')).toBeTruthy();
    await act(async () => studio.stream('run-2', 300));
    await waitFor(() => expect(lanes.getAttribute('data-events-drawn')).toBe(String(blockEventsIn(400))));
    await act(async () => studio.stream('run-2', paper.events.length));
    const timeline = screen.getByTestId('step-timeline');
    await waitFor(() => expect(timeline.getAttribute('data-steps-drawn')).toBe(String(stepEnds)));
    expect(timeline.getAttribute('data-leap-step')).toBe('15');
    await waitFor(() => expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('finished'));
  });

  it('exports the ended run as a trace and offers <runId>.trace.json; a running run has no Export trace', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-6', paper, 100);
    studio.overrides['reports.export'] = () => ({
      reportId: '20261207T063000-0123abcd',
      dir: '/tmp/reports/x',
      files: [
        {
          format: 'trace',
          name: 'run-6.trace.json',
          path: '/tmp/reports/x/run-6.trace.json',
          bytes: 4096,
          url: '/reports/x/run-6.trace.json?token=t',
        },
      ],
    });
    renderWithStudio(<LiveScreen runId="run-6" />, studio);
    await waitFor(() => expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('running'));
    expect(screen.queryByTestId('export-trace-run')).toBeNull();
    await act(async () => studio.stream('run-6', paper.events.length));
    await act(async () => fireEvent.click(await screen.findByTestId('export-trace-run')));
    const link = await screen.findByTestId('trace-result');
    expect(link.getAttribute('download')).toBe('run-6.trace.json');
    expect(link.getAttribute('href')).toBe('/reports/x/run-6.trace.json?token=t');
    expect(studio.callsOf('reports.export')).toEqual([{ runIds: ['run-6'], formats: ['trace'] }]);
  });

  it('names, tags and notes the run from its header (runs.annotate)', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-n', paper);
    studio.overrides['runs.annotate'] = ({ runId, label, tags, notes }) => {
      const run = studio.runs.get(runId)!;
      run.summary = { ...run.summary, label: label ?? null, tags: tags ?? [], notes: notes ?? '' };
      return { run: run.summary };
    };
    renderWithStudio(<LiveScreen runId="run-n" />, studio);
    fireEvent.click(await screen.findByTestId('live-edit-notes'));
    fireEvent.change(screen.getByTestId('run-name-input'), { target: { value: 'paper defaults' } });
    fireEvent.change(screen.getByTestId('run-tags-input'), { target: { value: 'paper' } });
    await act(async () => fireEvent.click(screen.getByTestId('run-notes-save')));
    expect(studio.callsOf('runs.annotate')).toEqual([
      { runId: 'run-n', label: 'paper defaults', tags: ['paper'], notes: '' },
    ]);
    await waitFor(() => expect(screen.getByTestId('live-run-name').textContent).toBe('paper defaults'));
  });

  it('shows the thermal state at the start, the device’s now while running, and the end once ended', async () => {
    // The recording as a protocol-3 device stamps it: fair at run.started, serious on run.finished.
    const hot = {
      ...paper,
      events: paper.events.map(({ seq, event }) =>
        event.type === 'run.started'
          ? { seq, event: { ...event, thermal: 'fair' as const } }
          : event.type === 'run.finished'
            ? { seq, event: { ...event, thermal: 'serious' as const } }
            : { seq, event },
      ),
    };
    const studio = new FakeStudio();
    studio.devices = [fakeDevice({ thermalState: 'nominal' })];
    studio.addRun('run-t', hot, 100);
    renderWithStudio(<LiveScreen runId="run-t" />, studio);
    const badge = await screen.findByTestId('thermal-badge');
    await waitFor(() => expect(badge.textContent).toBe('thermal: start fair · now nominal'));
    act(() => studio.push({ type: 'devices.changed', devices: [fakeDevice({ thermalState: 'critical' })] }));
    await waitFor(() => expect(badge.textContent).toBe('thermal: start fair · now critical'));
    expect(badge.getAttribute('data-thermal')).toBe('critical');
    await act(async () => studio.stream('run-t', hot.events.length));
    await waitFor(() =>
      expect(screen.getByTestId('thermal-badge').textContent).toBe('thermal: start fair · end serious'),
    );
    expect(screen.getByTestId('thermal-badge').getAttribute('data-thermal')).toBe('serious');
  });

  it('says unknown for a run whose device did not report its thermal state', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-u', paper);
    renderWithStudio(<LiveScreen runId="run-u" />, studio);
    await waitFor(() => expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('finished'));
    expect(screen.getByTestId('thermal-badge').textContent).toBe('thermal: start unknown · end unknown');
  });

  it('hides cancel on the read-only mirror', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-3', paper, 50);
    renderWithStudio(<LiveScreen runId="run-3" />, studio, { readOnly: true });
    await waitFor(() => expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('running'));
    expect(screen.queryByTestId('cancel-run')).toBeNull();
  });

  it('replays a stored run at its recorded pace and ends where the run ended', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-4', paper);
    renderWithStudio(<LiveScreen runId="run-4" />, studio);
    const timeline = () => screen.getByTestId('step-timeline');
    await waitFor(() => expect(timeline().getAttribute('data-steps-drawn')).toBe(String(stepEnds)));
    await act(async () => fireEvent.click(screen.getByTestId('replay-run')));
    await screen.findByText(/replaying the stored events/);
    // Part-way through, the timeline shows fewer steps than the run had...
    await waitFor(() => expect(Number(timeline().getAttribute('data-steps-drawn'))).toBeLessThan(stepEnds));
    // ...and at the end the same picture as the stored run.
    await waitFor(() => expect(screen.queryByText(/replaying the stored events/)).toBeNull(), {
      timeout: 10_000,
    });
    expect(timeline().getAttribute('data-steps-drawn')).toBe(String(stepEnds));
    expect(timeline().getAttribute('data-leap-step')).toBe('15');
    expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('finished');
  });

  it('shows each live preview as it arrives (preview.ready, then runs.frames)', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-5', paper, 120);
    renderWithStudio(<LiveScreen runId="run-5" />, studio);
    await waitFor(() => expect(screen.getByTestId('run-state').getAttribute('data-state')).toBe('running'));
    expect(screen.queryByTestId('preview-frame')).toBeNull();
    const preview = (seq: number, step: number) =>
      studio.push({
        type: 'run.event',
        runId: 'run-5',
        seq,
        event: { type: 'preview.ready', atMs: 1, step, frames: 16, width: 32, height: 32, format: 'png' },
      });
    act(() => preview(121, 4));
    const img = await screen.findByTestId('preview-frame');
    expect(img.getAttribute('data-preview-index')).toBe('0');
    expect(img.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    act(() => preview(122, 9));
    await waitFor(() =>
      expect(screen.getByTestId('preview-frame').getAttribute('data-preview-index')).toBe('1'),
    );
    expect(screen.getByText(/Preview · step 9/)).toBeTruthy();
    expect(studio.callsOf('runs.frames')).toContainEqual({
      runId: 'run-5',
      which: 'preview',
      from: 0,
      limit: 256,
    });
  });
});
