/**
 * Which sessions a block ran on: a model notes each session it runs, and the stage takes the block's placement
 * (execution-provider.ts `blockPlacementOf`) when the block's compute ends, for `block.compute.end`.
 */
import { blockPlacementOf, type BlockPlacement, type ExecutionPlacement } from './execution-provider';
import type { BlockCompute } from './cidl/scheduler';
import type { BackendSession } from './ports';

/** The placements of the sessions run since the last {@link PlacementTally.take}. */
export class PlacementTally {
  // A set: bounded however long a model runs without anyone taking (fixtures, benches).
  private readonly seen = new Set<ExecutionPlacement | undefined>();

  /** Notes that `session` runs now; returns it. */
  ran<S extends BackendSession>(session: S): S {
    this.seen.add(session.placement);
    return session;
  }

  /** Where the noted sessions ran (`mixed` when on different placements; undefined when none says), then forgets them. */
  take(): BlockPlacement | undefined {
    const placement = blockPlacementOf(this.seen);
    this.seen.clear();
    return placement;
  }
}

/**
 * A stage's compute callback that reports where the block ran: forgets what `tally` holds (a failed earlier block),
 * runs `compute`, and hands the scheduler the placement of the sessions it ran.
 */
export function computeWithPlacement<W>(
  tally: PlacementTally,
  compute: (id: string, weights: W) => Promise<void>,
): BlockCompute<W> {
  return async (id, weights) => {
    tally.take();
    await compute(id, weights);
    const placement = tally.take();
    return placement === undefined ? {} : { placement };
  };
}
