/**
 * The sweep `odsora bench studio --sweep-runs N` streams into the studio while it measures: a real sweep on the
 * studio's built-in device (the bundled Open-Sora Nano, real inference), started through the studio's own API
 * (`sweeps.start`), so its run folders, `run.updated` and `sweep.updated` events take the product's paths. The
 * grid is the issue's: 2 LPL leaps × 2 TDTM merge counts × 2 CI-DL budgets × 2 prompts, repeated until it holds at
 * least N measured runs, plus one warm-up and the two baselines.
 */
import type { z } from 'zod';
import type { sweepSpecSchema } from '../../shared/sweep/spec';
import type { BenchStudio } from './studio-bench-process';

/** A sweep spec as `sweeps.start` takes it (before defaults). */
export type BenchSweepSpec = z.input<typeof sweepSpecSchema>;

/** Points of the grid (2 × 2 × 2) times its prompts. */
const GRID_RUNS_PER_REPEAT = 8 * 2;

/** The sweep spec for at least `measuredRuns` measured runs of `steps` steps each. */
export function benchSweepSpec(measuredRuns: number, steps: number): BenchSweepSpec {
  if (!Number.isInteger(steps) || steps < 4) throw new Error(`--sweep-steps: at least 4, got ${steps}`);
  return {
    format: 'odsora-sweep',
    version: 1,
    name: 'bench studio: background sweep',
    base: { steps },
    axes: {
      // 0-based leap indices: a late and an early leap, both inside the run.
      'lpl.leapStep': [steps - 2, Math.floor(steps / 2)],
      'tdtm.mergeSteps': [0, Math.max(1, Math.floor(steps / 4))],
      'cidl.budget': ['all', '50%'],
    },
    prompts: [
      'a red circle moving right on a black background',
      'a blue square moving left on a gray background',
    ],
    seeds: [7],
    devices: [{ id: 'builtin', builtin: true }],
    repeats: Math.max(1, Math.ceil(measuredRuns / GRID_RUNS_PER_REPEAT)),
    warmup: 1,
    order: 'interleaved',
    baseline: true,
  };
}

/** A sweep summary as `sweeps.get` returns it (the fields the bench reads). */
export interface BenchSweepProgress {
  state: string;
  activity: string;
  total: number;
  finished: number;
  failed: number;
  error: string | null;
  /** When the sweep was created and when its journal last changed (its end, once it ended). */
  createdAtEpochMs: number;
  updatedAtEpochMs: number;
}

/** What the bench reports about the sweep. */
export interface BenchSweepReport {
  sweepId: string;
  steps: number;
  planned: number;
  /** Runs finished when the first measured run started and when the last one ended. */
  finishedAtMeasureStart: number;
  finishedAtMeasureEnd: number;
  /** Whether the sweep was running at the start and at the end of every measured run. */
  runningThroughout: boolean;
  /** How the sweep ended (after the measured runs the bench waits for it, up to a limit, else cancels it). */
  /** `wallMs`: from the sweep's creation to its journal's last change. */
  final: BenchSweepProgress & { wallMs: number; cancelledByBench: boolean };
}

/** The running sweep. */
export class BenchSweep {
  private constructor(
    private readonly studio: BenchStudio,
    readonly sweepId: string,
  ) {}

  /** Starts the sweep through `sweeps.start`. */
  static async start(studio: BenchStudio, spec: BenchSweepSpec): Promise<BenchSweep> {
    const { sweep } = await studio.call<{ sweep: { sweepId: string } }>('sweeps.start', { spec });
    return new BenchSweep(studio, sweep.sweepId);
  }

  /** Its summary now. */
  async progress(): Promise<BenchSweepProgress> {
    const { sweep } = await this.studio.call<{ sweep: BenchSweepProgress }>('sweeps.get', {
      sweepId: this.sweepId,
    });
    return {
      state: sweep.state,
      activity: sweep.activity,
      total: sweep.total,
      finished: sweep.finished,
      failed: sweep.failed,
      error: sweep.error,
      createdAtEpochMs: sweep.createdAtEpochMs,
      updatedAtEpochMs: sweep.updatedAtEpochMs,
    };
  }

  /** Whether runs are being made now. */
  static running(p: BenchSweepProgress): boolean {
    return p.state === 'running' && p.activity === 'running' && p.finished + p.failed < p.total;
  }

  /** Waits up to `timeoutMs` for the sweep to end, then cancels it if it has not. */
  async finish(timeoutMs: number): Promise<BenchSweepReport['final']> {
    const until = Date.now() + timeoutMs;
    let p = await this.progress();
    while (p.state === 'running' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 1000));
      p = await this.progress();
    }
    let cancelledByBench = false;
    if (p.state === 'running') {
      await this.studio.call('sweeps.cancel', { sweepId: this.sweepId });
      cancelledByBench = true;
      p = await this.progress();
    }
    // The sweep's own duration: from its creation to its journal's last change (it may have ended long before the
    // bench looked).
    return { ...p, wallMs: p.updatedAtEpochMs - p.createdAtEpochMs, cancelledByBench };
  }
}
