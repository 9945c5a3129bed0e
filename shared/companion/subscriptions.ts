/**
 * Replay-then-live run subscriptions: `run.subscribe` replays a run's event log from `fromSeq` and then follows
 * it live (each `preview.ready` followed by its kept binary frames) until the run's terminal event.
 */
import { protocolError, type ErrorCode } from '../protocol/errors';
import type { ClientMessageOf } from '../protocol/messages';
import { isTerminalRunEvent, runEventForVersion, type RunEvent } from '../protocol/run';
import { EventLogError, type LogEntry } from './event-log';
import { describe, ref } from './replies';
import type { RunRecord } from './run-queue';
import type { Replier, Session } from './session';

/** Answers `run.subscribe` and subscribes the session to the run's log. */
export function subscribeToRun(
  replier: Replier,
  session: Session,
  rec: RunRecord | undefined,
  m: ClientMessageOf<'run.subscribe'>,
): void {
  if (rec === undefined) {
    replier.send(session, protocolError('unknown-run', `no run ${m.runId}`, ref(m.id)));
    return;
  }
  const head = rec.log.visibleSeq;
  if (m.fromSeq > head + 1) {
    replier.send(
      session,
      protocolError('seq-ahead', `fromSeq ${m.fromSeq} is past the log's last event (${head})`, {
        ...ref(m.id),
        path: 'fromSeq',
      }),
    );
    return;
  }
  unsubscribe(session, m.runId);
  replier.send(session, {
    type: 'run.subscribed',
    ...ref(m.id),
    runId: rec.runId,
    fromSeq: m.fromSeq,
    headSeq: head,
    state: rec.state,
  });
  try {
    const sub = rec.log.subscribe(m.fromSeq, (entry) => deliver(replier, session, rec, entry));
    if (!rec.log.sealed || sub.lastDeliveredSeq < rec.log.headSeq) session.subscriptions.set(rec.runId, sub);
    else sub.close();
  } catch (error) {
    const code: ErrorCode =
      error instanceof EventLogError && error.code === 'seq-ahead' ? 'seq-ahead' : 'internal';
    replier.send(session, protocolError(code, describe(error), ref(m.id)));
  }
}

/** Ends the session's subscription to a run (if any). */
export function unsubscribe(session: Session, runId: string): void {
  session.subscriptions.get(runId)?.close();
  session.subscriptions.delete(runId);
}

function deliver(replier: Replier, session: Session, rec: RunRecord, entry: LogEntry<RunEvent>): void {
  if (session.closed) return;
  // Replays and live events alike: the log keeps every field, each session gets its version's.
  const event = runEventForVersion(entry.event, session.protocolVersion);
  replier.send(session, { type: 'run.event', runId: rec.runId, seq: entry.seq, event });
  if (entry.event.type === 'preview.ready') {
    for (const frame of rec.previews.get(entry.seq) ?? []) session.conn.sendBinary(frame);
  }
  if (isTerminalRunEvent(entry.event)) unsubscribe(session, rec.runId);
}
