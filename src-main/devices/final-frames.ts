/**
 * Final frames of a finished run (`frames.get`): the binary frames that follow a `frames` reply carry no request
 * id, so fetches are serialised per client and the frames are collected for the one in flight.
 */
import type { BinaryFrame } from '../../shared/protocol/binary-frame';
import type { ClientMessage, DeviceMessage, DeviceMessageOf } from '../../shared/protocol/messages';
import type { ImageFormat } from '../../shared/protocol/run';
import { withTimeout } from './rpc';

interface FrameCollector {
  runId: string;
  expected: number;
  frames: BinaryFrame[];
  resolve: () => void;
}

type Request = (message: ClientMessage, expect: DeviceMessage['type']) => Promise<DeviceMessage>;

/** The final-frame fetches of one client. */
export class FinalFrames {
  private collector: FrameCollector | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly request: Request,
    private readonly timeoutMs: number,
  ) {}

  /** Fetches final frames `[from, from + count)` of a finished run, after the fetches before it. */
  get(
    runId: string,
    from: number,
    count: number,
    format: ImageFormat,
  ): Promise<{ info: DeviceMessageOf<'frames'>; frames: BinaryFrame[] }> {
    const job = this.queue.then(async () => {
      let done!: () => void;
      const arrived = new Promise<void>((resolve) => (done = resolve));
      const collector: FrameCollector = { runId, expected: -1, frames: [], resolve: done };
      this.collector = collector;
      try {
        const info = (await this.request(
          { type: 'frames.get', runId, from, count, format },
          'frames',
        )) as DeviceMessageOf<'frames'>;
        collector.expected = info.count;
        if (collector.frames.length >= info.count) done();
        await withTimeout(arrived, this.timeoutMs, `frames of ${runId}`);
        return { info, frames: collector.frames.slice(0, info.count) };
      } finally {
        if (this.collector === collector) this.collector = null;
      }
    });
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** A final frame arrived; false when no fetch waits for frames of its run. */
  accept(frame: BinaryFrame): boolean {
    const c = this.collector;
    if (!c || c.runId !== frame.streamId) return false;
    c.frames.push({ ...frame, payload: new Uint8Array(frame.payload) });
    if (c.expected >= 0 && c.frames.length >= c.expected) c.resolve();
    return true;
  }

  /** The connection closed: the fetch in flight gets no more frames. */
  reset(): void {
    this.collector = null;
  }
}
