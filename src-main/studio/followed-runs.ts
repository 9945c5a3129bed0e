/**
 * Which runs' `run.event`s one connection wants pushed (`events.follow`, studio contract 5): the WebSocket bridge
 * keeps one per peer, Electron main one per window. A connection that never asked gets every run's events (clients
 * written before contract 5 keep working); other events always go.
 */
import type { StudioEvent } from '../../shared/protocol/studio-contract';
import type { StudioConnection } from './studio-handlers';

/** One connection's followed runs. */
export class FollowedRuns implements StudioConnection {
  private runs: ReadonlySet<string> | null = null;

  followRuns(runIds: readonly string[]): void {
    this.runs = new Set(runIds);
  }

  /** Whether `event` is pushed to this connection. */
  wants(event: StudioEvent): boolean {
    return event.type !== 'run.event' || this.runs === null || this.runs.has(event.runId);
  }
}
