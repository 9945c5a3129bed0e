// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ComposerScreen } from '../../../../src-renderer/composer/composer-screen';
import { FakeStudio, fakeDevice, renderWithStudio } from '../helpers/fake-studio';
import { recordedRun } from '../helpers/recorded-runs';
import { testRunSummary } from '../../../helpers/studio-fixtures';

afterEach(cleanup);

function value(testId: string): string {
  return (screen.getByTestId(testId) as HTMLInputElement).value;
}

function fakePreflight(studio: FakeStudio) {
  studio.overrides['devices.preflight'] = ({ params }) => {
    const budget = params.cidl?.budget;
    const fits = budget?.kind !== 'bytes' || budget.bytes >= 1000;
    return {
      budgetBytes: budget?.kind === 'bytes' ? budget.bytes : null,
      predictedPeakBytes: 1000,
      totalBlockBytes: 4000,
      availableBytes: 1 << 30,
      fits,
      blocks: 30,
      notes: ['test plan'],
    };
  };
}

describe('Composer', () => {
  it('presets set the documented values in the form', async () => {
    const studio = new FakeStudio();
    fakePreflight(studio);
    renderWithStudio(<ComposerScreen rerunOf={null} />, studio);
    fireEvent.click(screen.getByTestId('preset-baseline'));
    expect(value('lpl-mode')).toBe('off');
    expect(value('tdtm-merge-steps')).toBe('0');
    expect((screen.getByTestId('cidl-enabled') as HTMLInputElement).checked).toBe(false);
    fireEvent.click(screen.getByTestId('preset-paper'));
    expect(value('steps-input')).toBe('30');
    expect(value('lpl-mode')).toBe('fixed');
    expect(value('lpl-leap-step')).toBe('16');
    expect(screen.getByTestId('lpl-leap-step-label').textContent).toBe('LPL 16/30');
    expect(value('tdtm-merge-steps')).toBe('15');
    expect((screen.getByTestId('cidl-enabled') as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByTestId('preset-demo'));
    expect(value('steps-input')).toBe('20');
    expect(value('cidl-budget')).toBe('50%');
  });

  it('marks the prompt words the device model does not know and offers the ones it knows', async () => {
    const studio = new FakeStudio();
    const vocabulary = ['a', 'on', 'background', 'moving', 'red', 'circle', 'square', 'left', 'black'];
    studio.overrides['devices.preflight'] = ({ params }) => ({
      budgetBytes: null,
      predictedPeakBytes: 1000,
      totalBlockBytes: 4000,
      availableBytes: 1 << 30,
      fits: true,
      blocks: 30,
      notes: [],
      prompt: {
        unknownWords: [...new Set(params.prompt.toLowerCase().split(/\s+/))].filter(
          (w) => !vocabulary.includes(w),
        ),
        vocabulary,
      },
    });
    renderWithStudio(<ComposerScreen rerunOf={null} />, studio);
    fireEvent.change(screen.getByTestId('prompt-input'), {
      target: { value: 'a red Elephant moving left on a black background' },
    });
    const warning = await screen.findByTestId('prompt-warning');
    expect(warning.textContent).toMatch(/does not know elephant: each becomes its unknown token/);
    expect(screen.getAllByTestId('unknown-word').map((m) => m.textContent)).toEqual(['Elephant']);
    // The known words are offered; one click puts one in place of the unknown word.
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'circle' })));
    expect(value('prompt-input')).toBe('a red circle moving left on a black background');
    await waitFor(() => expect(screen.queryByTestId('prompt-warning')).toBeNull());
  });

  it('refuses an impossible combination with the reason and does not let it be sent', async () => {
    const studio = new FakeStudio();
    fakePreflight(studio);
    renderWithStudio(<ComposerScreen rerunOf={null} />, studio);
    fireEvent.change(screen.getByTestId('lpl-leap-step'), { target: { value: '31' } });
    expect(screen.getByTestId('composer-error').textContent).toMatch(/must be 1\.\.30 in a 30-step run/);
    expect((screen.getByTestId('start-run') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId('lpl-leap-step'), { target: { value: '16' } });
    fireEvent.change(screen.getByTestId('tdtm-merge-steps'), { target: { value: '31' } });
    expect(screen.getByTestId('composer-error').textContent).toMatch(
      /TDTM merge steps \(31\) exceed the step count 30/,
    );
    fireEvent.change(screen.getByTestId('tdtm-merge-steps'), { target: { value: '15' } });
    expect(screen.queryByTestId('composer-error')).toBeNull();
    expect(studio.callsOf('runs.start')).toHaveLength(0);
  });

  it('shows the memory preflight for the chosen device and starts the run with the built parameters', async () => {
    const studio = new FakeStudio();
    studio.devices = [
      fakeDevice(),
      fakeDevice({ id: 'host', name: 'Baseline host', baseline: true, role: 'baseline' }),
    ];
    fakePreflight(studio);
    studio.overrides['runs.start'] = ({ deviceId }) => ({
      run: testRunSummary('new-run', {
        deviceRunId: 'd1',
        deviceId,
        state: 'queued',
        lastSeq: 0,
        stream: 'live',
        createdAtEpochMs: 1,
      }),
    });
    renderWithStudio(<ComposerScreen rerunOf={null} />, studio);
    await waitFor(() => expect(screen.getByTestId('preflight').getAttribute('data-fits')).toBe('true'));
    fireEvent.change(screen.getByTestId('cidl-budget'), { target: { value: '10' } });
    await waitFor(() => expect(screen.getByTestId('preflight').getAttribute('data-fits')).toBe('false'));
    fireEvent.change(screen.getByTestId('cidl-budget'), { target: { value: '50%' } });
    await waitFor(() => expect(screen.getByTestId('preflight').getAttribute('data-fits')).toBe('true'));
    expect((screen.getByTestId('device-select') as HTMLSelectElement).value).toBe('builtin'); // not the baseline
    await act(async () => fireEvent.click(screen.getByTestId('start-run')));
    await waitFor(() => expect(studio.callsOf('runs.start')).toHaveLength(1));
    expect(studio.callsOf('runs.start')[0]).toMatchObject({
      deviceId: 'builtin',
      params: { steps: 30, lpl: { mode: 'fixed', leapStep: 15 }, tdtm: { mergeSteps: 15 } },
    });
    await waitFor(() => expect(window.location.hash).toBe('#/live/new-run'));
  });

  it('"run again" pre-fills the form from a past run', async () => {
    const studio = new FakeStudio();
    fakePreflight(studio);
    const baseline = recordedRun('baseline');
    studio.addRun('old-run', baseline);
    renderWithStudio(<ComposerScreen rerunOf="old-run" />, studio);
    await waitFor(() => expect(value('lpl-mode')).toBe('off'));
    expect(value('prompt-input')).toBe(baseline.params.prompt);
    expect(value('seed-input')).toBe(String(baseline.params.seed));
    expect(value('tdtm-merge-steps')).toBe('0');
  });

  it('offers nothing to change on the read-only mirror', () => {
    renderWithStudio(<ComposerScreen rerunOf={null} />, new FakeStudio(), { readOnly: true });
    expect(screen.getByText(/read-only mirror/)).toBeTruthy();
    expect(screen.queryByTestId('start-run')).toBeNull();
    expect(screen.queryByTestId('prompt-input')).toBeNull();
  });
});
