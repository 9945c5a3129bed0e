import { describe, expect, it } from 'vitest';
import { reduceRunView, startRunView } from '../../../../ios-companion/src/host/run-view';
import type { BlockPlacement } from '../../../../shared/engine/execution-provider';
import type { EngineEvent } from '../../../../shared/engine/telemetry';
import type { RunEvent } from '../../../../shared/protocol/run';
import { measureRun } from '../../../../shared/report/measures';
import { emptyRunView, foldEvent } from '../../../../shared/report/run-fold';
import { recordedRun } from '../../src-renderer/helpers/recorded-runs';

function foldAll(events: readonly { seq: number; event: RunEvent }[]) {
  const view = emptyRunView();
  for (const { seq, event } of events) foldEvent(view, seq, event);
  return view;
}

describe('run fold on a recorded paper-defaults run', () => {
  const run = recordedRun('paper-defaults');
  const view = foldAll(run.events);

  it('finds the LPL leap and the TDTM-merged steps the engine reported', () => {
    const ends = run.events.flatMap(({ event }) => (event.type === 'step.end' ? [event] : []));
    const leapt = ends.filter((e) => e.leapt).map((e) => e.step);
    expect(leapt).toEqual([15]); // the recording asked for a leap at step 15
    expect(view.leapStep).toBe(15);
    expect(view.mergedSteps).toEqual(ends.filter((e) => e.merged).map((e) => e.step));
    expect(view.mergedSteps).toHaveLength(15);
    expect(view.steps.filter((s) => s.latencyMs !== null)).toHaveLength(ends.length);
  });

  it('has one lane per block seen in the log, each ending released', () => {
    const blocks = new Set(run.events.flatMap(({ event }) => ('block' in event ? [event.block] : [])));
    expect(view.lanes.map((l) => l.block).sort()).toEqual([...blocks].sort());
    expect(view.lanes.every((l) => l.state === 'released')).toBe(true);
    expect(view.residentBytes).toBe(0);
    expect(view.peakResidentBytes).toBeGreaterThan(0);
    const changes = run.events.filter(
      ({ event }) => event.type === 'block.load.end' || event.type === 'block.release',
    );
    expect(view.memory.map((m) => m.residentBytes)).toEqual(
      changes.map(({ event }) => ('residentBytes' in event ? event.residentBytes : -1)),
    );
    expect(view.peakResidentBytes).toBe(Math.max(...view.memory.map((m) => m.residentBytes)));
  });

  it('takes the phase durations from run.finished and reaches the finished state', () => {
    const finished = run.events.at(-1)?.event;
    expect(finished?.type).toBe('run.finished');
    if (finished?.type !== 'run.finished') return;
    expect(view.state).toBe('finished');
    expect(view.phases.denoise.durationMs).toBe(finished.timings.denoiseMs);
    expect(view.phases.decode.durationMs).toBe(finished.timings.decodeMs);
  });

  it('ignores an event it already folded (catch-up pages may overlap the pushes)', () => {
    const again = foldAll(run.events);
    const before = again.version;
    for (const { seq, event } of run.events.slice(0, 50)) expect(foldEvent(again, seq, event)).toBe(false);
    expect(again.version).toBe(before);
    expect(again.eventCount).toBe(run.events.length);
  });
});

describe('run fold: thermal state', () => {
  it('takes the start from run.started and the end from the terminal event; unknown until then', () => {
    const view = emptyRunView();
    expect(view.thermal).toEqual({ start: null, end: null });
    foldEvent(view, 1, { type: 'run.queued', atMs: 0, position: 0 });
    foldEvent(view, 2, { type: 'run.started', atMs: 1, thermal: 'fair' });
    expect(view.thermal).toEqual({ start: 'fair', end: null });
    foldEvent(view, 3, { type: 'run.cancelled', atMs: 2, byClientId: null, thermal: 'critical' });
    expect(view.thermal).toEqual({ start: 'fair', end: 'critical' });
    const old = measureRun([
      { seq: 1, event: { type: 'run.started', atMs: 1 } },
      { seq: 2, event: { type: 'run.interrupted', atMs: 2, reason: 'shutdown' } },
    ]);
    expect(old.thermal).toEqual({ start: null, end: null });
  });
});

