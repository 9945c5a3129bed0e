// An in-memory studio for component tests: the real contract validation (createStudioClient over an in-process
// transport that answers with reply envelopes, so every result is checked against the contract schemas as in the
// app), recorded runs served through `runs.get` / `runs.events` / `runs.frames`, pushed events on demand, and a
// synchronous frame scheduler.
import { render, type RenderResult } from '@testing-library/react';
import type { ReactNode } from 'react';
import type { RunEvent } from '../../../../shared/protocol/run';
import {
  studioError,
  type RunSummary,
  type StudioApi,
  type StudioArgs,
  type StudioCommand,
  type StudioDevice,
  type StudioEvent,
  type StudioResult,
} from '../../../../shared/protocol/studio-contract';
import { createStudioClient, StudioCallError } from '../../../../src-renderer/api';
import { createStudioQueryClient } from '../../../../src-renderer/studio/queries';
import { StudioProvider } from '../../../../src-renderer/studio/studio-context';
import { fakeDevice, testRunSummary } from '../../../helpers/studio-fixtures';
import type { RecordedRun } from './recorded-runs';

export { fakeDevice };

/** A run the fake studio holds: its recording and how much of it is "stored" so far. */
export interface FakeRun {
  summary: RunSummary;
  recorded: RecordedRun;
  stored: number;
  baselineOf: string | null;
  baselineRunId: string | null;
}

type Handler<C extends StudioCommand> = (args: StudioArgs<C>) => StudioResult<C> | Promise<StudioResult<C>>;

/** The fake studio: state, recorded calls, pushed events. */
export class FakeStudio {
  devices: StudioDevice[] = [fakeDevice()];
  readonly runs = new Map<string, FakeRun>();
  readonly calls: { command: StudioCommand; args: unknown }[] = [];
  readonly overrides: Partial<{ [C in StudioCommand]: Handler<C> }> = {};
  private readonly listeners = new Set<(e: StudioEvent) => void>();
  readonly api: StudioApi = createStudioClient(async (command, args) => {
    this.calls.push({ command, args });
    const override = this.overrides[command] as Handler<typeof command> | undefined;
    try {
      const result = override !== undefined ? await override(args as never) : this.handle(command, args);
      return { ok: true, result };
    } catch (err) {
      // Answered as main's dispatcher does: a typed error as it is, anything else as `internal`.
      const error =
        err instanceof StudioCallError
          ? err.error
          : studioError('internal', err instanceof Error ? err.message : String(err), true);
      return { ok: false, error };
    }
  });

  /** Adds a recorded run with its first `stored` events already in its folder. */
  addRun(
    runId: string,
    recorded: RecordedRun,
    stored = recorded.events.length,
    patch: Partial<FakeRun> = {},
  ): FakeRun {
    const done = stored >= recorded.events.length;
    const run: FakeRun = {
      summary: testRunSummary(runId, {
        deviceRunId: `dev-${runId}`,
        state: done ? 'finished' : 'running',
        lastSeq: stored,
        stream: done ? 'ended' : 'live',
        createdAtEpochMs: 1_700_000_000_000 + this.runs.size,
        params: recorded.params,
      }),
      recorded,
      stored,
      baselineOf: null,
      baselineRunId: null,
      ...patch,
    };
    this.runs.set(runId, run);
    return run;
  }

  /** Pushes the next `n` stored events of a run as `run.event`s (as main does while the device streams). */
  stream(runId: string, n: number): void {
    const run = this.mustRun(runId);
    const next = run.recorded.events.slice(run.stored, run.stored + n);
    for (const { seq, event } of next) {
      run.stored = seq;
      run.summary.lastSeq = seq;
      this.push({ type: 'run.event', runId, seq, event });
    }
    if (run.stored >= run.recorded.events.length) {
      run.summary.state = 'finished';
      run.summary.stream = 'ended';
      this.push({ type: 'run.updated', run: { ...run.summary } });
    }
  }

  /** Pushes one event to every listener. */
  push(event: StudioEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** The `onEvent` of the connection. */
  onEvent = (listener: (e: StudioEvent) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Calls made with `command`. */
  callsOf(command: StudioCommand): unknown[] {
    return this.calls.filter((c) => c.command === command).map((c) => c.args);
  }

  private mustRun(runId: string): FakeRun {
    const run = this.runs.get(runId);
    if (run === undefined) throw new StudioCallError(studioError('not-found', `no run ${runId}`));
    return run;
  }

  private handle(command: StudioCommand, raw: unknown): unknown {
    const args = raw as Record<string, unknown>;
    switch (command) {
      case 'app.info':
        return { appVersion: '0.1.0', engineVersion: '0.1.0', platform: 'web', gitCommit: null };
      case 'devices.list':
        return { devices: this.devices };
      case 'runs.list':
        return { runs: [...this.runs.values()].map((r) => r.summary).reverse(), unreadable: [] };
      case 'runs.get': {
        const run = this.mustRun(String(args.runId));
        const done = run.summary.state === 'finished';
        return {
          run: run.summary,
          params: run.recorded.params,
          preview: null,
          device: {
            name: run.summary.deviceName,
            model: 'iPhone 15 Pro',
            simulated: true,
            engineVersion: '0.1.0',
          },
          baselineOf: run.baselineOf,
          baselineRunId: run.baselineRunId,
          wallMs: done ? run.recorded.wallMs : null,
          peakResidentBytes: null,
          eventLogProblem: null,
        };
      }
      case 'runs.events': {
        const run = this.mustRun(String(args.runId));
        const after = Number(args.afterSeq);
        const limit = Number(args.limit);
        const events = run.recorded.events
          .filter((e) => e.seq > after && e.seq <= run.stored)
          .slice(0, limit);
        return { events, lastSeq: run.stored };
      }
      case 'runs.frames': {
        const run = this.mustRun(String(args.runId));
        const from = Number(args.from);
        const frames = run.recorded.frames.slice(from, from + Number(args.limit)).map((png, i) => ({
          index: from + i,
          width: run.recorded.width,
          height: run.recorded.height,
          png,
        }));
        return { total: run.recorded.frames.length, frames };
      }
      default:
        throw new StudioCallError(studioError('unavailable', `${command}: not part of this test`));
    }
  }
}

/** Renders `ui` inside the studio providers with a synchronous frame scheduler (a frame per change). */
export function renderWithStudio(
  ui: ReactNode,
  studio: FakeStudio,
  opts: { readOnly?: boolean } = {},
): RenderResult {
  return render(
    <StudioProvider
      api={studio.api}
      onEvent={studio.onEvent}
      readOnly={opts.readOnly ?? false}
      queryClient={createStudioQueryClient()}
      scheduleFrame={(cb) => queueMicrotask(cb)}
    >
      {ui}
    </StudioProvider>,
  );
}

/** The events of a recorded run, without seqs. */
export function eventsOf(run: RecordedRun): RunEvent[] {
  return run.events.map((e) => e.event);
}
