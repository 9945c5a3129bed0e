/**
 * Binary frames the companion server sends: a run's preview images (encoded once, kept for replays) and its
 * final frames on `frames.get`, as `image-rgb8` or PNG.
 */
import { encodeBinaryFrame, type BinaryFrame } from '../protocol/binary-frame';
import { protocolError } from '../protocol/errors';
import type { ClientMessageOf } from '../protocol/messages';
import { ref } from './replies';
import type { RunState } from '../protocol/run';
import type { EngineRunResult, PreviewImages } from './server-ports';
import type { Replier, Session } from './session';

/** Encodes one step's preview images as the binary frames that follow its `preview.ready` event (may throw). */
export function encodePreviewFrames(runId: string, seq: number, images: PreviewImages): Uint8Array[] {
  return images.frames.map((payload, index) =>
    encodeBinaryFrame({
      kind: images.format === 'png' ? 'png' : 'image-rgb8',
      purpose: 'preview',
      streamId: runId,
      seq,
      index,
      dims: images.format === 'png' ? [images.height, images.width] : [images.height, images.width, 3],
      payload,
    }),
  );
}

/** What `frames.get` reads of a run (the run queue's record has it). */
export interface FinalFramesSource {
  readonly runId: string;
  readonly state: RunState;
  readonly result: EngineRunResult | null;
}

/** Answers `frames.get`: the `frames` header, then one binary frame per final frame asked for. */
export function sendFinalFrames(
  replier: Replier,
  session: Session,
  rec: FinalFramesSource | undefined,
  m: ClientMessageOf<'frames.get'>,
  encodePng: ((rgb: Uint8Array, width: number, height: number) => Uint8Array) | undefined,
): void {
  if (rec === undefined) {
    replier.send(session, protocolError('unknown-run', `no run ${m.runId}`, ref(m.id)));
    return;
  }
  const result = rec.result;
  if (result === null) {
    replier.send(
      session,
      protocolError(
        'frames-unavailable',
        rec.state === 'finished'
          ? `run ${m.runId}'s frames were discarded`
          : `run ${m.runId} has not finished (${rec.state})`,
        ref(m.id),
      ),
    );
    return;
  }
  if (m.format === 'png' && encodePng === undefined) {
    replier.send(
      session,
      protocolError('frames-unavailable', 'this device cannot encode png: ask for image-rgb8', ref(m.id)),
    );
    return;
  }
  const total = result.frames.length;
  const from = Math.min(m.from, total);
  const count = Math.max(0, Math.min(m.count, total - from));
  replier.send(session, {
    type: 'frames',
    ...ref(m.id),
    runId: rec.runId,
    from: m.from,
    count,
    totalFrames: total,
    width: result.width,
    height: result.height,
    format: m.format,
  });
  for (let i = from; i < from + count; i++) {
    const rgb = result.frames[i]!;
    const frame: BinaryFrame =
      m.format === 'png'
        ? {
            kind: 'png',
            purpose: 'frame',
            streamId: rec.runId,
            seq: 0,
            index: i,
            dims: [result.height, result.width],
            payload: encodePng!(rgb, result.width, result.height),
          }
        : {
            kind: 'image-rgb8',
            purpose: 'frame',
            streamId: rec.runId,
            seq: 0,
            index: i,
            dims: [result.height, result.width, 3],
            payload: rgb,
          };
    session.conn.sendBinary(encodeBinaryFrame(frame));
  }
}