describe('run fold of a run that ends in the middle of a phase', () => {
  const run = recordedRun('paper-defaults');
  // The log up to the middle of denoising (text and load done, denoise started, no stage.end for it).
  const denoiseEnd = run.events.findIndex(
    ({ event }) => event.type === 'stage.end' && event.stage === 'denoise',
  );
  const cut = run.events.slice(0, denoiseEnd - 40);
  const lastEngineAt = cut.at(-1)!.event.atMs;

  it.each(['cancelled', 'failed', 'interrupted'] as const)(
    'closes the open phase when the run is %s: it ran until the last engine event and says what stopped it',
    (state) => {
      const terminal: RunEvent =
        state === 'cancelled'
          ? { type: 'run.cancelled', atMs: 0, byClientId: null }
          : state === 'failed'
            ? { type: 'run.failed', atMs: 0, code: 'engine-error', message: 'boom' }
            : { type: 'run.interrupted', atMs: 0, reason: 'engine-crashed' };
      const view = foldAll([...cut, { seq: cut.at(-1)!.seq + 1, event: terminal }]);
      expect(view.state).toBe(state);
      const denoise = view.phases.denoise;
      expect(denoise.stoppedBy).toBe(state);
      expect(denoise.durationMs).toBeCloseTo(lastEngineAt - denoise.startMs!, 6);
      // Phases that ended before keep their own durations; phases never started stay unstarted.
      expect(view.phases.text.stoppedBy).toBeNull();
      expect(view.phases.text.durationMs).not.toBeNull();
      expect(view.phases.decode).toEqual({ startMs: null, durationMs: null, stoppedBy: null });
    },
  );
});

/** A synthetic CI-DL run: `blocks` blocks per step, each loaded, computed and released. */
function* syntheticRun(steps: number, blocks: number): Generator<RunEvent> {
  let at = 0;
  yield { type: 'stage.start', atMs: at, stage: 'denoise' };
  for (let step = 0; step < steps; step++) {
    yield { type: 'step.start', atMs: (at += 1), step, t: 1000 - step, merged: step < steps / 2 };
    for (let b = 0; b < blocks; b++) {
      const block = `denoiser/b${b}`;
      const r = { block, bytes: 100, budgetBytes: 1000 };
      yield { type: 'block.load.start', atMs: (at += 1), ...r, residentBytes: 100 };
      yield { type: 'block.load.end', atMs: (at += 1), ...r, residentBytes: 100 };
      yield { type: 'block.compute.start', atMs: (at += 1), block, step, variant: 'plain' };
      yield { type: 'block.compute.end', atMs: (at += 1), block, step, variant: 'plain' };
      yield { type: 'block.release', atMs: (at += 1), ...r, residentBytes: 0, reason: 'not-retained' };
    }
    yield {
      type: 'step.end',
      atMs: (at += 1),
      step,
      t: 1000 - step,
      latencyMs: 5,
      cosine: 0.9,
      merged: step < steps / 2,
      leapt: false,
    };
  }
}

describe('run fold on a 10,000+ event stream', () => {
  it('does the same bounded work for the last events as for the first (no re-scan of the log)', () => {
    const events = [...syntheticRun(100, 20)]; // 100 × (2 + 20 × 5) + 1 = 10,201 events
    expect(events.length).toBeGreaterThan(10_000);
    const view = emptyRunView();
    const costs: number[] = [];
    events.forEach((event, i) => {
      const before = view.work;
      foldEvent(view, i + 1, event);
      costs.push(view.work - before);
    });
    const maxEarly = Math.max(...costs.slice(0, 500));
    const maxLate = Math.max(...costs.slice(-500));
    expect(maxLate).toBeLessThanOrEqual(maxEarly);
    expect(Math.max(...costs)).toBeLessThanOrEqual(4);
    expect(view.lanes).toHaveLength(20);
    expect(view.blockEvents).toBe(100 * 20 * 5);
    expect(view.eventCount).toBe(events.length);
  });
});

