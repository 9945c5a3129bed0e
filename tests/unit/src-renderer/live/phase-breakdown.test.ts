// The phase rows' status: an open phase is "running" only while the run runs.
import { describe, expect, it } from 'vitest';
import { phaseRows } from '../../../../src-renderer/live/phase-breakdown';
import { emptyRunView, foldEvent } from '../../../../shared/report/run-fold';
import { recordedRun } from '../helpers/recorded-runs';

describe('phase rows', () => {
  const run = recordedRun('paper-defaults');
  const denoiseEnd = run.events.findIndex(
    ({ event }) => event.type === 'stage.end' && event.stage === 'denoise',
  );
  const view = emptyRunView();
  for (const { seq, event } of run.events.slice(0, denoiseEnd - 40)) foldEvent(view, seq, event);
  const denoise = (rows: ReturnType<typeof phaseRows>) => rows.find((r) => r.phase === 'denoise')!;

  it('shows the open phase running while the run runs, and replaying while a replay plays it', () => {
    expect(denoise(phaseRows(view)).status).toBe('running');
    expect(denoise(phaseRows(view, { replaying: true, endedAs: null })).status).toBe('replaying');
    expect(phaseRows(view).find((r) => r.phase === 'decode')?.status).toBe('pending');
    expect(phaseRows(view).find((r) => r.phase === 'text')?.status).toBe('done');
  });

  it('shows it stopped when the studio recorded the run as ended without a terminal event in its log', () => {
    // e.g. interrupted: the device was lost, so its log simply stops.
    const row = denoise(phaseRows(view, { replaying: false, endedAs: 'interrupted' }));
    expect(row.status).toBe('stopped');
    expect(row.stoppedBy).toBe('interrupted');
    expect(row.ms).toBeCloseTo(view.lastAtMs! - view.phases.denoise.startMs!, 6);
  });
});
