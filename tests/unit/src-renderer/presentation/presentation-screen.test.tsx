// @vitest-environment happy-dom
import { cleanup, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { PresentationScreen } from '../../../../src-renderer/presentation/presentation-screen';
import { FakeStudio, renderWithStudio } from '../helpers/fake-studio';
import { recordedRun } from '../helpers/recorded-runs';

afterEach(cleanup);

const paper = recordedRun('paper-defaults');
const baseline = recordedRun('baseline');

describe('Presentation', () => {
  it('puts the run next to its baseline with step, elapsed, speedup and memory in large type', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-a', paper, undefined, { baselineRunId: 'run-b' });
    studio.addRun('run-b', baseline, undefined, { baselineOf: 'run-a' });
    renderWithStudio(<PresentationScreen runId="run-b" />, studio); // opened on the baseline: same view
    const stepsRun = paper.events.filter(({ event }) => event.type === 'step.end').length;
    await waitFor(() => expect(screen.getByTestId('pres-step').textContent).toBe(`${stepsRun} / 30`));
    const speedup = (baseline.wallMs / paper.wallMs).toFixed(2);
    await waitFor(() => expect(screen.getByTestId('pres-speedup').textContent).toBe(`${speedup}×`));
    expect(screen.getByTestId('pres-elapsed').textContent).toMatch(/\d/);
    expect(screen.getByTestId('pres-memory').textContent).toMatch(/KiB|MiB/);
    expect(screen.getAllByTestId('step-timeline')).toHaveLength(2);
    const [mine, theirs] = screen.getAllByTestId('step-timeline');
    await waitFor(() => expect(mine?.getAttribute('data-leap-step')).toBe('15'));
    expect(theirs?.getAttribute('data-leap-step')).toBe('');
    expect(theirs?.getAttribute('data-steps-drawn')).toBe('30');
  });

  it('draws both sides on shared axes: one latency axis and one byte axis for the run and its baseline', async () => {
    const studio = new FakeStudio();
    studio.addRun('run-a', paper, undefined, { baselineRunId: 'run-b' });
    studio.addRun('run-b', baseline, undefined, { baselineOf: 'run-a' });
    renderWithStudio(<PresentationScreen runId="run-a" />, studio);
    // What the recorded logs say: the slowest step and the highest resident bytes of either run.
    const slowest = (r: typeof paper): number =>
      Math.max(...r.events.map(({ event }) => (event.type === 'step.end' ? event.latencyMs : 0)));
    const peak = (r: typeof paper): number =>
      Math.max(...r.events.map(({ event }) => ('residentBytes' in event ? event.residentBytes : 0)));
    const latencyTop = String(Math.max(slowest(paper), slowest(baseline)));
    const bytesTop = Math.max(peak(paper), peak(baseline));
    expect(slowest(paper)).not.toBe(slowest(baseline)); // else the test could not tell shared from own axes
    expect(peak(paper)).not.toBe(peak(baseline));
    await waitFor(() => {
      const timelines = screen.getAllByTestId('step-timeline');
      expect(timelines.map((t) => t.getAttribute('data-latency-top-ms'))).toEqual([latencyTop, latencyTop]);
      const lanes = screen.getAllByTestId('residency-lanes');
      const [a, b] = lanes.map((l) => Number(l.getAttribute('data-bytes-top')));
      expect(a).toBe(b);
      // The axis fits the higher curve (or the budget when it is close above it).
      expect(a).toBeGreaterThanOrEqual(bytesTop);
      expect(a).toBeLessThanOrEqual(bytesTop * 1.5);
    });
  });

  it('says a baseline is missing rather than showing empty numbers as results', async () => {
    const studio = new FakeStudio();
    studio.addRun('solo', paper, 200);
    renderWithStudio(<PresentationScreen runId="solo" />, studio);
    await screen.findByText(/No baseline run yet/);
    expect(screen.getByTestId('pres-speedup').textContent).toBe('—');
  });
});