describe('one fold for the live view, the report and the phone', () => {
  const run = recordedRun('paper-defaults');
  // The live view folds the events the studio pushes (run-store.ts); the report measures the stored log; the phone
  // folds the engine's events as its runner emits them (no run-level events: the companion adds those).
  const live = foldAll(run.events);
  const report = measureRun(run.events);
  const engineEvents = run.events.flatMap(({ event }) =>
    event.type.startsWith('run.') || event.type === 'preview.ready' || event.type === 'event.lost'
      ? []
      : [event as EngineEvent],
  );
  let phone = startRunView('r-1', run.params.steps ?? null);
  const phoneLatencies: (number | null)[] = [];
  for (const event of engineEvents) {
    phone = reduceRunView(phone, event);
    if (event.type === 'step.end') phoneLatencies.push(phone.lastStepMs);
  }

  it('shows the same step latencies on all three, step by step', () => {
    const liveLatencies = live.steps.map((s) => s.latencyMs);
    const reportLatencies = report.steps.map((s) => s.latencyMs);
    expect(reportLatencies.length).toBeGreaterThan(10);
    expect(liveLatencies).toEqual(reportLatencies);
    expect(phoneLatencies).toEqual(reportLatencies);
    expect(phone.stepsDone).toBe(report.steps.length);
  });

  it('shows the same leap, merged steps, block totals and resident bytes', () => {
    expect(report.leapStep).toBe(live.leapStep);
    expect(report.mergedSteps).toEqual(live.mergedSteps);
    expect(report.blocks.map((b) => [b.block, b.loads, b.releases])).toEqual(
      live.lanes.map((l) => [l.block, l.loads, l.releases.length]),
    );
    expect(phone.peakResidentBytes).toBe(live.peakResidentBytes);
    expect(phone.residentBytes).toBe(live.residentBytes);
    expect(phone.budgetBytes).toBe(live.budgetBytes);
    expect(report.wallMs).toBe(live.finished?.totalMs);
  });
});

describe('run fold: where each block ran', () => {
  const computeEnd = (block: string, step: number, placement?: BlockPlacement): RunEvent => ({
    type: 'block.compute.end',
    atMs: step * 10 + 5,
    block,
    step,
    variant: 'plain',
    ...(placement === undefined ? {} : { placement }),
  });

  it("keeps each block's placement, mixed once its computes said different ones, none where none said", () => {
    const view = foldAll(
      [
        computeEnd('denoiser/part1', 0, 'cpu'),
        computeEnd('denoiser/pair.0', 0, 'coreml'),
        computeEnd('text/embed', 0),
        computeEnd('denoiser/part1', 1, 'cpu'),
        // Core ML took the plain pair graph but not the TDTM one, say.
        computeEnd('denoiser/pair.0', 1, 'cpu'),
        computeEnd('denoiser/pair.0', 2, 'coreml'),
      ].map((event, i) => ({ seq: i + 1, event })),
    );
    expect(view.lanes.map((l) => [l.block, l.placement])).toEqual([
      ['denoiser/part1', 'cpu'],
      ['denoiser/pair.0', 'mixed'],
      ['text/embed', null],
    ]);
  });

  it('hands the placements to the report measures', () => {
    const log = [computeEnd('denoiser/part1', 0, 'coreml'), computeEnd('decode/spatial.0', 0, 'cpu')];
    expect(measureRun(log.map((event, i) => ({ seq: i + 1, event }))).blocks.map((b) => b.placement)).toEqual(
      ['coreml', 'cpu'],
    );
  });
});
